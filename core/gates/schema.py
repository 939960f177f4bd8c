"""Gate 1, schema: the file is a valid model of its format whose signature is the declared one.

``evaluate`` compares declared and actual tensors (pure); ``run`` reads the file and
loads it with its format's runtime. What "valid" means per format:

- onnx: ``onnx.checker`` accepts the graph and onnxruntime loads it;
- sklearn: joblib unpickles (from inside the repository only) an estimator with ``predict``;
- xgboost / lightgbm: the framework loads a booster and reads its objective;
- torchscript / pt2: ``torch.jit.load`` / ``torch.export.load`` loads the program;

then, for every format, the declared signature matches the one the artifact records
(or its format defines), and the holdout's columns feed it, in the fitted order
where the framework recorded feature names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.config.model import TensorSpec
from mlpipex.digests import file_digest
from mlpipex.errors import InputError
from mlpipex.gates._context import GateContext
from mlpipex.gates.result import GateResult, Measurement, Status
from mlpipex.runtime import MissingExtraError, TensorInfo, model_format

if TYPE_CHECKING:
    from mlpipex.config import Config

NAME = "schema"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


def compare_tensors(kind: str, declared: Sequence[TensorSpec], actual: Sequence[TensorInfo]) -> list[Check]:
    """Names in order, dtypes, and shapes (a symbolic dimension on either side matches any size)."""
    checks: list[Check] = []
    declared_names = [d.name for d in declared]
    actual_names = [a.name for a in actual]
    if declared_names != actual_names:
        checks.append(Check(f"{kind} names", False,
                            f"declared {declared_names}, the graph has {actual_names}"))  # fmt: skip
    by_name = {a.name: a for a in actual}
    for spec in declared:
        tensor = by_name.get(spec.name)
        if tensor is None:
            continue
        if spec.dtype != tensor.dtype:
            checks.append(Check(f"{kind} `{spec.name}` dtype", False,
                                f"declared {spec.dtype}, the graph has {tensor.dtype}"))  # fmt: skip
        problem = _shape_problem(spec.shape, tensor.shape)
        if problem:
            checks.append(Check(f"{kind} `{spec.name}` shape", False, problem))
    if not checks:
        noun = kind if len(declared) != 1 else kind[:-1]
        checks.append(Check(f"{kind} signature", True, f"{len(declared)} {noun} as declared"))
    return checks


def _shape_problem(declared: list[int | str | None] | None, actual: tuple[int | str | None, ...] | None) -> str | None:
    if declared is None or actual is None:
        return None
    if len(declared) != len(actual):
        return f"declared rank {len(declared)} {list(declared)}, the graph has rank {len(actual)} {list(actual)}"
    for axis, (want, have) in enumerate(zip(declared, actual)):
        if isinstance(want, int) and isinstance(have, int) and want != have:
            return f"dimension {axis}: declared {want}, the graph has {have} (shape {list(actual)})"
    return None


def evaluate(checks: Sequence[Check], *, size_bytes: int, sha256: str, max_size_mb: float | None,
             title: str = "ONNX") -> GateResult:  # fmt: skip
    """Fail on any failed check or on a file over the size limit."""
    checks = list(checks)
    size_mb = size_bytes / 1e6
    if max_size_mb is not None:
        checks.append(Check("file size", size_mb <= max_size_mb,
                            f"{human_size(size_bytes)} (limit {max_size_mb:g} MB)"))  # fmt: skip
    failed = [c for c in checks if not c.ok]
    measurements = [
        Measurement("size", round(size_mb, 6), "MB",
                    threshold=f"<= {max_size_mb:g} MB" if max_size_mb is not None else None,
                    status=None if max_size_mb is None else (Status.PASS if size_mb <= max_size_mb else Status.FAIL)),
        Measurement("sha256", sha256),
        Measurement("checks passed", len(checks) - len(failed), threshold=f"== {len(checks)}"),
    ]  # fmt: skip
    status = Status.FAIL if failed else Status.PASS
    message = failed[0].message if len(failed) == 1 else (
        f"{len(failed)} problems: " + "; ".join(c.message for c in failed[:3]) if failed
        else f"valid {title}, signature as declared, {human_size(size_bytes)}"
    )  # fmt: skip
    return GateResult(
        NAME,
        status,
        message,
        measurements,
        details={"checks": [c.__dict__ for c in checks]},
    )


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.3g} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def feed_problem(config: Config, model: Any, feature_names: Sequence[str]) -> str | None:
    """Why the holdout cannot be fed to ``model``; with the default features (every column but the
    label, prediction and score) and no data.training, nothing names the columns the model was
    trained on, so the message says how to have the missing one named."""
    problem = model.feed_plan_problem(feature_names)
    if problem and not config.data.features and not config.data.training:
        problem += ("; data.features is not set, so every other holdout column is a feature and nothing says which "
                    "one is missing or extra: list the model's columns in data.features (or set data.training) "
                    "and mlpipex names it")  # fmt: skip
    return problem


def onnx_problem(path: Path) -> str | None:
    """Why ``onnx.checker`` refuses the file (truncated, not ONNX, invalid graph), or None."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=False)
    except Exception as exc:  # DecodeError, ValidationError, …: all mean "not valid ONNX"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        return f"not a valid ONNX model: {first}"
    return None


def run(ctx: GateContext) -> GateResult:
    config = ctx.config
    path = config.resolve(config.model.path)
    size, sha = file_digest(path)
    limit = config.gates.schema_.max_size_mb
    spec = model_format(config.model.format)
    checks: list[Check] = []

    def verdict() -> GateResult:
        return evaluate(checks, size_bytes=size, sha256=sha, max_size_mb=limit, title=spec.title)

    if spec.name == "onnx":
        problem = onnx_problem(path)
        checks.append(Check("onnx.checker", problem is None, problem or "the graph is well-formed"))
        if problem:
            return verdict()
    try:
        model = ctx.candidate
    except MissingExtraError:
        raise  # not the model's fault: the gate errors (exit 2) and names the pip install
    except InputError as exc:
        checks.append(Check(f"{spec.framework} load", False, exc.message))
        return verdict()
    checks.append(Check(f"{spec.framework} load", True, f"loads with {', '.join(model.providers)}"))
    signature = config.model.signature
    if signature is not None:
        checks += compare_tensors("inputs", signature.inputs, model.inputs)
        checks += compare_tensors("outputs", signature.outputs, model.outputs)
    holdout = ctx.holdout
    problem = feed_problem(config, model, holdout.feature_names)
    checks.append(Check("holdout columns", problem is None,
                        problem or f"{len(holdout.feature_names)} holdout features feed the model inputs"))  # fmt: skip
    result = verdict()
    result.details["format"] = spec.name
    result.details["inputs"] = [_describe(t) for t in model.inputs]
    result.details["outputs"] = [_describe(t) for t in model.outputs]
    return result


def _describe(tensor: TensorInfo) -> dict[str, object]:
    shape = ["?" if d is None or d == "" else d for d in (tensor.shape or [])]
    return {"name": tensor.name, "dtype": tensor.dtype, "shape": shape}
