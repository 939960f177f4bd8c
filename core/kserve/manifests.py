"""InferenceService manifests, built purely from the config and a package digest.

KServe has two ways to split traffic, and this module speaks both:

- Knative mode: ``spec.predictor.canaryTrafficPercent`` sends that share to the
  latest revision and the rest to the last one that rolled out fully.
- Standard mode (KServe's default since 0.20): ``spec.canary[]`` lists
  ``{predictor, trafficPercent}`` next to the stable ``spec.predictor``.

A first rollout (no stable model yet) gets 100%, as KServe does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipex.config import Config
from mlpipex.config.model import EnvironmentConfig
from mlpipex.errors import InputError

__all__ = ["API_VERSION", "KIND", "Rollout", "build_inference_service", "predictor_spec", "service_name"]

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
ANNOTATION = "mlpipex.dev/"


@dataclass(frozen=True)
class Rollout:
    """What to deploy and who asked: everything that is not in mlpipex.yaml."""

    artifact: str  # REGISTRY/REPO@sha256:… (or :tag@sha256:…)
    canary_percent: int | None = None  # None: 100% (first rollout, or no canary)
    stable_artifact: str | None = None  # the model now serving, for Standard-mode canaries
    git_sha: str | None = None
    pull_request: int | None = None
    deployed_by: str | None = None
    # artifact -> storageUri, from mlpipex.oci.resolve_storage_uri (modelcar image or oci+fetch://);
    # an artifact not listed is sent as oci://artifact, as before.
    storage_uris: Mapping[str, str] = field(default_factory=dict)


def service_name(config: Config) -> str:
    return config.deploy.name or config.model.name


def _storage_uri(artifact: str) -> str:
    if "@sha256:" not in artifact:
        raise InputError(f"--artifact {artifact} is not pinned by digest",
                         fix="deploy REF@sha256:… as printed by `mlpipex push`; tags can move, digests cannot")  # fmt: skip
    reference = artifact.removeprefix("oci://")
    name, digest = reference.split("@", 1)
    last = name.rsplit("/", 1)
    if ":" in last[-1]:  # drop a tag: the digest is what KServe pulls
        name = name.rsplit(":", 1)[0]
    return f"oci://{name}@{digest}"


def predictor_spec(config: Config, artifact: str, storage_uri: str | None = None) -> dict[str, Any]:
    deploy = config.deploy
    model: dict[str, Any] = {
        # KServe's own container name; the CRD requires it inside spec.canary[].
        "name": "kserve-container",
        "modelFormat": {"name": "onnx"},
        "protocolVersion": deploy.protocol,
        "storageUri": storage_uri or _storage_uri(artifact),
    }
    if deploy.runtime:
        model["runtime"] = deploy.runtime
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if deploy.gpu and deploy.gpu.count:
        limits[deploy.gpu.resource] = str(deploy.gpu.count)
        requests[deploy.gpu.resource] = str(deploy.gpu.count)
    for key, value in (("cpu", deploy.cpu), ("memory", deploy.memory)):
        if value:
            limits[key] = requests[key] = value
    if limits:
        model["resources"] = {"limits": limits, "requests": requests}
    spec: dict[str, Any] = {"model": model, "minReplicas": deploy.replicas.min, "maxReplicas": deploy.replicas.max}
    if deploy.replicas.target:
        spec["scaleTarget"] = deploy.replicas.target
    if deploy.replicas.metric:
        spec["scaleMetric"] = deploy.replicas.metric
    if deploy.node_selector:
        spec["nodeSelector"] = dict(deploy.node_selector)
    if deploy.tolerations:
        spec["tolerations"] = copy.deepcopy(deploy.tolerations)
    if deploy.affinity:
        spec["affinity"] = copy.deepcopy(deploy.affinity)
    if deploy.logger:
        spec["logger"] = {"mode": deploy.logger.mode, "url": deploy.logger.url}
    return spec


def build_inference_service(config: Config, environment: EnvironmentConfig, rollout: Rollout) -> dict[str, Any]:
    mode = environment.mode or config.deploy.mode
    if mode == "Standard" and config.deploy.replicas.min == 0:
        raise InputError("deploy.replicas.min is 0, but Standard mode cannot scale to zero",
                         fix="use mode: Knative to accept cold starts, or set replicas.min >= 1")  # fmt: skip
    percent = rollout.canary_percent
    if percent is not None and not 0 < percent <= 100:
        raise InputError(f"canary percent {percent} is outside 1..100")
    annotations = {
        "serving.kserve.io/deploymentMode": "Knative" if mode == "Knative" else "Standard",
        f"{ANNOTATION}artifact": rollout.artifact,
        f"{ANNOTATION}model-version": config.model.version,
        f"{ANNOTATION}environment": environment.name,
    }
    for key, value in (("git-sha", rollout.git_sha), ("pull-request", rollout.pull_request),
                       ("deployed-by", rollout.deployed_by)):  # fmt: skip
        if value is not None:
            annotations[f"{ANNOTATION}{key}"] = str(value)
    service: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": service_name(config),
            "namespace": environment.namespace,
            "labels": {"app.kubernetes.io/managed-by": "mlpipex", "mlpipex.dev/model": config.model.name},
            "annotations": annotations,
        },
    }
    candidate = predictor_spec(config, rollout.artifact, rollout.storage_uris.get(rollout.artifact))
    canary = percent is not None and percent < 100
    if mode == "Knative":
        if canary:
            candidate["canaryTrafficPercent"] = percent
        service["spec"] = {"predictor": candidate}
    elif canary:
        if not rollout.stable_artifact:
            raise InputError("a Standard-mode canary needs the stable model next to it, and none is recorded",
                             fix="deploy at 100% first (a first rollout always gets 100%)")  # fmt: skip
        service["spec"] = {
            "predictor": predictor_spec(config, rollout.stable_artifact, rollout.storage_uris.get(rollout.stable_artifact)),
            "canary": [{"predictor": candidate, "trafficPercent": percent}],
        }
    else:
        service["spec"] = {"predictor": candidate}
    return service
