"""``model:``: the model file, its format and task, its declared signature."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from mlpipex.config.model._base import _Strict

__all__ = [
    "DTYPES",
    "ModelConfig",
    "ModelFormatName",
    "OutputRoles",
    "SignatureConfig",
    "TensorSpec",
]

DTYPES = (
    "float16", "float32", "float64", "bfloat16",
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "bool", "string",
)  # fmt: skip




class TensorSpec(_Strict):
    name: str = Field(description="Tensor name in the ONNX graph.")
    dtype: Literal[DTYPES] = Field(description="Element type, e.g. float32.")  # type: ignore[valid-type]
    shape: list[int | str | None] | None = Field(
        None,
        description="Dimensions; a string is a symbolic dimension (e.g. batch) that matches any size.",
    )


class SignatureConfig(_Strict):
    inputs: list[TensorSpec] = Field(description="Expected graph inputs, in order.")
    outputs: list[TensorSpec] = Field(description="Expected graph outputs, in order.")


class OutputRoles(_Strict):
    label: str | None = Field(None, description="Output holding predicted labels.")
    probabilities: str | None = Field(
        None, description="Output holding class probabilities [batch, classes]."
    )
    value: str | None = Field(None, description="Output holding regression predictions.")


# model.format values: mlpipex.runtime.FORMATS has one adapter for each.
ModelFormatName = Literal["onnx", "sklearn", "xgboost", "lightgbm", "torchscript", "pt2", "savedmodel"]


class ModelConfig(_Strict):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63,
                      description="Model name (DNS label: lowercase letters, digits, dashes).")  # fmt: skip
    version: str = Field(description="Model version, e.g. 1.4.0.")
    path: str = Field(description="Path of the model file, relative to this config file.")
    format: ModelFormatName = Field(
        "onnx",
        description=(
            "Model format, which picks the runtime: onnx (onnxruntime), sklearn (joblib), xgboost, lightgbm, "
            "torchscript, pt2 (torch.export), savedmodel (a TensorFlow SavedModel directory). Formats other than onnx need their extra: pip install 'mlpipex[FORMAT]' "
            "(torchscript and pt2: 'mlpipex[torch]'; savedmodel: 'mlpipex[tensorflow]'). A sklearn or torch file is a pickle (loading it runs code): "
            "it is loaded only from inside this repository or from a package pinned by digest."
        ),
    )
    task: Literal["classification", "regression"] = Field(
        "classification", description="What the model predicts; selects the metrics."
    )
    signature: SignatureConfig | None = Field(
        None, description="Declared inputs and outputs; checked against the graph by the schema gate."
    )
    outputs: OutputRoles = Field(
        default_factory=OutputRoles,
        description="Which graph output is which; inferred from dtypes and shapes when omitted.",
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # The loader passes the scalar's own text (`1.10`, not YAML's float 1.1); a
        # float here came from elsewhere and may already have lost digits.
        if isinstance(value, float):
            raise ValueError(f'the version {value!r} is a number, and 1.10 would read as 1.1: quote it, e.g. "{value}"')
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value
