"""``deploy:``: the InferenceService, its environments, canary and promotion rules, metrics sources."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from mlpipex.config.model._base import _DURATION, _Strict

__all__ = [
    "CanaryConfig",
    "CanaryMetric",
    "DeployConfig",
    "EnvironmentConfig",
    "GpuConfig",
    "LoggerConfig",
    "MonitorSourceConfig",
    "PrometheusConfig",
    "PromotionRules",
    "ReplicasConfig",
    "TrafficConfig",
    "TrafficGatewayRef",
]

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# Gateway API's own pattern for HTTPRoute.spec.hostnames (an optional leading "*." wildcard label).
_HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

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


class TrafficGatewayRef(_Strict):
    name: str = Field(pattern=_DNS_LABEL, description="The Gateway the route attaches to (its parentRef).")
    namespace: str | None = Field(
        None, pattern=_DNS_LABEL,
        description="The Gateway's namespace; none means the environment's namespace (another one must allow the "
                    "route's namespace in its listeners' allowedRoutes).",
    )  # fmt: skip
    section_name: str | None = Field(None, pattern=_DNS_LABEL, description="The Gateway listener's name, to attach to one only.")


class TrafficConfig(_Strict):
    """Standard-mode canary traffic through a Gateway API HTTPRoute that mlpipex writes (KServe v0.20.0 weights none)."""

    router: Literal["gateway-api"] = Field(
        "gateway-api",
        description=(
            "Who weights canary traffic: `gateway-api` = mlpipex server-side applies the HTTPRoute {isvc} "
            "(gateway.networking.k8s.io/v1) in the environment's namespace, one rule whose backendRefs are KServe's "
            "predictor Services with the stable's and the canary's shares."
        ),
    )
    gateway: TrafficGatewayRef = Field(description="The Gateway that serves the route.")
    hostnames: list[Annotated[str, Field(pattern=_HOSTNAME, max_length=253)]] = Field(
        default_factory=list, max_length=16,
        description="Host names the route answers (HTTPRoute spec.hostnames); none: every host the listener accepts.",
    )  # fmt: skip
    accepted_within: str = Field(
        "10s", pattern=_DURATION,
        description=(
            "How long each step waits for the gateway controller to report on the route (Accepted, ResolvedRefs). "
            "A refusal fails the step with the gateway's message; no report within this time is not a failure "
            "(the outcome says no gateway controller reported). 0s reads the status once."
        ),
    )  # fmt: skip


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
    traffic: TrafficConfig | None = Field(None, description="Overrides deploy.traffic here (another gateway or host names).")


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
        True,
        description=(
            "After each successful deploy/promote/rollback/canary step, move the registry tag REPOSITORY:<environment> "
            "to the digest now serving at 100% there (what `baseline.environment` reads) and attach a deployment record "
            "(when it began to serve) to the model; a failed move is a warning. false: leave the registry alone."
        ),
    )
    on_not_ready: Literal["hold", "rollback"] = Field(
        "hold",
        description=(
            "A step whose InferenceService is not Ready within the rollout timeout (a model its placement keeps "
            "Pending, a crash-looping server): `hold` leaves it as it is for a person to look at (the step fails, "
            "`mlpipex rollback` returns); `rollback` puts the model that served before it back at once. A first "
            "rollout has nothing to go back to and always holds."
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
    traffic: TrafficConfig | None = Field(
        None,
        description=(
            "Standard-mode canary traffic weighted by an HTTPRoute mlpipex writes (KServe v0.20.0 creates the "
            "canary's Deployment but weights no traffic); none: KServe's own routing, and a Standard-mode canary "
            "needs a KServe that weights it."
        ),
    )
    environments: list[EnvironmentConfig] = Field(default_factory=list)

    def traffic_for(self, env: EnvironmentConfig) -> TrafficConfig | None:
        """The router settings of ``env``: its own, else deploy.traffic."""
        return env.traffic or self.traffic

    @model_validator(mode="after")
    def _one_metrics_source(self) -> DeployConfig:
        if self.prometheus is not None and self.monitor is not None:
            raise ValueError("set deploy.prometheus or deploy.monitor as the canary's metrics source, not both")
        return self

    @model_validator(mode="after")
    def _router_in_standard_mode(self) -> DeployConfig:
        # Knative splits by revision itself (canaryTrafficPercent); a second router would fight it.
        for env in self.environments or []:
            if self.traffic_for(env) is not None and (env.mode or self.mode) == "Knative":
                raise ValueError(f"environment {env.name} runs mode Knative, which splits traffic by revision itself: "
                                 "deploy.traffic (the HTTPRoute router) is for mode Standard; drop it there "
                                 "(environments[].traffic) or use mode: Standard")  # fmt: skip
        if not self.environments and self.traffic is not None and self.mode == "Knative":
            raise ValueError("deploy.traffic (the HTTPRoute router) is for mode Standard; Knative splits by revision itself")
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
