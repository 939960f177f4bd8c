"""Hand-built reports for the renderer tests: realistic, failing, every status, hostile."""

from __future__ import annotations

import re

from mlpipex.gates.result import GateResult, Measurement, ModelInfo, Report, Status

HOSTILE = "a|b `tick` <script>alert(1)</script> ]]> [x](javascript:y) @octocat \x00\x07\x1b[31m end\nsecond line"
SHA = "dfbd50bdc8f3034399413f24958dc5031fc4852ae4f99f07f7415dd8918e4be1"
ENVIRONMENT = {
    "mlpipex": "0.1.0",
    "python": "3.11.7",
    "platform": "Linux-6.1-x86_64-with-glibc2.36",
    "machine": "x86_64",
    "onnxruntime": "1.17.3",
    "numpy": "1.26.4",
    "providers": "CPUExecutionProvider",
}


def make_report(*gates: GateResult, baseline: bool = True, fail_on: Status = Status.FAIL) -> Report:
    return Report(
        model=ModelInfo("breast-cancer", "1.1.0", "models/model.onnx", sha256=SHA, size_bytes=1117),
        baseline=ModelInfo("breast-cancer", "1.0.0", "models/baseline.onnx", sha256="1c" * 32) if baseline else None,
        gates=list(gates),
        started_at="2026-11-28T18:00:00+00:00",
        duration_s=1.26,
        environment=dict(ENVIRONMENT),
        config_path="examples/quickstart/mlpipex.yaml",
        fail_on=fail_on,
    )


def schema_gate(ok: bool = True) -> GateResult:
    checks = [
        {"name": "onnx.checker", "ok": True, "message": "the graph is well-formed"},
        {"name": "inputs signature", "ok": ok, "message": "1 input as declared" if ok else "features: dtype float64, declared float32"},
    ]  # fmt: skip
    return GateResult(
        "schema", Status.PASS if ok else Status.FAIL,
        "valid ONNX, signature as declared, 1.12 kB" if ok else "signature differs: features dtype",
        [Measurement("size", 0.001117, "MB", threshold="<= 50 MB", status=Status.PASS),
         Measurement("sha256", SHA),
         Measurement("checks passed", 2 if ok else 1, threshold="== 2")],
        details={"checks": checks,
                 "inputs": [{"name": "features", "dtype": "float32", "shape": ["?", 30]}],
                 "outputs": [{"name": "label", "dtype": "int64", "shape": ["?"]},
                             {"name": "probabilities", "dtype": "float32", "shape": ["?", 2]}]},
        duration_s=0.108,
    )  # fmt: skip


def unit_gate(failed: int = 0, total: int = 13) -> GateResult:
    failed_tests = [{"name": f"tests/test_preprocessing.py::test_case_{i}", "message": f"AssertionError: {i} != 0"}
                    for i in range(failed)]  # fmt: skip
    return GateResult(
        "unit", Status.FAIL if failed else Status.PASS,
        f"{failed} of {total} tests failed (first: {failed_tests[0]['name']})" if failed else f"{total} tests passed",
        [Measurement("tests", total, threshold="> 0", status=Status.PASS),
         Measurement("failures", failed, threshold="== 0", status=Status.FAIL if failed else Status.PASS),
         Measurement("errors", 0, threshold="== 0", status=Status.PASS),
         Measurement("skipped", 0)],
        details={"failed_tests": failed_tests,
                 "command": ["/usr/bin/python3", "-m", "pytest", "-q", "tests", "--junitxml=/tmp/u/junit.xml"],
                 "exit_code": 1 if failed else 0,
                 "output_tail": ("F" * failed + "." * (total - failed)) + f"\n{failed} failed, {total - failed} passed in 0.20s\n"},
        duration_s=0.976,
    )  # fmt: skip


