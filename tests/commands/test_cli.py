"""`mlpipex` end to end: real onnxruntime on the quickstart and on deliberately bad models.

Every case checks the exit code, the gate that caught the problem, and that no
traceback reached the user.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import _zoo
from mlpipex.cli import main


def gate(quickstart: Path, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:
    report_dir = quickstart / "out"
    code = main(["gate", "-c", str(quickstart / "mlpipex.yaml"), "--report-dir", str(report_dir), *extra])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    report = json.loads((report_dir / "report.json").read_text()) if (report_dir / "report.json").exists() else {}
    return code, report, output


def statuses(report: dict) -> dict[str, str]:
    return {g["gate"]: g["status"] for g in report["gates"]}


def edit_config(quickstart: Path, change) -> None:
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_quickstart_passes_every_gate(quickstart, capsys):
    code, report, output = gate(quickstart, capsys=capsys)
    assert code == 0, output
    assert report["verdict"] == "pass"
    assert statuses(report) == dict.fromkeys(["schema", "unit", "smoke", "latency", "compare", "skew"], "pass")
    assert report["model"]["sha256"] and report["model"]["size_bytes"] > 0
    smoke = next(g for g in report["gates"] if g["gate"] == "smoke")
    assert smoke["details"]["metrics"]["auc"] > 0.95
    junit = (quickstart / "out" / "junit.xml").read_text()
    assert junit.count("<testcase") == 6
    markdown = (quickstart / "out" / "report.md").read_text()
    assert "```mermaid" in markdown and len(markdown) < 65000
    assert "verdict" in output.lower() or "pass" in output


def test_corrupt_model_fails_the_schema_gate(quickstart, capsys):
    _zoo.corrupt(quickstart / "models" / "model.onnx")
    code, report, _output = gate(quickstart, "--skip", "unit", capsys=capsys)
    assert code == 1
    schema = next(g for g in report["gates"] if g["gate"] == "schema")
    assert schema["status"] == "fail" and "not a valid ONNX model" in schema["message"]
    assert statuses(report)["smoke"] == "error"  # the model cannot run; said, not hidden


def test_wrong_signature_fails_the_schema_gate(quickstart, capsys):
    _zoo.wrong_signature(quickstart / "models" / "model.onnx")
    code, report, _ = gate(quickstart, "--only", "schema", capsys=capsys)
    assert code == 1
    schema = report["gates"][0]
    assert schema["status"] == "fail"
    failed = [c for c in schema["details"]["checks"] if not c["ok"]]
    assert failed, schema


def test_nan_outputs_fail_the_smoke_gate(quickstart, capsys):
    _zoo.nan_outputs(quickstart / "models" / "model.onnx")
    code, report, _ = gate(quickstart, "--only", "smoke", capsys=capsys)
    assert code == 1
    assert "NaN or infinite" in report["gates"][0]["message"]


def test_slow_model_breaches_its_sla(quickstart, capsys):
    _zoo.slow(quickstart / "models" / "model.onnx")
    edit_config(quickstart, lambda c: c["gates"]["latency"].update(
        sla=[{"batch_size": 1, "p50": 0.5}], iterations=60, warmup=5))
    code, report, _ = gate(quickstart, "--only", "latency", capsys=capsys)
    assert code == 1, report
    latency = report["gates"][0]
    assert latency["status"] == "fail"
    p50 = next(m for m in latency["measurements"] if m["name"] == "p50")
    assert p50["ci_low"] > 0.5


def test_regressed_candidate_fails_the_compare_gate(quickstart, capsys):
    _zoo.regressed(quickstart / "models" / "model.onnx")
    code, report, _ = gate(quickstart, "--only", "compare", capsys=capsys)
    assert code == 1
    compare = report["gates"][0]
    assert compare["status"] == "fail" and "vs baseline" in compare["message"]


def test_skewed_export_fails_the_skew_gate(quickstart, capsys):
    _zoo.skewed(quickstart / "models" / "model.onnx")
    code, report, _ = gate(quickstart, "--only", "skew", capsys=capsys)
    assert code == 1
    assert "training/serving skew" in report["gates"][0]["message"]


def test_first_deployment_skips_compare(quickstart, capsys):
    edit_config(quickstart, lambda c: c.pop("baseline"))
    code, report, _ = gate(quickstart, "--only", "compare", capsys=capsys)
    assert code == 0 and report["gates"][0]["status"] == "skip"


def test_failing_unit_tests_fail_the_unit_gate(quickstart, capsys):
    (quickstart / "tests" / "test_broken.py").write_text("def test_broken():\n    assert 1 + 1 == 3\n")
    code, report, _ = gate(quickstart, "--only", "unit", capsys=capsys)
    assert code == 1
    unit = report["gates"][0]
    assert unit["status"] == "fail" and "test_broken" in unit["message"]
    assert unit["details"]["failed_tests"][0]["name"].endswith("test_broken")


def test_missing_test_command_is_bad_input(quickstart, capsys):
    edit_config(quickstart, lambda c: c["gates"]["unit"].update(command=["no-such-runner-xyz", "--junitxml={junit}"]))
    code, report, _ = gate(quickstart, "--only", "unit", capsys=capsys)
    assert code == 2 and report["gates"][0]["status"] == "error"
    assert "no-such-runner-xyz" in report["gates"][0]["message"]


def test_missing_holdout_is_bad_input(quickstart, capsys):
    (quickstart / "data" / "holdout.csv").unlink()
    code, _, output = gate(quickstart, capsys=capsys)
    assert code == 2
    assert "holdout set `data/holdout.csv` does not exist" in output and "mlpipex.yaml:" in output


def test_wrong_label_column_is_bad_input(quickstart, capsys):
    edit_config(quickstart, lambda c: c["data"].update(label="diagnosiss"))
    code, report, _output = gate(quickstart, "--only", "smoke", capsys=capsys)
    assert code == 2
    assert "did you mean `diagnosis`?" in report["gates"][0]["message"]


def test_unreadable_config_is_bad_input(quickstart, capsys):
    (quickstart / "mlpipex.yaml").write_text("apiVersion: mlpipex/v1\nmodel: [unclosed\n")
    code, _, output = gate(quickstart, capsys=capsys)
    assert code == 2 and "invalid YAML" in output and "mlpipex.yaml:" in output


def test_unknown_gate_name(quickstart, capsys):
    code, _, output = gate(quickstart, "--only", "latncy", capsys=capsys)
    assert code == 2 and "did you mean `latency`?" in output


def test_sla_breach_by_far_fails(quickstart, capsys):
    edit_config(quickstart, lambda c: c["gates"]["latency"].update(sla=[{"batch_size": 1, "p50": 1e-9}]))
    code, report, _ = gate(quickstart, "--only", "latency", "--fail-on", "warn", capsys=capsys)
    assert code == 1 and report["gates"][0]["status"] == "fail"


def test_step_summary_is_appended(quickstart, capsys, monkeypatch, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, _, _ = gate(quickstart, "--only", "schema", capsys=capsys)
    assert code == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "schema" in text


def test_validate_and_schema_commands(quickstart, capsys):
    assert main(["validate", "-c", str(quickstart / "mlpipex.yaml")]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "mlpipex.yaml"


def test_subprocess_exit_codes_and_no_traceback(quickstart, tmp_path):
    """The real entry point, as a CI wrapper calls it."""
    good = subprocess.run([sys.executable, "-m", "mlpipex", "validate", "-c", str(quickstart / "mlpipex.yaml")],
                          capture_output=True, text=True)  # fmt: skip
    assert good.returncode == 0, good.stderr
    (quickstart / "mlpipex.yaml").write_text("apiVersion: mlpipex/v1\nmodel: {}\ndata: {}\nbogus: 1\n")
    bad = subprocess.run([sys.executable, "-m", "mlpipex", "validate", "-c", str(quickstart / "mlpipex.yaml")],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "unknown key `bogus`" in bad.stderr
    usage = subprocess.run([sys.executable, "-m", "mlpipex", "gate", "--bogus"], capture_output=True, text=True)
    assert usage.returncode == 2 and "fix:" in usage.stderr
