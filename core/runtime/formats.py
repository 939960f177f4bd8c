"""Which adapter runs which ``model.format``, and what each format means for packaging and KServe.

One table, so the gates, the package builder, the manifests and ``mlpipex serve``
agree on a format: its adapter, the extra that installs its framework, the file
name KServe's runtime for it reads, the ``modelFormat`` the InferenceService names.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipex.errors import InputError, Location
from mlpipex.runtime.base import ModelRuntime, Signature, TensorInfo

__all__ = ["FORMATS", "ModelFormat", "framework_version", "load_model", "model_format", "read_signature"]


@dataclass(frozen=True)
class ModelFormat:
    name: str  # model.format in mlpipex.yaml
    adapter: str  # "module:Class" under mlpipex.runtime
    framework: str  # the module whose version the report records
    extra: str | None  # `pip install 'mlpipex[extra]'`; None: in the base install
    kserve_format: str  # modelFormat.name of the InferenceService
    package_file: str  # the file name KServe's runtime looks for
    triton_backend: str | None = None  # a Triton model repository (<name>/1/<file> + config.pbtxt), or flat
    pickle: bool = False  # loading it runs code: only from the repository or a digest-pinned package
    # A flat layout's KServe server takes every top-level file with these suffixes for the model, and
    # refuses more than one (sklearnserver, xgbserver, lgbserver: model.py, load()).
    kserve_suffixes: tuple[str, ...] = ()
    description: str = ""
    title: str = ""  # what a valid file is, in the schema gate's words


FORMATS: dict[str, ModelFormat] = {
    f.name: f
    for f in (
        ModelFormat("onnx", "model:OnnxModel", "onnxruntime", None, "onnx", "model.onnx", "onnxruntime",
                    title="ONNX", description="ONNX, run by onnxruntime; served by Triton (modelFormat onnx)"),
        ModelFormat("sklearn", "native:SklearnModel", "sklearn", "sklearn", "sklearn", "model.joblib",
                    pickle=True, kserve_suffixes=(".joblib", ".pkl", ".pickle"), title="scikit-learn model", description="scikit-learn estimator saved with joblib; KServe's sklearn server"),
        # KServe's xgbserver and lgbserver read a single *.bst file at the top of the model directory
        # (lgbserver reads no *.txt): the package names the file model.bst, its bytes unchanged.
        ModelFormat("xgboost", "native:XgboostModel", "xgboost", "xgboost", "xgboost", "model.bst",
                    kserve_suffixes=(".bst", ".json", ".ubj"),
                    title="XGBoost booster", description="XGBoost Booster (save_model: .json, .ubj or .bst); KServe's xgboost server"),
        ModelFormat("lightgbm", "native:LightgbmModel", "lightgbm", "lightgbm", "lightgbm", "model.bst",
                    kserve_suffixes=(".bst",),
                    title="LightGBM booster", description="LightGBM Booster (save_model text file); KServe's lightgbm server"),
        ModelFormat("torchscript", "torch_model:TorchScriptModel", "torch", "torch", "pytorch", "model.pt",
                    "pytorch", pickle=True, title="TorchScript module",
                    description="TorchScript (torch.jit.save); served by Triton's PyTorch backend (modelFormat pytorch)"),
        ModelFormat("savedmodel", "savedmodel:SavedModelModel", "tensorflow", "tensorflow", "tensorflow",
                    "model.savedmodel", "tensorflow", title="TensorFlow SavedModel",
                    description="TensorFlow SavedModel directory (serving_default); served by Triton's TensorFlow "
                                "backend (modelFormat tensorflow)"),
        ModelFormat("pt2", "torch_model:ExportedProgramModel", "torch", "torch", "pytorch", "model.pt2",
                    pickle=True, title="torch.export program",
                    description="torch.export program (torch.export.save); no KServe runtime reads it: "
                                "deploy it with deploy.runtime set to the mlpipex ServingRuntime"),
    )
}  # fmt: skip


def model_format(name: str) -> ModelFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise InputError(f"unknown model format `{name}`", fix=f"use one of {', '.join(FORMATS)}") from None


def load_model(
    path: Path, fmt: str = "onnx", *, threads: int = 1, providers: Sequence[str] = (), trusted_root: Path | None = None,
    declared: Mapping[str, Any] | None = None,
) -> ModelRuntime:  # fmt: skip
    """Load ``path`` with its format's adapter.

    A format whose loading runs code (a pickle) is loaded only from inside
    ``trusted_root`` (the repository whose config names it, or a package pulled by
    digest): a path that resolves elsewhere, a symlink out included, is refused.
    ``declared`` (``model.signature`` as a mapping) fills in what a format does not
    record, such as a TorchScript module's dtypes and shapes.
    """
    spec = model_format(fmt)
    if spec.pickle:
        _inside_trusted_root(path, trusted_root, spec)
    module_name, _, class_name = spec.adapter.partition(":")
    module = importlib.import_module(f"mlpipex.runtime.{module_name}")
    model: ModelRuntime = getattr(module, class_name)(path, threads=threads, providers=providers)
    declare = getattr(model, "declare", None)
    if declared and declare is not None:
        declare(_tensors(declared.get("inputs") or []), _tensors(declared.get("outputs") or []))
    return model


def _tensors(specs: Sequence[Mapping[str, Any]]) -> list[TensorInfo]:
    return [TensorInfo(str(s["name"]), str(s.get("dtype") or "float32"),
                       None if s.get("shape") is None else tuple(s["shape"])) for s in specs]  # fmt: skip


def read_signature(path: Path, fmt: str = "onnx", *, trusted_root: Path | None = None) -> Signature:
    """The inputs and outputs the artifact records (or its format defines), without a holdout.

    Public for ``mlpipex init`` and other tools that write a ``model.signature``; a
    pickled format needs ``trusted_root`` as for :func:`load_model`.
    """
    return load_model(path, fmt, trusted_root=trusted_root).signature()


def framework_version(fmt: str) -> str | None:
    """The installed version of the framework that runs ``fmt``, for the report's environment."""
    try:
        module = importlib.import_module(model_format(fmt).framework)
    except ImportError:
        return None
    return str(getattr(module, "__version__", "")) or None


def _inside_trusted_root(path: Path, root: Path | None, spec: ModelFormat) -> None:
    if root is None:
        raise InputError(f"a {spec.name} model is a pickle, and loading it runs its code: refusing {path} "
                         "without a trusted root", location=Location(str(path)))  # fmt: skip
    resolved, base = path.resolve(), root.resolve()
    if not resolved.is_relative_to(base):
        raise InputError(
            f"{path} resolves to {resolved}, outside {base}: a {spec.name} model is a pickle, and loading one "
            "runs its code, so mlpipex loads it only from the repository or from a package pinned by digest",
            location=Location(str(path)),
            fix="commit the model file into the repository next to mlpipex.yaml, or serve a REF@sha256:… package",
        )