def smoke_gate() -> GateResult:
    metrics = {"accuracy": 0.97660818, "precision": 0.963964, "recall": 1.0, "f1": 0.981651,
               "auc": 0.987588, "log_loss": 0.111203}  # fmt: skip
    thresholds = {"accuracy": ">= 0.95", "auc": ">= 0.97", "log_loss": "<= 0.15"}
    return GateResult(
        "smoke", Status.PASS, "171 rows: accuracy 0.9766, auc 0.9876, log_loss 0.1112",
        [Measurement(k, v, threshold=thresholds.get(k), status=Status.PASS if k in thresholds else None)
         for k, v in metrics.items()] + [Measurement("non-finite rows", 0, threshold="== 0", status=Status.PASS)],
        details={"rows": 171, "task": "classification", "metrics": metrics,
                 "confusion_matrix": {"labels": ["0", "1"], "matrix": [[60, 4], [0, 107]]}},
        duration_s=0.002,
    )  # fmt: skip


def latency_gate(status: Status = Status.PASS, p99_batch1: float = 0.0777) -> GateResult:
    rows = [  # name, batch, estimate, low, high, limit
        ("p50", 1, 0.0231, 0.0205, 0.0243, 2.0), ("p95", 1, 0.0619, 0.0387, 0.068, 5.0),
        ("p99", 1, p99_batch1, p99_batch1 * 0.875, p99_batch1 * 1.64, 10.0),
        ("p50", 64, 0.0399, 0.0384, 0.0417, None), ("p95", 64, 0.0797, 0.0755, 0.0854, None),
        ("p99", 64, 0.121, 0.0854, 0.208, 20.0),
    ]  # fmt: skip
    measurements = [
        Measurement(name, est, "ms", threshold=f"<= {limit:g} ms" if limit else None, limit=limit,
                    status=(status if (name, batch) == ("p99", 1) else Status.PASS) if limit else None,
                    group=f"batch={batch}", ci_low=low, ci_high=high)
        for name, batch, est, low, high, limit in rows
    ]  # fmt: skip
    message = {Status.PASS: "within SLA: p99 0.0777 ms @ batch 1, p99 0.121 ms @ batch 64",
               Status.WARN: "too close to call: p99 at batch 1: 9.8 ms (95% CI 8.6–16) vs SLA 10 ms",
               Status.FAIL: f"p99 at batch 1: {p99_batch1:.3g} ms vs SLA 10 ms"}[status]  # fmt: skip
    return GateResult(
        "latency", status, message, measurements,
        details={"samples": {"1": 300, "64": 300}, "confidence": 0.95, "iterations": 300, "warmup": 20,
                 "threads": 1, "providers": ["CPUExecutionProvider"], "skipped_providers": []},
        duration_s=0.132,
    )  # fmt: skip


def compare_gate(status: Status = Status.PASS) -> GateResult:
    candidate = {"accuracy": 0.976608, "auc": 0.987588, "log_loss": 0.111203}
    baseline = {"accuracy": 0.859649, "auc": 0.976928, "log_loss": 0.404101}
    limits = {"accuracy": "2%", "auc": "0.01", "log_loss": "10%"}
    measurements = [Measurement(k, v, threshold=f"regression <= {limits[k]}", status=Status.PASS, baseline=baseline[k])
                    for k, v in candidate.items()]  # fmt: skip
    measurements.append(Measurement("latency_ratio", 0.957, "×", threshold="<= 1.5", status=Status.PASS,
                                    group="batch=1", ci_low=0.9132, ci_high=1.0079))  # fmt: skip
    return GateResult("compare", status, "no regression: accuracy +0.1170, auc +0.0107, log_loss -0.2929, latency 0.96×",
                      measurements, details={"candidate_metrics": candidate, "baseline_metrics": baseline,
                                             "baseline_path": "models/baseline.onnx"},
                      duration_s=0.035)  # fmt: skip


def skew_gate() -> GateResult:
    worst = [{"row": r, "expected": e, "actual": e + d, "abs_diff": d}
             for r, e, d in ((154, 0.8176, 1.46e-07), (120, 0.5667, 1.24e-07), (168, 0.9176, 1.05e-07))]  # fmt: skip
    return GateResult("skew", Status.PASS, "artifact matches the training pipeline on 171 rows",
                      [Measurement("max_abs_diff", 1.46e-07, threshold="<= 1e-05", status=Status.PASS),
                       Measurement("mean_abs_diff", 2.99e-08),
                       Measurement("label_mismatch_rate", 0.0, threshold="<= 0", status=Status.PASS)],
                      details={"rows": 171, "worst_rows": worst})  # fmt: skip


