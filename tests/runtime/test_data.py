"""Holdout tables: CSV and Parquet read the same; malformed files name file and line."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from mlpipex import load_config, run_gates
from mlpipex.errors import InputError
from mlpipex.gates import Status
from mlpipex.runtime import read_table


def test_csv_numbers_text_and_blanks(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a,b,c\n1,x,\n2.5,y,3\n")
    table = read_table(path)
    assert table["a"].dtype == np.float64 and table["a"].tolist() == [1.0, 2.5]
    assert table["b"].tolist() == ["x", "y"]
    assert np.isnan(table["c"][0]) and table["c"][1] == 3.0


def test_csv_ragged_row_names_the_line(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(InputError) as info:
        read_table(path)
    assert f"{path}:3" in str(info.value) and "1 fields, the header has 2" in str(info.value)


@pytest.mark.parametrize(("text", "message"), [("", "empty"), ("a,b\n", "no rows"), ("a,a\n1,2\n", "duplicate")])
def test_csv_other_problems(tmp_path, text, message):
    path = tmp_path / "h.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_table(path)


def test_unsupported_format(tmp_path):
    path = tmp_path / "h.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(InputError, match=r"use a \.csv or \.parquet file"):
        read_table(path)


def test_parquet_holdout_gives_the_same_verdict_as_csv(quickstart):
    table = read_table(quickstart / "data" / "holdout.csv")
    pq.write_table(pa.table({k: pa.array(v) for k, v in table.items()}), quickstart / "data" / "holdout.parquet")
    config_path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(config_path.read_text())
    data["data"]["holdout"] = "data/holdout.parquet"
    config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    report = run_gates(load_config(config_path), ["schema", "smoke", "skew"])
    assert [g.status for g in report.gates] == [Status.PASS] * 3
    parquet_metrics = report.gate("smoke").details["metrics"]  # type: ignore[union-attr]
    data["data"]["holdout"] = "data/holdout.csv"
    config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    csv_metrics = run_gates(load_config(config_path), ["smoke"]).gate("smoke").details["metrics"]  # type: ignore[union-attr]
    assert parquet_metrics == csv_metrics


def test_text_feature_column_is_bad_input(quickstart):
    path = quickstart / "data" / "holdout.csv"
    lines = path.read_text().splitlines()
    lines[1] = "oops," + lines[1].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    report = run_gates(load_config(quickstart / "mlpipex.yaml"), ["smoke"])
    smoke = report.gate("smoke")
    assert smoke is not None and smoke.status is Status.ERROR
    assert "feature column `mean_radius` holds text" in smoke.message
    assert report.exit_code == 2
