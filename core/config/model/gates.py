"""``gates:`` (each gate's settings) and ``baseline:`` (what the compare gate measures against)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from mlpipex.config.model._base import _Gate, _Strict
from mlpipex.config.model.model import ModelFormatName
from mlpipex.config.thresholds import parse_threshold

__all__ = [
    "BaselineConfig",
    "CompareConfig",
    "CompareLatencyConfig",
    "GatesConfig",
    "LatencyConfig",
    "LatencySla",
    "RegressionLimit",
    "SchemaGateConfig",
    "ServingConfig",
    "SkewConfig",
    "SmokeConfig",
    "Thresholds",
    "UnitConfig",
]

class SchemaGateConfig(_Gate):
    max_size_mb: float | None = Field(
        None, gt=0, description="Fail when the model file is larger than this."
    )


class UnitConfig(_Gate):
    command: list[str] = Field(
        default_factory=lambda: ["{python}", "-m", "pytest", "-q", "--junitxml={junit}"],
        min_length=1,
        description=(
            "Test command as an argument list (never a shell string). {python} is the "
            "interpreter running mlpipex; {junit} a JUnit XML path mlpipex reads."
        ),
    )
    junit: str | None = Field(
        None, description="JUnit XML the command writes, when the command has no {junit}."
    )
    cwd: str = Field(".", description="Working directory, relative to this config file.")
    timeout: float = Field(600, gt=0, description="Seconds before the command is stopped.")
    pass_env: list[str] = Field(
        default_factory=list,
        description=(
            "Environment variables passed to the command besides the safe defaults (PATH, HOME, "
            "LANG, TZ, TMPDIR, VIRTUAL_ENV …); nothing else reaches it, so CI tokens stay out."
        ),
    )
    env: dict[str, str] = Field(default_factory=dict, description="Variables set for the command.")

    @field_validator("command", mode="before")
    @classmethod
    def _no_shell_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                "command must be a list of arguments, not a shell string: "
                f"write [{', '.join(repr(a) for a in value.split())}]"
            )
        return value


def _threshold_text(value: Any) -> Any:
    parse_threshold(value)
    return value


Thresholds = dict[str, Annotated[str, Field(description='e.g. ">= 0.90"')]]


class SmokeConfig(_Gate):
    batch_size: int = Field(1024, gt=0, le=1_000_000, description="Rows per inference call.")
    thresholds: Thresholds = Field(
        default_factory=dict,
        description='Metric floors and ceilings, e.g. {auc: ">= 0.95", log_loss: "<= 0.2"}.',
    )

    @field_validator("thresholds", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for expr in value.values():
                _threshold_text(expr)
        return value


class LatencySla(_Strict):
    batch_size: int = Field(gt=0, le=1_000_000, description="Rows per call this SLA applies to.")
    p50: float | None = Field(None, gt=0, description="Median latency limit, ms.")
    p95: float | None = Field(None, gt=0, description="95th percentile limit, ms.")
    p99: float | None = Field(None, gt=0, description="99th percentile limit, ms.")

    @model_validator(mode="after")
    def _some_limit(self) -> LatencySla:
        if self.p50 is None and self.p95 is None and self.p99 is None:
            raise ValueError("an SLA needs at least one of p50, p95, p99 (milliseconds)")
        return self


class LatencyConfig(_Gate):
    sla: list[LatencySla] = Field(
        default_factory=lambda: [LatencySla(batch_size=1, p99=100.0)],
        min_length=1,
        description="Limits per batch size, in milliseconds.",
    )
    warmup: int = Field(20, ge=0, le=100_000, description="Untimed calls before measuring.")
    iterations: int = Field(500, gt=0, le=1_000_000, description="Timed calls per batch size (at most).")
    time_budget: float | None = Field(
        10.0, gt=0, description="Seconds per batch size; stops early when spent (min 30 calls)."
    )
    threads: int = Field(1, ge=0, description="onnxruntime intra-op threads; 0 lets it decide.")
    providers: list[str] = Field(
        default_factory=lambda: ["CPUExecutionProvider"],
        min_length=1,
        description=(
            "onnxruntime execution providers in priority order; unavailable ones are skipped. Unset, a model "
            "deployed with deploy.gpu is timed on CUDAExecutionProvider (torch: cuda) where the runner has a GPU, "
            "and the gate says when it measured on the CPU instead."
        ),
    )
    confidence: float = Field(0.95, gt=0.5, lt=1, description="Confidence level of the intervals.")
    resamples: int = Field(1000, ge=100, le=100_000, description="Bootstrap resamples per interval.")

    @field_validator("sla")
    @classmethod
    def _unique_batches(cls, value: list[LatencySla]) -> list[LatencySla]:
        sizes = [s.batch_size for s in value]
        if len(sizes) != len(set(sizes)):
            raise ValueError(f"batch sizes repeat in sla: {sizes}; give each batch size once")
        return value


_LIMIT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*$")


class RegressionLimit(_Strict):
    max_regression: float | str = Field(
        description='Largest allowed worsening: a number (absolute) or "N%" (relative to baseline).'
    )

    @field_validator("max_regression")
    @classmethod
    def _limit(cls, value: float | str) -> float | str:
        if isinstance(value, str) and not _LIMIT.match(value):
            raise ValueError(f'{value!r} is neither a number (absolute) nor "N%" (relative), e.g. "2%"')
        if isinstance(value, (int, float)) and value < 0:
            raise ValueError("max_regression cannot be negative")
        return value

    @property
    def relative(self) -> bool:
        return isinstance(self.max_regression, str)

    @property
    def amount(self) -> float:
        if isinstance(self.max_regression, str):
            match = _LIMIT.match(self.max_regression)
            assert match  # checked by the validator
            return float(match.group(1)) / 100.0
        return float(self.max_regression)


class CompareLatencyConfig(_Strict):
    enabled: bool = Field(True, description="Measure the candidate/baseline latency ratio.")
    batch_size: int = Field(1, gt=0, le=1_000_000)
    iterations: int = Field(300, gt=0, le=1_000_000, description="Interleaved call pairs (A B A B …).")
    max_ratio: float = Field(1.25, gt=0, description="Largest allowed candidate/baseline p50 ratio.")


class CompareConfig(_Gate):
    require_baseline: bool = Field(
        False, description="Fail instead of skip when there is no baseline (first deployment)."
    )
    metrics: dict[str, RegressionLimit] = Field(
        default_factory=dict, description="Regression limits per metric."
    )
    latency: CompareLatencyConfig = Field(default_factory=CompareLatencyConfig)


class SkewConfig(_Gate):
    max_abs_diff: float = Field(1e-4, ge=0, description="Largest allowed |artifact - training| score.")
    max_label_mismatch_rate: float = Field(
        0.0, ge=0, le=1, description="Largest allowed share of rows whose labels differ."
    )


class ServingConfig(_Gate):
    enabled: bool = Field(
        False, description="Run this gate (it starts KServe's model server: needs the `kserve` extra)."
    )
    batch_size: int = Field(64, gt=0, le=1_000_000, description="Rows per HTTP request.")
    max_abs_diff: float = Field(1e-6, ge=0, description="Largest allowed |served - offline| output difference.")
    startup_timeout: float = Field(60, gt=0, description="Seconds to wait for the server to be ready.")


class GatesConfig(_Strict):
    schema_: SchemaGateConfig = Field(default_factory=SchemaGateConfig, alias="schema")
    unit: UnitConfig = Field(default_factory=UnitConfig)
    smoke: SmokeConfig = Field(default_factory=SmokeConfig)
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    skew: SkewConfig = Field(default_factory=SkewConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:…: the tag or digest after the last `/`.
_BASELINE_ARTIFACT = re.compile(r"^\S+/[^\s@:]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$")


class BaselineConfig(_Strict):
    path: str | None = Field(None, description="Baseline model file, relative to this config file.")
    artifact: str | None = Field(
        None,
        description=(
            "The baseline as a model package in a registry: REGISTRY/REPOSITORY:TAG (resolved to a digest when the "
            "gate runs) or REGISTRY/REPOSITORY@sha256:…; pulled by digest into .mlpipex/baselines/. "
            "Exclusive with `path`. A tag that does not exist yet skips the compare gate "
            "(gates.compare.require_baseline fails it instead)."
        ),
    )
    environment: str | None = Field(
        None,
        description=(
            "The baseline is what serves in this deploy environment: the stable model of its live InferenceService "
            "(through its kubeconfig context), else the registry tag package.registry/package.repository:<environment> "
            "that deploy moves (deploy.environment_tags); pulled by digest. Exclusive with `path` and `artifact`."
        ),
    )
    serving: Literal["stable", "canary"] = Field(
        "stable",
        description=(
            "With `environment`: compare with the model serving at 100% there (`stable`), or with the canary being "
            "rolled out (`canary`); no canary running, or no cluster to ask (the registry tag names the stable "
            "model), compares with the stable model and says so."
        ),
    )
    format: ModelFormatName | None = Field(
        None, description="The baseline's model format, when it differs from model.format (e.g. a torchscript baseline)."
    )

    @field_validator("artifact")
    @classmethod
    def _artifact_reference(cls, value: str | None) -> str | None:
        if value is not None and not _BASELINE_ARTIFACT.match(value):
            raise ValueError(f"`{value}` is not REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST, "
                             "e.g. ghcr.io/acme/models/fraud:1.4.0")  # fmt: skip
        return value

    @model_validator(mode="after")
    def _one_source(self) -> BaselineConfig:
        if sum(v is not None for v in (self.path, self.artifact, self.environment)) > 1:
            raise ValueError("set one of baseline.path (a file), baseline.artifact (a package in a registry) or "
                             "baseline.environment (what serves there), not both")  # fmt: skip
        if "serving" in self.model_fields_set and self.environment is None:
            raise ValueError("baseline.serving chooses between an environment's stable and canary models: "
                             "set baseline.environment too, or remove baseline.serving")  # fmt: skip
        return self
