"""Deliberately broken variants of the quickstart model, for the gates to catch.

Each function writes an ONNX file (or garbage) to ``dst`` and returns the path.
They edit the real quickstart graph with onnx.helper, so no scikit-learn is
needed at test time; tests/test_zoo.py checks each still has its defect.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
MODEL = QUICKSTART / "models" / "model.onnx"


def quickstart_dir() -> Path:
    return QUICKSTART


def _load() -> onnx.ModelProto:
    return onnx.load(str(MODEL))


def _save(model: onnx.ModelProto, dst: Path) -> Path:
    onnx.checker.check_model(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(model.SerializeToString())
    return dst


def _scaler(model: onnx.ModelProto) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type == "Scaler")


def _floats(node: onnx.NodeProto, name: str) -> list[float]:
    return list(next(a for a in node.attribute if a.name == name).floats)


def _set_floats(node: onnx.NodeProto, name: str, values: list[float]) -> None:
    attr = next(a for a in node.attribute if a.name == name)
    del attr.floats[:]
    attr.floats.extend(values)


def wrong_signature(dst: Path, *, dtype: bool = False) -> Path:
    """Input renamed to `input` (or, with ``dtype``, declared float64 via a Cast)."""
    model = _load()
    graph = model.graph
    old = graph.input[0].name
    if dtype:
        graph.input[0].type.tensor_type.elem_type = TensorProto.DOUBLE
        graph.input[0].name = "features64"
        cast = helper.make_node("Cast", ["features64"], [old], to=TensorProto.FLOAT)
        graph.node.insert(0, cast)
    else:
        graph.input[0].name = "input"
        for node in graph.node:
            node.input[:] = ["input" if i == old else i for i in node.input]
    return _save(model, dst)


def corrupt(dst: Path) -> Path:
    """The first half of a real model: what an interrupted upload leaves."""
    data = MODEL.read_bytes()
    dst.write_bytes(data[: len(data) // 2] + b"\x00garbage\xff" * 4)
    return dst


def nan_outputs(dst: Path) -> Path:
    """Same signature; probabilities multiplied by NaN, so every row is NaN."""
    model = _load()
    graph = model.graph
    probs = next(o for o in graph.output if o.name == "probabilities")
    producer = next(n for n in graph.node if "probabilities" in n.output)
    producer.output[:] = ["probabilities_raw" if o == "probabilities" else o for o in producer.output]
    graph.initializer.append(numpy_helper.from_array(np.array([np.nan], dtype=np.float32), "nan_scale"))
    graph.node.append(helper.make_node("Mul", ["probabilities_raw", "nan_scale"], [probs.name]))
    return _save(model, dst)


def slow(dst: Path, *, size: int = 384, repeats: int = 6) -> Path:
    """Same outputs, but a chain of ``repeats`` [size×size] MatMuls folded in as +0.

    The chain depends on the input (its sum), so onnxruntime cannot constant-fold it.
    """
    model = _load()
    graph = model.graph
    producer = next(n for n in graph.node if "probabilities" in n.output)
    producer.output[:] = ["probabilities_raw" if o == "probabilities" else o for o in producer.output]
    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((size, size)) / size).astype(np.float32)
    graph.initializer.extend([
        numpy_helper.from_array(weight, "slow_w"),
        numpy_helper.from_array(np.zeros((1, 2), dtype=np.float32), "slow_zero"),
        numpy_helper.from_array(np.ones((size, size), dtype=np.float32), "slow_ones"),
        numpy_helper.from_array(np.array([1, 1], dtype=np.int64), "slow_shape11"),
    ])  # fmt: skip
    nodes = [
        helper.make_node("ReduceSum", ["features"], ["slow_sum"], keepdims=0),
        helper.make_node("Reshape", ["slow_sum", "slow_shape11"], ["slow_sum11"]),
        helper.make_node("Mul", ["slow_ones", "slow_sum11"], ["slow_x0"]),
    ]
    current = "slow_x0"
    for i in range(repeats):
        nodes.append(helper.make_node("MatMul", [current, "slow_w"], [f"slow_x{i + 1}"]))
        current = f"slow_x{i + 1}"
    nodes += [
        helper.make_node("ReduceSum", [current], ["slow_total"], keepdims=0),
        helper.make_node("Mul", ["slow_total", "slow_zero"], ["slow_nothing"]),  # 0 × finite = 0
        helper.make_node("Add", ["probabilities_raw", "slow_nothing"], ["probabilities"]),
    ]
    graph.node.extend(nodes)
    return _save(model, dst)


def regressed(dst: Path) -> Path:
    """Valid probabilities, worse model: half the scaler's features get their sign flipped."""
    model = _load()
    scaler = _scaler(model)
    scale = _floats(scaler, "scale")
    _set_floats(scaler, "scale", [-s if i % 2 else s for i, s in enumerate(scale)])
    return _save(model, dst)


def skewed(dst: Path) -> Path:
    """The classic export bug: the scaler's means shifted by 5% of a standard deviation."""
    model = _load()
    scaler = _scaler(model)
    offset, scale = _floats(scaler, "offset"), _floats(scaler, "scale")
    _set_floats(scaler, "offset", [o + 0.05 / s for o, s in zip(offset, scale)])
    return _save(model, dst)
