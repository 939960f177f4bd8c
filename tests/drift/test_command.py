"""`mlpipex drift` through the CLI: every kind of reference, the reports, exit codes, bad input."""

from __future__ import annotations

import csv
import html.parser
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlpipex.cli import main
from mlpipex.stats.profile import build_profile


def _write_csv(path: Path, columns: dict[str, np.ndarray]) -> Path:
    names = list(columns)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in zip(*(columns[n].tolist() for n in names)):
            writer.writerow(["" if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in row])
    return path


def _data(seed: int, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "age": np.round(rng.normal(40 + shift, 10, n), 3),
        "income": np.round(rng.lognormal(10, 1, n), 2),
        "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.5, 0.3, 0.2]).astype(object),
    }


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "reference": _write_csv(tmp_path / "reference.csv", _data(0, 3000)),
        "same": _write_csv(tmp_path / "same.csv", _data(1, 2000)),
        "shifted": _write_csv(tmp_path / "shifted.csv", _data(2, 2000, shift=4.0)),
    }


def _run(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "report"
    code = main(["drift", *args, "--report-dir", str(out)])
    data = json.loads((out / "drift.json").read_text()) if (out / "drift.json").exists() else {}
    return code, data


def test_shifted_data_exits_1_and_writes_three_reports(tmp_path, files, capsys):
    code, data = _run(tmp_path, "--reference", str(files["reference"]), "--current", str(files["shifted"]))
    assert code == 1
    assert data["verdict"] == "drift" and data["sources"] == {"reference": "reference.csv", "current": "shifted.csv"}
    assert [f["name"] for f in data["features"] if f["drifted"]] == ["age"]
    kinds = {f["name"]: f["kind"] for f in data["features"]}
    assert kinds == {"age": "continuous", "income": "continuous", "city": "categorical"}  # text → categorical
    out = capsys.readouterr().out
    assert "drift detected in 1 of 3 features" in out and "age" in out
    markdown = (tmp_path / "report" / "drift.md").read_text()
    assert "| age | KS |" in markdown and "```mermaid" in markdown and "xychart-beta" in markdown
    _check_html((tmp_path / "report" / "drift.html").read_text())


def _check_html(page: str) -> None:
    """Self-contained: parses, no script, nothing fetched (no src/href), the table and charts are there."""

    class Collector(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []
            self.fetching: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append(tag)
            self.fetching += [f"{tag} {k}" for k, _ in attrs if k in ("src", "href")]

    collector = Collector()
    collector.feed(page)
    assert "script" not in collector.tags and "link" not in collector.tags and collector.fetching == []
    assert collector.tags.count("table") == 1 and collector.tags.count("svg") >= 2
    assert "@import" not in page and "url(" not in page


def test_same_distribution_exits_0(tmp_path, files, capsys):
    code, data = _run(tmp_path, "--reference", str(files["reference"]), "--current", str(files["same"]))
    assert code == 0 and data["verdict"] == "no_drift"
    assert "no significant drift" in capsys.readouterr().out


def test_profile_json_and_package_config_blob_and_pulled_directory(tmp_path, files):
    profile = build_profile(_data(0, 3000), ["age", "income", "city"], categorical=["city"])
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    (tmp_path / "pulled").mkdir()
    (tmp_path / "pulled" / "config.json").write_text(json.dumps({"name": "m", "profile": profile}))
    for reference in (tmp_path / "profile.json", tmp_path / "pulled", tmp_path / "pulled" / "config.json"):
        code, data = _run(tmp_path, "--reference", str(reference), "--current", str(files["shifted"]))
        assert code == 1 and data["reference_source"] == "profile", reference
        assert [f["name"] for f in data["features"] if f["drifted"]] == ["age"]
        code, data = _run(tmp_path, "--reference", str(reference), "--current", str(files["same"]))
        assert code == 0, reference


def _model_files(tmp_path: Path) -> None:
    """The config loader checks that the model and holdout it names exist."""
    (tmp_path / "m.onnx").write_bytes(b"")
    (tmp_path / "h.csv").write_text("y\n1\n")


def test_parquet_current_and_settings_from_the_config(tmp_path, files, write_config):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    _model_files(tmp_path)
    pq.write_table(pa.table(_data(2, 2000, shift=4.0)), tmp_path / "shifted.parquet")
    config = write_config(
        "apiVersion: mlpipex/v1\n"
        "model: {name: m, version: 1.0.0, path: m.onnx, format: onnx, task: classification}\n"
        "data: {holdout: h.csv, label: y, categorical: [city]}\n"
        "monitoring: {alpha: 0.01, correction: bonferroni, psi_alert: 0.3, min_samples: 50}\n"
    )
    code, data = _run(tmp_path, "-c", str(config), "--reference", str(files["reference"]),
                      "--current", str(tmp_path / "shifted.parquet"))  # fmt: skip
    assert code == 1
    assert data["settings"]["alpha"] == 0.01 and data["settings"]["correction"] == "bonferroni"
    assert data["settings"]["psi_alert"] == 0.3 and data["settings"]["min_samples"] == 50
    assert data["features"][0]["threshold"] == 0.01


def test_too_few_rows_is_insufficient_data_and_exits_0(tmp_path, files):
    small = _write_csv(tmp_path / "small.csv", {k: v[:40] for k, v in _data(3, 40, shift=10).items()})
    code, data = _run(tmp_path, "--reference", str(files["reference"]), "--current", str(small))
    assert code == 0 and data["verdict"] == "insufficient_data"
    assert all(f["drifted"] is None for f in data["features"])


def test_missing_columns_are_named_with_a_fix(tmp_path, files, capsys):
    current = _data(1, 500)
    current["Age"] = current.pop("age")
    del current["income"]
    path = _write_csv(tmp_path / "renamed.csv", current)
    code, _ = _run(tmp_path, "--reference", str(files["reference"]), "--current", str(path))
    err = capsys.readouterr().err
    assert code == 2
    assert "renamed.csv" in err and "lacks feature columns: age, income" in err
    assert "did you mean `Age`?" in err and "Traceback" not in err


@pytest.mark.parametrize("case, message", [
    ("no_current", "current data not found"),
    ("bad_suffix", "unsupported current data format"),
    ("no_reference", "reference not found"),
    ("not_a_profile", "not a reference profile"),
    ("no_profile_in_package", "carries no reference profile"),
    ("broken_json", "not a readable JSON file"),
    ("empty_current", "has no rows"),
])  # fmt: skip
def test_bad_input_exits_2(tmp_path, files, capsys, case, message):
    reference, current = str(files["reference"]), str(files["same"])
    if case == "no_current":
        current = str(tmp_path / "nope.csv")
    elif case == "bad_suffix":
        (tmp_path / "data.xlsx").write_text("x")
        current = str(tmp_path / "data.xlsx")
    elif case == "no_reference":
        reference = "nothing-here.csv"
    elif case == "not_a_profile":
        (tmp_path / "p.json").write_text(json.dumps({"format": "something/v2"}))
        reference = str(tmp_path / "p.json")
    elif case == "no_profile_in_package":
        (tmp_path / "config.json").write_text(json.dumps({"name": "m", "profile": None}))
        reference = str(tmp_path / "config.json")
    elif case == "broken_json":
        (tmp_path / "p.json").write_text("{nope")
        reference = str(tmp_path / "p.json")
    elif case == "empty_current":
        (tmp_path / "empty.csv").write_text("age,income,city\n")
        current = str(tmp_path / "empty.csv")
    code, _ = _run(tmp_path, "--reference", reference, "--current", current)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_invalid_monitoring_config_exits_2(tmp_path, files, write_config, capsys):
    _model_files(tmp_path)
    config = write_config(
        "apiVersion: mlpipex/v1\n"
        "model: {name: m, version: 1.0.0, path: m.onnx, format: onnx, task: classification}\n"
        "data: {holdout: h.csv, label: y}\n"
        "monitoring: {correction: holm}\n"
    )
    code, _ = _run(tmp_path, "-c", str(config), "--reference", str(files["reference"]), "--current", str(files["same"]))
    assert code == 2 and "correction" in capsys.readouterr().err


def test_subprocess_exit_code_and_progress(tmp_path, files):
    result = subprocess.run([sys.executable, "-m", "mlpipex", "drift", "--reference", str(files["reference"]),
                             "--current", str(files["shifted"]), "--report-dir", str(tmp_path / "r")],
                            capture_output=True, text=True, env={"CI": "1", "PATH": "/usr/bin:/bin"}, timeout=120)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "reading current (shifted.csv)" in result.stderr and "testing features" in result.stderr
    assert "drift detected" in result.stdout


def test_reference_from_a_package_in_the_local_store_and_a_registry(quickstart, monkeypatch, tmp_path, capsys):
    """`mlpipex package` puts the training profile in the config blob; drift reads it back from both places."""
    from oci.conftest import start_registry

    monkeypatch.chdir(quickstart)
    assert main(["gate", "--quiet", "--only", "schema,smoke"]) == 0
    assert main(["package"]) == 0
    holdout = str(quickstart / "data" / "holdout.csv")
    code, data = _run(tmp_path, "--reference", "breast-cancer:1.1.0", "--current", holdout)
    assert code == 0 and data["reference_source"] == "profile" and len(data["features"]) == 30
    assert data["rows"]["reference"] == 398  # the training rows, from the profile
    registry = start_registry(tmp_path / "registry")
    try:
        target = f"{registry.address}/models/bc"
        assert main(["push", "--to", target]) == 0
        capsys.readouterr()
        code, remote = _run(tmp_path, "--reference", f"{target}:1.1.0", "--current", holdout)
        assert code == 0 and remote["verdict"] == data["verdict"]
        assert [f["statistic"] for f in remote["features"]] == [f["statistic"] for f in data["features"]]
        assert remote["sources"]["reference"].startswith(f"{target}:1.1.0@sha256:")
        code, _ = _run(tmp_path, "--reference", f"{registry.address}/models/missing:1.0.0", "--current", holdout)
        assert code in (2, 3)
    finally:
        registry.stop()


def test_a_jump_in_missing_values_is_flagged(tmp_path, files, capsys):
    current = _data(1, 2000)
    current["income"] = current["income"].astype(object)
    current["income"][:600] = None  # 30% missing now, none before
    path = _write_csv(tmp_path / "holes.csv", current)
    code, data = _run(tmp_path, "--reference", str(files["reference"]), "--current", str(path))
    assert code == 0  # missingness alone is not drift of the distribution...
    income = next(f for f in data["features"] if f["name"] == "income")
    assert income["null_rate_current"] == pytest.approx(0.3) and income["null_rate_reference"] == 0.0
    assert "nulls    income: 0.0% → 30.0% missing" in capsys.readouterr().out  # ...but it is reported
    assert "0.0% → 30.0% ⚠️" in (tmp_path / "report" / "drift.md").read_text()
