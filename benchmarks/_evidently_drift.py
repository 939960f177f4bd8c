"""Evidently's data-drift preset on the benchmark data (run by drift_throughput.py in .venv-evidently).

Usage: .venv-evidently/bin/python benchmarks/_evidently_drift.py DIR ROWS [REPEAT]
DIR holds reference_<name>.npy and current_<name>.npy per column and columns.json
({"continuous": [...], "categorical": [...]}). Prints one JSON line per configuration:
{"config", "rows", "seconds", "each", "drifted"}: the best of REPEAT runs (default 3),
as mlpipex and scipy get. Building the DataFrames is not timed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("DO_NOT_TRACK", "1")

from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main() -> None:
    folder, rows = Path(sys.argv[1]), int(sys.argv[2])
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    columns = json.loads((folder / "columns.json").read_text())
    names = columns["continuous"] + columns["categorical"]

    def frame(role: str) -> pd.DataFrame:
        return pd.DataFrame({n: np.load(folder / f"{role}_{n}.npy")[:rows] for n in names})

    reference, current = frame("reference"), frame("current")
    definition = DataDefinition(numerical_columns=columns["continuous"], categorical_columns=columns["categorical"])
    configs = {
        "preset defaults (Wasserstein / Jensen-Shannon at this size)": {},
        "preset with KS and PSI (the tests mlpipex runs)": {"num_method": "ks", "cat_method": "psi"},
    }
    for label, options in configs.items():
        each = []
        for _ in range(repeat):
            start = time.perf_counter()
            ref = Dataset.from_pandas(reference, data_definition=definition)
            cur = Dataset.from_pandas(current, data_definition=definition)
            snapshot = Report([DataDriftPreset(**options)]).run(cur, ref)
            each.append(time.perf_counter() - start)
        drifted = None
        for metric in snapshot.dict().get("metrics", []):
            if str(metric.get("metric_name", "")).startswith("DriftedColumnsCount"):
                drifted = metric.get("value", {}).get("count")
        print(json.dumps({"config": label, "rows": rows, "seconds": min(each), "each": each, "drifted": drifted}),
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