def passing_report() -> Report:
    """What the quickstart produces: six gates, all passing."""
    return make_report(schema_gate(), unit_gate(), smoke_gate(), latency_gate(), compare_gate(), skew_gate())


def failing_report() -> Report:
    """A regression: two unit tests fail and p99 at batch 1 blows the SLA."""
    return make_report(schema_gate(), unit_gate(failed=2), smoke_gate(), latency_gate(Status.FAIL, p99_batch1=31.4),
                       compare_gate(), skew_gate())  # fmt: skip


def every_status() -> Report:
    return make_report(
        schema_gate(),
        unit_gate(failed=2),
        latency_gate(Status.WARN),
        GateResult("compare", Status.SKIP, "no baseline configured (a first deployment?): set baseline.path"),
        GateResult("skew", Status.ERROR, "holdout has no score_column: set data.score_column", error_exit_code=2),
        GateResult("custom-gate", Status.PASS, HOSTILE, [Measurement(HOSTILE, HOSTILE, threshold=HOSTILE)],
                   details={"note": HOSTILE, "failed_tests": [{"name": HOSTILE, "message": HOSTILE}]}),
    )  # fmt: skip


def unknown_gates() -> Report:
    """Gates this renderer has never heard of, with odd but legal details."""
    return make_report(
        GateResult("fairness", Status.WARN, "demographic parity gap 0.06 (limit 0.05)",
                   [Measurement("parity_gap", 0.0612, threshold="<= 0.05", status=Status.WARN, group="sex")],
                   details={"groups": {"f": 0.81, "m": 0.87}, "rows": "not an int", "checks": "not a list",
                            "confusion_matrix": [1, 2], "worst_rows": None}),
        GateResult("explainability", Status.PASS, "top features stable", [],
                   details={"top_features": ["worst_radius", "mean_texture"]}),
        GateResult("empty", Status.PASS, ""),
    )  # fmt: skip


# --- checks shared by the markdown tests --------------------------------------------

_MERMAID_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d+)?|\.\d+)$")  # mermaid's xychart lexer


def mermaid_blocks(text: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)\n```", text, flags=re.S)


def check_xychart(source: str) -> tuple[list[str], list[list[float]], list[list[float]]]:
    """Parse the subset of xychart-beta we emit the way mermaid's grammar would;
    returns the x labels, the bar series and the line series."""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("%%")]
    assert lines[0] in ("xychart-beta", "xychart-beta horizontal")
    labels: list[str] = []
    series: dict[str, list[list[float]]] = {"bar": [], "line": []}
    for line in lines[1:]:
        keyword, _, rest = line.partition(" ")
        if keyword == "title":
            assert re.fullmatch(r'"[^"]*"', rest), line
        elif keyword == "x-axis":
            labels = re.findall(r'"([^"]*)"', rest)
            assert rest == "[" + ", ".join(f'"{x}"' for x in labels) + "]", line
        elif keyword == "y-axis":
            match = re.fullmatch(r'(?:"[^"]*" )?(\S+) --> (\S+)', rest)
            assert match, line
            assert all(_MERMAID_NUMBER.match(v) for v in match.groups()), line
            assert float(match.group(1)) < float(match.group(2)), line
        elif keyword in series:
            values = rest.strip("[]").split(", ")
            assert all(_MERMAID_NUMBER.match(v) for v in values), line
            assert len(values) == len(labels), line
            series[keyword].append([float(v) for v in values])
        else:
            raise AssertionError(f"unexpected mermaid line: {line}")
    keywords = [line.partition(" ")[0] for line in lines[1:]]
    assert keywords[:4] == ["title", "x-axis", "y-axis", "bar"] and "line" in keywords, "incomplete chart"
    return labels, series["bar"], series["line"]
