"""PyTorch models: TorchScript (``torch.jit.save``) and ``torch.export`` programs (``torch.export.save``).

Both take the holdout's ``[batch, n_features]`` matrix as their one tensor argument
and give their outputs as they are: a tensor, or a tuple of tensors (named
``output-0``, ``output-1``, … unless ``model.signature`` names them). A classifier
should give probabilities (softmax in the module); the label is their argmax.

What the artifact records: a TorchScript module records its argument names only,
so dtypes and shapes come from ``model.signature`` (float32 ``[batch, ?]`` if none is
declared); an exported program records every input's and output's dtype and shape.
Both are loaded with pickle machinery: only from the repository or a digest-pinned
package (``mlpipex.runtime.formats.load_model``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlpipex.errors import InputError, Location
from mlpipex.runtime.base import TabularModel, TensorInfo, first_line, require_extra

__all__ = ["ExportedProgramModel", "TorchScriptModel"]

_DTYPES = {"float32": "float32", "float64": "float64", "float16": "float16", "bfloat16": "bfloat16",
           "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool"}  # fmt: skip


class _TorchModel(TabularModel):
    fmt = "torch"

    def __init__(self, path: Path, *, threads: int = 1, providers: Sequence[str] = ()) -> None:
        self.torch = require_extra("torch", "torch", self.fmt)
        self.path, self.format = path, self.fmt
        if threads > 0:
            self.torch.set_num_threads(threads)
        wanted = list(providers) or ["cpu"]
        available = ["cpu"] + (["cuda"] if self.torch.cuda.is_available() else [])
        self.providers = [p for p in wanted if p in available] or ["cpu"]
        self.skipped_providers = [p for p in wanted if p not in available]
        self._device = self.providers[0]
        try:
            self.module = self._load(path)
        except InputError:
            raise
        except Exception as exc:  # RuntimeError, pickle errors, zip errors: all "not loadable"
            raise InputError(f"torch cannot load the model: {first_line(exc)}", location=Location(str(path)),
                             fix=self.fix) from None  # fmt: skip

    fix = ""

    def _load(self, path: Path) -> Any:
        raise NotImplementedError

    @property
    def device(self) -> str:
        return self._device

    def feed(self, features: np.ndarray, feature_names: Sequence[str]) -> Any:
        problem = self.feed_plan_problem(feature_names)
        if problem:
            raise InputError(problem, location=Location(str(self.path)))
        spec = self.inputs[0]
        array = np.ascontiguousarray(features.astype(np.dtype(spec.dtype), copy=False))
        return {spec.name: self.torch.from_numpy(array).to(self._device)}

    def feed_plan_problem(self, feature_names: Sequence[str]) -> str | None:
        if len(self.inputs) != 1:
            return f"the module takes {len(self.inputs)} tensors; mlpipex feeds one [batch, features] matrix"
        return super().feed_plan_problem(feature_names)

    def runner(self, feed: dict[str, Any]) -> Callable[[], Any]:
        """The module's forward under ``inference_mode``: the framework's own bare call."""
        (tensor,) = feed.values()
        forward, mode = self.module, self.torch.inference_mode
        synchronize = self.torch.cuda.synchronize if self._device == "cuda" else None

        def call() -> Any:
            with mode():
                out = forward(tensor)
            if synchronize is not None:  # CUDA runs asynchronously: time the work, not the launch
                synchronize()
            return out

        return call

    def _run(self, feed: dict[str, Any]) -> Sequence[Any]:
        out = self.runner(feed)()
        values = list(out) if isinstance(out, (tuple, list)) else [out]
        if len(values) != len(self.outputs):
            raise InputError(f"the module gave {len(values)} outputs, the signature names {len(self.outputs)}",
                             location=Location(str(self.path)), fix="declare every output in model.signature.outputs")  # fmt: skip
        return [v.detach().cpu().numpy() for v in values]


class TorchScriptModel(_TorchModel):
    fmt = "torchscript"
    fix = "save the scripted or traced module with torch.jit.save(module, 'model.pt')"

    def _load(self, path: Path) -> Any:
        module = self.torch.jit.load(str(path), map_location=self._device)
        module.eval()
        arguments = [a.name for a in module.forward.schema.arguments[1:]]  # [0] is self
        self.inputs = [TensorInfo(name, "float32", (None, None)) for name in arguments]
        self.outputs = [TensorInfo("output-0", "float32", (None, None))]
        return module

    def declare(self, inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo]) -> None:
        """TorchScript records no dtypes or shapes: take the declared signature's (names stay the module's)."""
        if len(inputs) == len(self.inputs):
            self.inputs = [TensorInfo(mine.name, d.dtype, d.shape) for mine, d in zip(self.inputs, inputs)]
        if outputs:
            self.outputs = list(outputs)


class ExportedProgramModel(_TorchModel):
    fmt = "pt2"
    fix = "save the program with torch.export.save(torch.export.export(module, example), 'model.pt2')"

    def _load(self, path: Path) -> Any:
        program = self.torch.export.load(str(path))
        nodes = {n.name: n for n in program.graph.nodes}
        signature = program.graph_signature
        self.inputs = [_tensor_info(name, nodes[name].meta.get("val")) for name in signature.user_inputs]
        output_node = next(n for n in program.graph.nodes if n.op == "output")
        produced = output_node.args[0] if isinstance(output_node.args[0], (tuple, list)) else [output_node.args[0]]
        values = [getattr(node, "meta", {}).get("val") for node in produced][-len(signature.user_outputs):]
        self.outputs = [_tensor_info(f"output-{i}", value) for i, value in enumerate(values)]
        return program.module().to(self._device)

    def declare(self, inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo]) -> None:
        if outputs and len(outputs) == len(self.outputs):  # the program's dtypes and shapes, the declared names
            self.outputs = [TensorInfo(d.name, mine.dtype, mine.shape) for mine, d in zip(self.outputs, outputs)]


def _tensor_info(name: str, value: Any) -> TensorInfo:
    """A FakeTensor's dtype and shape; a dynamic dimension (a SymInt) is unnamed, ``None``."""
    if value is None or not hasattr(value, "shape"):
        return TensorInfo(name, "float32", None)
    dtype = _DTYPES.get(str(value.dtype).removeprefix("torch."), str(value.dtype))
    shape = tuple(int(d) if type(d) is int else None for d in value.shape)
    return TensorInfo(name, dtype, shape)
