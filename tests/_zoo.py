"""Deliberately broken variants of the quickstart model, for the gates to catch.

Each function writes an ONNX file (or garbage) to ``dst`` and returns the path. They
edit the real quickstart graph (``Scaler`` → ``LinearClassifier``, input ``features``,
outputs ``label`` and ``probabilities``) with onnx.helper, so no scikit-learn is needed
at test time. tests/test_zoo.py checks that each still has its defect and only that.

    wrong_signature   input renamed / 29 features wide / float64      → schema gate
    corrupt           truncated file with garbage appended           → schema gate
    nan_outputs       probabilities are NaN                          → smoke gate
    slow              right outputs, ≥ ``ms`` per batch-1 call        → latency gate
    regressed         valid probabilities, clearly worse ranking     → compare (and smoke) gate
    skewed            scaler means shifted, as in a bad export        → skew gate
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = [
    "MODEL",
    "QUICKSTART",
    "corrupt",
    "nan_outputs",
    "quickstart_dir",
    "regressed",
    "skewed",
    "slow",
    "wrong_signature",
]

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
MODEL = QUICKSTART / "models" / "model.onnx"
INPUT = "features"
WIDTH = 30

SignatureDefect = Literal["name", "width", "dtype"]


def quickstart_dir() -> Path:
    """The example directory (read-only: copy it before breaking anything)."""
    return QUICKSTART


def _load() -> onnx.ModelProto:
    return onnx.load(str(MODEL))


def _save(model: onnx.ModelProto, dst: Path) -> Path:
    onnx.checker.check_model(model, full_check=True)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(model.SerializeToString())
    return dst


def _node(model: onnx.ModelProto, op_type: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type == op_type)


def _floats(node: onnx.NodeProto, name: str) -> list[float]:
    return list(next(a for a in node.attribute if a.name == name).floats)


def _set_floats(node: onnx.NodeProto, name: str, values: list[float]) -> None:
    attr = next(a for a in node.attribute if a.name == name)
    del attr.floats[:]
    attr.floats.extend(float(v) for v in values)


def _detach_probabilities(model: onnx.ModelProto) -> str:
    """Let the graph compute ``probabilities_raw``; the caller produces ``probabilities``."""
    producer = next(n for n in model.graph.node if "probabilities" in n.output)
    producer.output[:] = ["probabilities_raw" if o == "probabilities" else o for o in producer.output]
    return "probabilities_raw"


def wrong_signature(dst: Path, *, kind: SignatureDefect = "name") -> Path:
    """A model whose input no longer matches the declared ``features: float32 [batch, 30]``.

    - ``name``:  the input is called ``input`` (an exporter default left in place);
    - ``width``: it takes 29 features (trained without ``worst_fractal_dimension``);
    - ``dtype``: it takes float64 (cast to float32 inside), still named ``features``.

    Every variant loads and runs in onnxruntime; only the signature is wrong.
    """
    model = _load()
    graph = model.graph
    if kind == "name":
        graph.input[0].name = "input"
        for node in graph.node:
            node.input[:] = ["input" if i == INPUT else i for i in node.input]
    elif kind == "width":
        width = WIDTH - 1
        graph.input[0].type.tensor_type.shape.dim[1].dim_value = width
        scaler, linear = _node(model, "Scaler"), _node(model, "LinearClassifier")
        _set_floats(scaler, "offset", _floats(scaler, "offset")[:width])
        _set_floats(scaler, "scale", _floats(scaler, "scale")[:width])
        rows = np.array(_floats(linear, "coefficients")).reshape(-1, WIDTH)
        _set_floats(linear, "coefficients", rows[:, :width].ravel().tolist())
    elif kind == "dtype":
        graph.input[0].type.tensor_type.elem_type = TensorProto.DOUBLE
        for node in graph.node:
            node.input[:] = ["features_f32" if i == INPUT else i for i in node.input]
        graph.node.insert(0, helper.make_node("Cast", [INPUT], ["features_f32"], to=TensorProto.FLOAT))
    else:
        raise ValueError(f"unknown signature defect {kind!r}: use name, width or dtype")
    return _save(model, dst)


def corrupt(dst: Path) -> Path:
    """The first half of the real model plus garbage: what an interrupted upload leaves."""
    data = MODEL.read_bytes()
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data[: len(data) // 2] + b"\x00garbage\xff" * 4)
    return dst


def nan_outputs(dst: Path) -> Path:
    """Same signature and labels; every probability is NaN (multiplied by a NaN initializer)."""
    model = _load()
    graph = model.graph
    raw = _detach_probabilities(model)
    graph.initializer.append(numpy_helper.from_array(np.array([np.nan], dtype=np.float32), "nan_scale"))
    graph.node.append(helper.make_node("Mul", [raw, "nan_scale"], ["probabilities"]))
    return _save(model, dst)


def _slow_model(size: int, repeats: int) -> onnx.ModelProto:
    """The quickstart plus a side branch of ``repeats`` [size×size] MatMuls, added as 0.

    The branch starts from tanh(sum of the input), so onnxruntime cannot constant-fold
    it; the weight is orthogonal and the start bounded, so values stay O(1) (no inf, no
    denormals) and ``0 × total`` is exactly 0: the outputs are the good model's, bit for bit.
    """
    model = _load()
    graph = model.graph
    raw = _detach_probabilities(model)
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((size, size)))
    graph.initializer.extend([
        numpy_helper.from_array(q.astype(np.float32), "slow_w"),
        numpy_helper.from_array(np.array([size, size], dtype=np.int64), "slow_shape"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "slow_zero"),
    ])  # fmt: skip
    nodes = [
        helper.make_node("ReduceSum", [INPUT], ["slow_sum"], keepdims=0),
        helper.make_node("Tanh", ["slow_sum"], ["slow_unit"]),
        helper.make_node("Expand", ["slow_unit", "slow_shape"], ["slow_x0"]),
    ]
    for i in range(repeats):
        nodes.append(helper.make_node("MatMul", [f"slow_x{i}", "slow_w"], [f"slow_x{i + 1}"]))
    nodes += [
        helper.make_node("ReduceSum", [f"slow_x{repeats}"], ["slow_total"], keepdims=0),
        helper.make_node("Mul", ["slow_total", "slow_zero"], ["slow_nothing"]),
        helper.make_node("Add", [raw, "slow_nothing"], ["probabilities"]),
    ]
    graph.node.extend(nodes)
    return model


def _fastest_ms(model: onnx.ModelProto, runs: int = 15) -> float:
    import onnxruntime as ort  # imported here: building the other variants needs only onnx

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {INPUT: np.ones((1, WIDTH), dtype=np.float32)}
    session.run(None, feed)
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def slow(dst: Path, *, ms: float = 10.0, size: int = 256, repeats: int | None = None) -> Path:
    """Same signature and outputs as the good model, but about ``ms`` per batch-1 call.

    The extra time is a chain of MatMuls (see ``_slow_model``) whose length is calibrated
    on this machine, with one onnxruntime thread, from the *fastest* of a few calls: the
    model takes at least about ``ms`` on an idle machine, and longer on a loaded one.
    The default 10 ms is 5× a 2 ms p50 SLA. Pass ``repeats`` for a fixed chain instead.
    """
    if repeats is None:
        short, long = 4, 12  # the slope between two chains: the cost of one MatMul alone
        per_matmul = (_fastest_ms(_slow_model(size, long)) - _fastest_ms(_slow_model(size, short))) / (long - short)
        repeats = max(1, math.ceil(ms / max(per_matmul, 1e-3)))
    return _save(_slow_model(size, repeats), dst)


def regressed(dst: Path, *, seed: int = 0) -> Path:
    """Valid probabilities from a clearly worse model: the coefficients permuted across features.

    On the quickstart holdout: AUC 0.93 and accuracy 0.87 (the good model: 0.988, 0.977).
    """
    model = _load()
    linear = _node(model, "LinearClassifier")
    rows = np.array(_floats(linear, "coefficients")).reshape(-1, WIDTH)
    permutation = np.random.default_rng(seed).permutation(WIDTH)
    _set_floats(linear, "coefficients", rows[:, permutation].ravel().tolist())
    return _save(model, dst)


def skewed(dst: Path, *, shift: float = 0.02) -> Path:
    """The classic export bug: the scaler's means off by ``shift`` standard deviations.

    A sane model (same AUC, labels unchanged on the quickstart holdout), but its scores
    differ from the training pipeline's by up to about 0.05.
    """
    model = _load()
    scaler = _node(model, "Scaler")
    offset, scale = _floats(scaler, "offset"), _floats(scaler, "scale")
    # Scaler computes (x - offset) * scale, so one standard deviation is 1 / scale.
    _set_floats(scaler, "offset", [o + shift / s for o, s in zip(offset, scale)])
    return _save(model, dst)
