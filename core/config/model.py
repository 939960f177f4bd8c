"""The schema of mlpipex.yaml, as pydantic models.

Every model forbids unknown keys, so a typo is an error, not a silently ignored
setting. Field descriptions become the JSON Schema's descriptions (`mlpipex
schema`), which editors show on hover. Semantic checks that need several fields
(metric names against the task, files on disk) live in ``_checks.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from mlpipex.config.durations import DURATION
from mlpipex.config.thresholds import parse_threshold

__all__ = [
    "API_VERSION",
    "BaselineConfig",
    "CompareConfig",
    "CompareLatencyConfig",
    "Config",
    "DataConfig",
    "DeployConfig",
    "GatesConfig",
    "LatencyConfig",
    "LatencySla",
    "ModelConfig",
    "MonitorAlertsConfig",
    "MonitorQualityConfig",
    "MonitoringConfig",
    "PackageConfig",
    "RegressionLimit",
    "RetrainingConfig",
    "SchemaGateConfig",
    "SignatureConfig",
    "SkewConfig",
    "SmokeConfig",
    "TensorSpec",
    "UnitConfig",
]

API_VERSION = "mlpipex/v1"

DTYPES = (
    "float16", "float32", "float64", "bfloat16",
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "bool", "string",
)  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Gate(_Strict):
    enabled: bool = Field(True, description="Run this gate.")

    @model_validator(mode="before")
    @classmethod
    def _bool_shorthand(cls, value: Any) -> Any:
        # `latency: false` is the natural way to turn a gate off.
        if isinstance(value, bool):
            return {"enabled": value}
        return value


# --- model ---------------------------------------------------------------------------


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


# --- data ----------------------------------------------------------------------------


class DataConfig(_Strict):
    holdout: str = Field(description="Holdout set, CSV or Parquet, relative to this config file.")
    label: str = Field(description="Column holding the true label or target.")
    features: list[str] | None = Field(
        None,
        description="Feature columns in model input order; default: every other column.",
    )
    prediction_column: str | None = Field(
        None, description="Column with the label the training pipeline predicted (skew gate)."
    )
    score_column: str | None = Field(
        None,
        description=(
            "Column with the training pipeline's score: positive-class probability for "
            "binary classification, the prediction for regression (skew gate)."
        ),
    )
    positive_label: int | str | None = Field(
        None, description="Positive class for binary metrics; default the larger label."
    )
    training: str | None = Field(
        None,
        description=(
            "Training set (or a representative sample), CSV or Parquet: the reference "
            "profile that monitoring and input validation compare against is built from it."
        ),
    )
    categorical: list[str] = Field(
        default_factory=list,
        description="Features to treat as categorical (frequencies, PSI); the rest are continuous.",
    )


# --- gates ---------------------------------------------------------------------------


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
        return self


# --- reserved for later parts: filled by the packaging, deploy and monitoring work ----


class ModelcarConfig(_Strict):
    base: str = Field(
        pattern=r"^[^\s@]+@sha256:[0-9a-f]{64}$",
        description=(
            "Base image of the modelcar image (KServe's bare oci:// runs it with `sh -c`: it needs a shell), "
            "pinned by digest, e.g. docker.io/library/busybox@sha256:…; the model layer goes on top, under /models."
        ),
    )
    platform: str = Field("linux/amd64", pattern=r"^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$",
                          description="Platform picked when the base is a multi-platform index.")  # fmt: skip


class PackageConfig(_Strict):
    registry: str | None = Field(None, description="OCI registry host, e.g. ghcr.io.")
    repository: str | None = Field(None, description="Repository in the registry, e.g. org/models/fraud.")
    requirements: str | None = Field(None, description="Lock or requirements file of the serving environment.")
    include: list[str] = Field(default_factory=list, description="Extra files to ship with the model (under models/).")
    compression: Literal["gzip", "none"] = Field(
        "gzip",
        description="Model layer compression; `none` packs and unpacks large, incompressible weights faster.",
    )
    modelcar: ModelcarConfig | None = Field(
        None, description="Also build the package as a modelcar image (what KServe loads for a bare oci:// URI)."
    )


_DURATION = DURATION  # mlpipex.config.durations: the format and its parser


class CanaryMetric(_Strict):
    name: str = Field(description="Metric the metrics source offers, e.g. latency_p95, error_rate, confidence_mean.")
    direction: Literal["lower", "higher"] = Field("lower", description="Which way is better.")
    margin: float = Field(0.1, ge=0, description="Tolerated relative worsening of the canary's median (0.1 = 10%).")
    query: str | None = Field(
        None,
        description=(
            "PromQL for this metric when deploy.prometheus is set; $namespace, $service and $role "
            "(canary or stable) are filled in. Each point of the series over the step's interval is a sample."
        ),
    )


class CanaryConfig(_Strict):
    steps: list[int] = Field(default_factory=lambda: [10, 25, 50, 100], min_length=1,
                             description="Canary traffic percentages, in order; the last must be 100.")  # fmt: skip
    interval: str = Field("5m", pattern=_DURATION, description="Time at each step before it is judged.")
    metrics: list[CanaryMetric] = Field(
        default_factory=lambda: [CanaryMetric(name="latency_p95"), CanaryMetric(name="error_rate", margin=0.0)],
        description="What is compared between canary and stable.",
    )
    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of the Mann–Whitney U test.")
    min_samples: int = Field(50, gt=0, description="Below this many samples per side, hold instead of judging.")
    max_failures: int = Field(0, ge=0, description="Failed judgements tolerated before rolling back.")

    @field_validator("steps")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(not 0 < v <= 100 for v in value) or value != sorted(set(value)) or value[-1] != 100:
            raise ValueError(f"steps must rise strictly within 1..100 and end at 100, got {value}")
        return value


class PromotionRules(_Strict):
    after: str | None = Field(None, description="Environment that must run the same digest first.")
    healthy_for: str = Field("0s", pattern=_DURATION, description="How long it must have run there, Ready.")
    approvals: int = Field(0, ge=0, description="Approving reviews the pull request needs.")


class EnvironmentConfig(_Strict):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    context: str | None = Field(None, description="kubeconfig context; none means in-cluster.")
    namespace: str = Field("default", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    auto_deploy: bool = Field(False, description="Deploy on merge (the first environment usually does).")
    canary: CanaryConfig | None = Field(None, description="Roll out in canary steps; none means 100% at once.")
    rules: PromotionRules = Field(default_factory=PromotionRules)
    mode: Literal["Standard", "Knative"] | None = Field(None, description="Overrides deploy.mode here.")


class GpuConfig(_Strict):
    count: int = Field(1, ge=0, description="GPUs per replica (0 for CPU-only).")
    resource: str = Field("nvidia.com/gpu", description="Extended resource name, e.g. amd.com/gpu.")


class ReplicasConfig(_Strict):
    min: int = Field(1, ge=0, description="0 allows scale to zero (Knative only: cold starts).")
    max: int = Field(3, ge=1)
    target: int | None = Field(None, gt=0, description="Autoscaling target (scaleTarget).")
    metric: Literal["concurrency", "rps", "cpu", "memory"] | None = Field(None, description="scaleMetric.")


class LoggerConfig(_Strict):
    url: str = Field(description="Where KServe's payload logger sends CloudEvents (the mlpipex monitor).")
    mode: Literal["all", "request", "response"] = "all"


class PrometheusConfig(_Strict):
    url: str = Field(description="Prometheus base URL, e.g. http://prometheus.monitoring.svc:9090.")
    step_seconds: float = Field(15.0, gt=0, description="Resolution of the range queries (one sample per step).")
    timeout: float = Field(10.0, gt=0, description="Seconds before a query is given up.")


class MonitorSourceConfig(_Strict):
    url: str = Field(description="Base URL of `mlpipex monitor serve`, e.g. http://mlpipex-monitor.monitoring.svc:8090.")
    timeout: float = Field(10.0, gt=0, description="Seconds before a samples request is given up.")


class DeployConfig(_Strict):
    mode: Literal["Standard", "Knative"] = Field("Standard", description="KServe deployment mode.")
    name: str | None = Field(None, description="InferenceService name; default model.name.")
    runtime: str | None = Field(None, description="ServingRuntime name; none lets KServe pick one for onnx.")
    protocol: Literal["v1", "v2"] = Field("v2", description="Inference protocol version.")
    storage: Literal["modelcar", "fetch"] = Field(
        "modelcar",
        description=(
            "How KServe loads the package: `modelcar` (oci://…@<image digest>, KServe v0.20.0's default) or "
            "`fetch` (oci+fetch://…@<artifact digest>, the storage initializer; KServe master only)."
        ),
    )
    environment_tags: bool = Field(
        False,
        description=(
            "After each successful deploy/promote/rollback/canary step, move the registry tag REPOSITORY:<environment> "
            "to the digest now serving at 100% there (what `baseline.environment` reads); a failed move is a warning."
        ),
    )
    gpu: GpuConfig | None = Field(None, description="GPU resources; none for CPU-only serving.")
    cpu: str | None = Field(None, description="CPU request and limit, e.g. '2'.")
    memory: str | None = Field(None, description="Memory request and limit, e.g. 4Gi.")
    node_selector: dict[str, str] = Field(default_factory=dict, description="Node labels of the GPU pool.")
    tolerations: list[dict[str, Any]] = Field(default_factory=list, description="Kubernetes tolerations.")
    affinity: dict[str, Any] | None = Field(None, description="Kubernetes affinity, as in a pod spec.")
    replicas: ReplicasConfig = Field(default_factory=ReplicasConfig)
    logger: LoggerConfig | None = Field(None, description="Payload logging to the monitor.")
    service_account: str | None = Field(
        None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        description="ServiceAccount the predictor pods run as (its imagePullSecrets and registry credentials apply).",
    )  # fmt: skip
    image_pull_secrets: list[Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]] = Field(
        default_factory=list,
        description="Secrets (kubernetes.io/dockerconfigjson) for a private registry: the pods' imagePullSecrets.",
    )
    prometheus: PrometheusConfig | None = Field(None, description="Metrics source of the canary analysis.")
    monitor: MonitorSourceConfig | None = Field(
        None, description="Metrics source of the canary analysis: the mlpipex monitor's per-revision samples (instead of prometheus)."
    )
    environments: list[EnvironmentConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_metrics_source(self) -> DeployConfig:
        if self.prometheus is not None and self.monitor is not None:
            raise ValueError("set deploy.prometheus or deploy.monitor as the canary's metrics source, not both")
        return self

    @field_validator("environments")
    @classmethod
    def _unique_names(cls, value: list[EnvironmentConfig]) -> list[EnvironmentConfig]:
        names = [e.name for e in value]
        if len(names) != len(set(names)):
            raise ValueError(f"environment names repeat: {names}")
        for env in value:
            if env.rules.after and env.rules.after not in names:
                raise ValueError(f"environment {env.name}: rules.after names unknown environment `{env.rules.after}`")
        return value


class MonitorAlertsConfig(_Strict):
    url: str | None = Field(None, description="Webhook the monitor POSTs alerts to, e.g. the App's https://…/alerts/drift.")
    token_env: str = Field("MLPIPEX_ALERT_TOKEN", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                           description="Environment variable holding the bearer token sent with each alert.")  # fmt: skip
    fire_after: int = Field(2, ge=1, description="Consecutive drifted checks before an alert fires.")
    resolve_after: int = Field(2, ge=1, description="Consecutive clean checks before a firing alert resolves (and may fire again).")


class MonitorQualityConfig(_Strict):
    max_drop: float = Field(0.05, ge=0, description="Tolerated drop of accuracy (absolute) or rise of MAE (relative) against the package's metrics.")
    alpha: float = Field(0.01, gt=0, lt=1, description="Significance level of the one-sided test of a quality drop.")
    min_labels: int = Field(100, gt=0, description="Labelled predictions needed before quality is judged.")


class MonitoringConfig(_Strict):
    """How drift is tested (``mlpipex drift`` and the monitor); see mlpipex.drift."""

    schedule: str | None = Field(None, pattern=_DURATION, description="How often drift is tested, e.g. 15m (default 15m).")
    alpha: float = Field(
        0.05, gt=0, lt=1,
        description="Significance level of the KS test per feature, after the multiple-testing correction.",
    )
    correction: Literal["bh", "bonferroni", "none"] = Field(
        "bh",
        description="Multiple-testing correction across features: bh (Benjamini-Hochberg, false "
        "discovery rate), bonferroni (family-wise error) or none.",
    )
    psi_warn: float = Field(0.1, gt=0, description="PSI at or above this is reported as a warning.")
    psi_alert: float = Field(0.25, gt=0, description="PSI at or above this counts as drift.")
    min_samples: int = Field(
        100, ge=1,
        description="Fewer non-null values than this (reference or current) and a feature gets no verdict.",
    )
    continuous_psi: bool = Field(
        False, description="Test continuous features by binned PSI instead of Kolmogorov-Smirnov."
    )
    bins: int = Field(
        10, ge=2, le=1000, description="Bins of the continuous PSI, cut at reference quantiles (10: deciles)."
    )
    psi_threshold: float | None = Field(
        None, gt=0, description="Deprecated: the old name of psi_alert (used when psi_alert is not set)."
    )
    reference: str | None = Field(
        None,
        description=(
            "The model's reference: a profile JSON file, a pulled package directory, or an OCI reference "
            "(REF@sha256:…); default the package model.name:model.version in the local store (.mlpipex/oci)."
        ),
    )
    repository: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                                   description="owner/name of the model's repository (where the App opens retraining PRs).")  # fmt: skip
    environment: str = Field("production", description="Environment named in alerts.")
    window: int = Field(10_000, ge=100, le=10_000_000, description="Recent rows kept per model revision for drift and percentiles.")
    join_timeout: str = Field("60s", pattern=_DURATION,
                              description="How long a request waits for its response event before it counts as failed.")  # fmt: skip
    alerts: MonitorAlertsConfig = Field(default_factory=MonitorAlertsConfig)
    quality: MonitorQualityConfig = Field(default_factory=MonitorQualityConfig)

    @model_validator(mode="after")
    def _psi_order(self) -> MonitoringConfig:
        if self.psi_threshold is not None and "psi_alert" not in self.model_fields_set:
            object.__setattr__(self, "psi_alert", self.psi_threshold)
        if self.psi_warn > self.psi_alert:
            raise ValueError(f"psi_warn ({self.psi_warn}) must not exceed psi_alert ({self.psi_alert})")
        return self


class RetrainingConfig(_Strict):
    schedule: str | None = Field(None, description="When the App opens a retraining pull request on its own: a "
                                 "five-field cron expression in UTC, e.g. `0 6 * * 1` (Mondays 06:00).")  # fmt: skip
    labels: list[str] = Field(default_factory=lambda: ["retraining"],
                              description="Labels on retraining pull requests.")  # fmt: skip

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from mlpipex.config.cron import parse_cron

            parse_cron(value)
        return value


# ChatOps: who may run which pull-request command. Read from the base branch, never the PR.
# A git branch name (`git check-ref-format --branch`, minus its rarely used corners);
# ChatOpsConfig._branch_names refuses what a pattern without look-around cannot.
BranchName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$",
                                  description="a branch name, e.g. release/2.x")]  # fmt: skip
ChatOpsCommand = Literal["promote", "rollback", "canary", "status", "retrain", "lock", "unlock"]
Permission = Literal["read", "triage", "write", "maintain", "admin"]


class ChatOpsConfig(_Strict):
    prefix: str = Field("/", min_length=1, max_length=20, pattern=r"^\S+$",
                        description="What starts a command in a comment (no spaces): `/` gives `/promote`, `!` gives `!promote`.")  # fmt: skip
    permissions: dict[ChatOpsCommand, Permission] = Field(
        default_factory=dict,
        description="Repository permission a command needs (default: write; status needs read), e.g. {promote: maintain}.",
    )
    teams: dict[ChatOpsCommand, list[str]] = Field(
        default_factory=dict,
        description="Members of these teams (`org/team-slug`) may also run the command, whatever their permission.",
    )
    require_approvals: int = Field(0, ge=0, description="Approving reviews the pull request needs before `/promote`.")
    require_green_gates: bool = Field(True, description="`/promote` only when the model's gate check run passed.")
    protected_branches: list[BranchName] = Field(
        default_factory=list, max_length=50,
        description="Read from the default branch only: branches (exact names) whose own mlpipex.yaml decides for pull "
                    "requests based on them. A pull request based on any other branch may run read-only commands "
                    "(/status, /help) and its merge deploys nothing.",
    )  # fmt: skip
    promote_without_pull: bool = Field(
        False, description="Allow `/promote` where there is no pull request (an issue, the Promote button of a check run "
                           "GitHub lists with no pull request, as for forks): approvals and gates cannot be checked there.",
    )  # fmt: skip

    @field_validator("protected_branches")
    @classmethod
    def _branch_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if ".." in name or "//" in name or name.endswith(("/", ".", ".lock")):
                raise ValueError(f"{name!r} is not a branch name git allows (no '..', '//', or trailing '/', '.', '.lock')")
        return value


# --- the file ------------------------------------------------------------------------


class Config(_Strict):
    """mlpipex.yaml."""

    api_version: Literal["mlpipex/v1"] = Field(alias="apiVersion", description="Schema version.")
    model: ModelConfig
    data: DataConfig
    gates: GatesConfig = Field(default_factory=GatesConfig)
    baseline: BaselineConfig = Field(default_factory=BaselineConfig)
    package: PackageConfig = Field(default_factory=PackageConfig)
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    retraining: RetrainingConfig = Field(default_factory=RetrainingConfig)
    chatops: ChatOpsConfig = Field(default_factory=ChatOpsConfig)

    _source: Path = PrivateAttr(default_factory=lambda: Path("mlpipex.yaml"))
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    def line_of(self, *path: str | int) -> int | None:
        """The line a key sits on in the file (for annotations), or its nearest parent's."""
        for depth in range(len(path), 0, -1):
            if path[:depth] in self._lines:
                return self._lines[path[:depth]]
        return None

    @property
    def source(self) -> Path:
        """The file this configuration was read from."""
        return self._source

    def resolve(self, relative: str) -> Path:
        """A path from the file, made absolute against the file's directory."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else (self._source.parent / path).resolve()

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        title="mlpipex.yaml",
        json_schema_extra={"$id": "https://mlpipex.dev/schema/mlpipex.schema.json"},
    )
