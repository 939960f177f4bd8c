"""Does the latency gate measure the model, or itself, for every format's runtime?

For scikit-learn, XGBoost, LightGBM (and TorchScript where torch imports): a model
trained here on the breast-cancer data, timed two ways in one process in
alternating blocks: the gate's own path (the adapter's ``runner`` inside
``time_calls``) and a bare loop of the framework's own call with
``perf_counter_ns`` around it. Prints the p50 ratio (target <= 1.05, as for ONNX).

    .venv/bin/python benchmarks/latency_fidelity_formats.py [--rounds 10] [--calls 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer

from _common import machine, table
from mlpipex.runtime import load_model, time_calls


def bare_loop(call: Callable[[], Any], calls: int) -> np.ndarray:
    clock = time.perf_counter_ns
    out = np.empty(calls, dtype=np.int64)
    for i in range(calls):
        start = clock()
        call()
        out[i] = clock() - start
    return out / 1e6


def build(fmt: str, X: np.ndarray, y: np.ndarray, folder: Path) -> tuple[Path, Callable[[np.ndarray], Callable[[], Any]]]:
    """The saved model and, for a batch, the framework's own bare call on a model loaded separately."""
    if fmt == "sklearn":
        import joblib
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        joblib.dump(make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y), folder / "m.joblib")
        bare = joblib.load(folder / "m.joblib")
        return folder / "m.joblib", lambda rows: lambda: (bare.predict(rows), bare.predict_proba(rows))
    if fmt == "xgboost":
        import xgboost as xgb

        xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1}, xgb.DMatrix(X, label=y),
                  num_boost_round=30).save_model(str(folder / "m.json"))  # fmt: skip
        booster = xgb.Booster(params={"nthread": 1}, model_file=str(folder / "m.json"))
        def xgb_call(rows: np.ndarray) -> Callable[[], Any]:
            matrix = rows.astype(np.float32)  # the dtype the gate feeds, converted once as the gate does
            return lambda: booster.inplace_predict(matrix)

        return folder / "m.json", xgb_call
    if fmt == "lightgbm":
        import lightgbm as lgb

        lgb.train({"objective": "binary", "num_leaves": 7, "verbosity": -1}, lgb.Dataset(X, label=y),
                  num_boost_round=30).save_model(str(folder / "m.txt"))  # fmt: skip
        gbm = lgb.Booster(model_file=str(folder / "m.txt"))
        return folder / "m.txt", lambda rows: lambda: gbm.predict(rows, num_threads=1)
    import torch

    module = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(30, 2), torch.nn.Softmax(dim=1)))
    torch.jit.save(module, str(folder / "m.pt"))
    scripted = torch.jit.load(str(folder / "m.pt"))

    def call(rows: np.ndarray) -> Callable[[], Any]:
        tensor = torch.from_numpy(rows.astype(np.float32))

        def run() -> Any:
            with torch.inference_mode():
                return scripted(tensor)

        return run

    return folder / "m.pt", call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    X, y = load_breast_cancer(return_X_y=True)
    names = [f"f{i}" for i in range(X.shape[1])]
    formats = ["sklearn", "xgboost", "lightgbm"]
    try:
        import torch

        torch.set_num_threads(1)
        formats.append("torchscript")
    except ImportError:
        pass
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            path, bare_call = build(fmt, X, y, Path(tmp))
            model = load_model(path, fmt, threads=1, trusted_root=Path(tmp))
            for batch in (1, 64):
                rows = X[:batch]
                feed = model.feed(rows, names)
                gate_call, bare = model.runner(feed), bare_call(rows)
                time_calls(gate_call, iterations=100)  # warm both
                bare_loop(bare, 100)
                gate_ms, bare_ms = [], []
                for round_ in range(args.rounds):
                    if round_ % 2 == 0:
                        gate_ms.append(time_calls(gate_call, iterations=args.calls))
                    bare_ms.append(bare_loop(bare, args.calls))
                    if round_ % 2 == 1:
                        gate_ms.append(time_calls(gate_call, iterations=args.calls))
                g, b = np.median(np.concatenate(gate_ms)), np.median(np.concatenate(bare_ms))
                rows_out.append([fmt, str(batch), f"{g * 1000:.1f}", f"{b * 1000:.1f}", f"{g / b:.3f}"])
    print(f"latency-gate fidelity per format ({machine()}, {args.rounds}×{args.calls} calls per side)")
    print(table(["format", "batch", "gate p50 µs", "bare p50 µs", "ratio"], rows_out))
    print("target: ratio <= 1.05")


if __name__ == "__main__":
    main()
