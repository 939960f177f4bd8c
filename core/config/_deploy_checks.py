"""Deploy settings that a KServe deployment mode refuses or ignores, caught at `mlpipex validate`.

Each rule mirrors KServe's own behaviour (see docs/deploy.md); the tests run the
manifests these settings produce through KServe's webhook code, so a rule here
that drifted from KServe shows up there.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlpipex.config._yaml import Path_
from mlpipex.config.model import Config

Problem = tuple[Path_, str, str | None, bool]

# KServe's validator: Knative's autoscaler (KPA) scales on these only
# (inference_service_validation.go validateKPAMetrics).
KNATIVE_METRICS = ("concurrency", "rps")
# Standard mode scales with an HPA: concurrency/rps pass the webhook but give an HPA
# with no metric at all (Kubernetes then falls back to 80% CPU), so refuse them.
STANDARD_METRICS = ("cpu", "memory")
# A Service name is a DNS-1035 label (63); Standard mode's is `<service>-rev-<10 hex>-predictor`.
MAX_STANDARD_NAME = 63 - len("-rev-0123456789-predictor")


def deploy_problems(config: Config) -> Iterator[Problem]:
    deploy = config.deploy
    modes: dict[str, list[str]] = {}
    for env in deploy.environments:
        modes.setdefault(env.mode or deploy.mode, []).append(env.name)
    if not deploy.environments:
        modes[deploy.mode] = []
    for mode, names in modes.items():
        where = _where(mode, names)
        yield from _autoscaling(config, mode, where)
        # Only where something is deployed: a config used for the gates alone keeps any model name.
        if mode == "Standard" and names and len(deploy.name or config.model.name) > MAX_STANDARD_NAME:
            key = ("deploy", "name") if deploy.name else ("model", "name")
            yield (key, f"`{'.'.join(key)}: {deploy.name or config.model.name}` is longer than {MAX_STANDARD_NAME} "
                   f"characters, too long with mode Standard{where}: KServe names each predictor's Deployment and "
                   "Service `<name>-rev-<10 hex>-predictor`, and a Service name has at most 63",
                   f"set deploy.name to at most {MAX_STANDARD_NAME} characters", False)  # fmt: skip
        if mode == "Standard" and deploy.replicas.min == 0:
            yield (("deploy", "replicas", "min"), f"`deploy.replicas.min: 0` is refused with mode Standard{where}: "
                   "Standard mode scales with an HPA, which cannot scale to zero",
                   "set replicas.min >= 1, or use mode: Knative to accept cold starts", False)  # fmt: skip
    replicas = deploy.replicas
    if replicas.min > replicas.max:
        yield (("deploy", "replicas", "min"), f"deploy.replicas.min ({replicas.min}) is above replicas.max ({replicas.max})",
               "KServe refuses 'MinReplicas' greater than MaxReplicas: raise max or lower min", False)  # fmt: skip
    if deploy.protocol == "v1" and not deploy.runtime:
        yield (("deploy", "protocol"), "`deploy.protocol: v1` without `deploy.runtime`: no runtime a default KServe "
               "install ships serves onnx over v1 (kserve-tritonserver speaks v2 only)",
               "use protocol: v2, or name a runtime that speaks v1 (deploy.runtime: mlpipex-onnx, "
               "deploy/kserve/servingruntime.yaml)", False)  # fmt: skip


def _where(mode: str, names: list[str]) -> str:
    if not names:
        return ""
    return f" (environment{'s' if len(names) > 1 else ''} {', '.join(names)})"


def _autoscaling(config: Config, mode: str, where: str) -> Iterator[Problem]:
    replicas = config.deploy.replicas
    metric = replicas.metric
    if mode == "Knative" and metric is not None and metric not in KNATIVE_METRICS:
        yield (("deploy", "replicas", "metric"), f"`deploy.replicas.metric: {metric}` is refused with mode Knative{where}: "
               f"KServe's webhook admits only {' or '.join(KNATIVE_METRICS)} for Knative's autoscaler",
               "use metric: concurrency or rps, or mode: Standard for cpu/memory (HPA)", False)  # fmt: skip
    if mode == "Standard" and metric is not None and metric not in STANDARD_METRICS:
        yield (("deploy", "replicas", "metric"), f"`deploy.replicas.metric: {metric}` is refused with mode Standard{where}: "
               "Standard mode scales with an HPA on cpu or memory; KServe would create an HPA without this metric",
               "use metric: cpu or memory, or mode: Knative for concurrency/rps", False)  # fmt: skip
    if mode == "Standard" and replicas.target is not None and (metric or "cpu") == "cpu" and replicas.target > 100:
        yield (("deploy", "replicas", "target"), f"`deploy.replicas.target: {replicas.target}` with mode Standard{where}: "
               "the cpu target is a utilization percentage (1-100)",
               "give a percentage of the CPU request, e.g. target: 80", False)  # fmt: skip
