"""`mlpipex validate` rejects what the gates would, with the gates' own messages (issue 15, items 6-8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import _zoo
from mlpipex.cli import main
from mlpipex.config import load_config
from mlpipex.gates import input_problems, run_gates
from mlpipex.gates.skew import labels_at_threshold


def edit_config(quickstart: Path, change) -> Path:
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def edit_holdout(quickstart: Path, change) -> None:
    path = quickstart / "data" / "holdout.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(change(lines)) + "\n")


def set_cell(row: int, column: int, value: str):
    def change(lines: list[str]) -> list[str]:
        cells = lines[row + 1].split(",")
        cells[column] = value
        lines[row + 1] = ",".join(cells)
        return lines

    return change


def drop_column(name: str):
    def change(lines: list[str]) -> list[str]:
        index = lines[0].split(",").index(name)
        return [",".join(c for i, c in enumerate(line.split(",")) if i != index) for line in lines]

    return change


def validate(quickstart: Path, capsys) -> tuple[int, str]:
    code = main(["validate", "-c", str(quickstart / "mlpipex.yaml")])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "this is a bug" not in captured.err
    return code, captured.out + captured.err


def gate_messages(quickstart: Path, capsys) -> str:
    main(["gate", "-c", str(quickstart / "mlpipex.yaml"), "--skip", "unit,latency", "--report-dir", str(quickstart / "out")])
    capsys.readouterr()
    report = json.loads((quickstart / "out" / "report.json").read_text())
    return "\n".join(g["message"] for g in report["gates"])


def _no_label(q: Path) -> None:
    edit_config(q, lambda c: c["data"].update(label="diagnosis_typo"))


def _empty_csv(q: Path) -> None:
    (q / "data" / "holdout.csv").write_text("")


def _text_value(q: Path) -> None:
    edit_holdout(q, set_cell(3, 2, "abc"))


def _truncated_onnx(q: Path) -> None:
    _zoo.corrupt(q / "models" / "model.onnx")


def _unknown_class(q: Path) -> None:
    header = (q / "data" / "holdout.csv").read_text().splitlines()[0].split(",")
    edit_holdout(q, set_cell(4, header.index("diagnosis"), "7"))


def _unknown_feature(q: Path) -> None:
    edit_config(q, lambda c: c["data"]["features"].append("mean_weight"))


@pytest.mark.parametrize(
    ("break_it", "fragment"),
    [
        (_no_label, "column `diagnosis_typo` (data.label) is not in the holdout"),
        (_empty_csv, "the holdout file is empty"),
        (_text_value, "feature column `mean_perimeter` holds text ('abc' in data row 4)"),
        (_truncated_onnx, "model.path: not a valid ONNX model"),
        (_unknown_feature, "column `mean_weight` (data.features) is not in the holdout"),
        (_unknown_class, "y_true has labels that are not among the classes [0, 1]: 7"),
    ],
)
def test_validate_rejects_what_the_gates_reject_with_their_message(quickstart, capsys, break_it, fragment):
    break_it(quickstart)
    code, output = validate(quickstart, capsys)
    assert code == 2 and fragment in output
    gate = gate_messages(quickstart, capsys)
    assert fragment.removeprefix("model.path: ") in gate  # the same words from the gates


def test_validate_names_every_problem_at_once(quickstart, capsys):
    _truncated_onnx(quickstart)
    edit_config(quickstart, lambda c: c["data"].update(label="nope"))
    code, output = validate(quickstart, capsys)
    assert code == 2 and "(2 problems)" in output and "not a valid ONNX model" in output and "`nope`" in output


def test_validate_checks_the_signature_and_the_feed_without_running(quickstart, capsys):
    edit_config(quickstart, lambda c: c["model"]["signature"]["inputs"][0].update(dtype="float64"))
    edit_config(quickstart, lambda c: c["data"]["features"].pop())
    code, output = validate(quickstart, capsys)
    assert code == 2
    assert "model.signature:" in output and "float64" in output
    assert "input `features` takes 30 features, the holdout gives 29" in output


def test_a_nan_cell_is_named_by_column_and_row_before_the_model_runs(quickstart, capsys):
    """Issue 15 item 7: was "2 of 171 rows have NaN outputs" (smoke) and "differs by up to inf" (skew)."""
    edit_holdout(quickstart, set_cell(6, 0, ""))
    edit_holdout(quickstart, set_cell(9, 0, "nan"))
    code, output = validate(quickstart, capsys)
    assert code == 2
    assert "holdout.csv:8: feature `mean_radius` is empty or NaN in data row 7 (and 1 more row)" in output
    report = run_gates(load_config(quickstart / "mlpipex.yaml"), ["smoke", "skew"])
    for gate in report.gates:
        assert gate.error_exit_code == 2 and "`mean_radius` is empty or NaN in data row 7" in gate.message


def test_an_empty_score_is_named(quickstart, capsys):
    header = (quickstart / "data" / "holdout.csv").read_text().splitlines()[0].split(",")
    edit_holdout(quickstart, set_cell(2, header.index("training_score"), ""))
    code, output = validate(quickstart, capsys)
    assert code == 2 and "`training_score` (data.score_column) is empty or NaN in data row 3" in output


def test_a_missing_column_with_default_features_is_named(quickstart, capsys):
    """Issue 15 item 7: with `features` left out, data.training says which columns they are."""
    edit_config(quickstart, lambda c: c["data"].pop("features"))
    edit_holdout(quickstart, drop_column("mean_area"))
    code, output = validate(quickstart, capsys)
    assert code == 2 and "the holdout lacks `mean_area`" in output


def test_label_mismatch_limit_without_prediction_column_derives_labels(quickstart):
    """Issue 15 item 8: the limit was silently ignored; now labels come from the scores at 0.5."""
    edit_config(quickstart, lambda c: c["data"].pop("prediction_column"))
    report = run_gates(load_config(quickstart / "mlpipex.yaml"), ["skew"])
    gate = report.gates[0]
    assert "label_mismatch_rate" in {m.name for m in gate.measurements}
    assert gate.details["labels_from"].startswith("data.score_column")
    assert gate.status.value == "pass"  # the quickstart's labels are its scores at 0.5


def test_label_mismatch_limit_without_any_labels_is_a_config_error(quickstart, capsys):
    edit_config(quickstart, lambda c: (c["data"].pop("prediction_column"), c["data"].pop("score_column")))
    code, output = validate(quickstart, capsys)
    assert code == 2
    assert "mlpipex.yaml:" in output and "max_label_mismatch_rate has no labels to compare" in output


def test_labels_at_threshold_matches_argmax():
    scores = np.array([0.2, 0.5, 0.8, 0.5000001])
    probabilities = np.column_stack([1 - scores, scores])
    assert labels_at_threshold(scores, [0, 1], 1).tolist() == np.argmax(probabilities, axis=1).tolist()
    assert labels_at_threshold(scores, ["a", "b", "c"], None) is None


def test_input_problems_is_empty_for_the_quickstart(quickstart):
    assert input_problems(load_config(quickstart / "mlpipex.yaml")) == []


def test_with_the_default_features_a_missing_column_says_how_to_have_it_named(quickstart, capsys):
    """Issue 15 item 7: with `features` and `training` unset nothing names the model's columns, so the
    count mismatch says how to get the missing one named; with data.training it is named."""
    import csv

    holdout = quickstart / "data" / "holdout.csv"
    rows = list(csv.reader(holdout.open()))
    gone = rows[0].index("mean_texture")
    with holdout.open("w", newline="") as out:
        csv.writer(out).writerows([r[:gone] + r[gone + 1:] for r in rows])
    edit_config(quickstart, lambda c: (c["data"].pop("features"), c["data"].pop("training")))
    code, output = validate(quickstart, capsys)
    assert code == 2 and "takes 30 features, the holdout gives 29" in output
    assert "list the model's columns in data.features (or set data.training)" in output
    assert "list the model's columns in data.features" in gate_messages(quickstart, capsys)  # the schema gate says it too
    edit_config(quickstart, lambda c: c["data"].update(training="data/training.csv"))
    code, output = validate(quickstart, capsys)
    assert code == 2 and "lacks `mean_texture`" in output, output
