"""InferenceService manifests, built purely from the config and a package digest.

KServe has two ways to split traffic, and this module speaks both:

- Knative mode: ``spec.predictor.canaryTrafficPercent`` sends that share to the
  latest revision and the rest to the last one that rolled out fully.
- Standard mode (KServe 0.20+): ``spec.canary[]`` lists ``{predictor, trafficPercent}``
  next to the stable ``spec.predictor``. Each predictor there is named after its
  model's digest (``predictor_name``): KServe requires a canary name, and promotes
  without a restart when ``spec.predictor.name`` takes the canary's name as the
  entry is dropped, which is what a full promotion here builds.

A first rollout (no stable model yet) gets 100%, as KServe does.

What KServe's webhooks admit (checked in the tests by KServe's own code): no
``model.name`` on the stable predictor; a canary carries only its name, model and logger (the
controller merges it over the stable predictor and gives it fixed replicas, so no
maxReplicas, scaleTarget, scaleMetric or autoScaling); ``protocolVersion`` is always
set, since ``modelFormat: onnx`` gets no default and only a v2 runtime serves it. The
``modelFormat`` follows ``model.format`` (``sklearn``, ``xgboost``, ``lightgbm``,
``pytorch`` for TorchScript), and the package lays the file out as that runtime reads it.

The payload logger (``deploy.logger``): every predictor written here, the stable one and
each canary entry, gets its own ``logger.url`` with ``?revision=<predictor_name>`` added.
KServe v0.20.0's agent cannot tell its pods apart (it is given ``--source-uri`` before a
ReplicaSet's pod has a name, and ``--endpoint`` from a label Standard mode never sets), so
the URL is what tells the monitor which model an event came from. A canary would otherwise
inherit the stable's URL through the controller's merge; the name travels with the model
through a zero-restart promotion, and a rollback writes the rolled-back model's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlpipex.config import Config
from mlpipex.config.model import EnvironmentConfig
from mlpipex.errors import InputError

__all__ = [
    "API_VERSION",
    "KIND",
    "Rollout",
    "build_inference_service",
    "canary_predictor_spec",
    "logged_revisions",
    "logger_url",
    "predictor_name",
    "predictor_spec",
    "service_name",
    "with_storage_uris",
]

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


def service_name(config: Config) -> str:
    return config.deploy.name or config.model.name


StorageUri = Callable[[str], str]


def _storage_uri(artifact: str) -> str:
    """``oci://REPO@DIGEST``: the default scheme (a modelcar on a default KServe install)."""
    if "@sha256:" not in artifact:
        raise InputError(f"--artifact {artifact} is not pinned by digest",
                         fix="deploy REF@sha256:… as printed by `mlpipex push`; tags can move, digests cannot")  # fmt: skip
    reference = artifact.removeprefix("oci://")
    name, digest = reference.split("@", 1)
    last = name.rsplit("/", 1)
    if ":" in last[-1]:  # drop a tag: the digest is what KServe pulls
        name = name.rsplit(":", 1)[0]
    return f"oci://{name}@{digest}"


def predictor_name(artifact: str) -> str:
    """The Standard-mode predictor name of a model: ``rev-`` and 10 hex digits of its digest.

    Stable across steps (the same model keeps its Deployment ``{service}-{name}-predictor``),
    a valid DNS label, and short, so the Deployment's name stays within 63 characters.
    """
    digest = _storage_uri(artifact).rsplit("@sha256:", 1)[1]
    return f"rev-{digest[:10]}"


def logger_url(url: str, artifact: str) -> str:
    """``url`` with ``revision=<predictor_name(artifact)>`` in its query, replacing one it had.

    The rest is kept as written (the token in the user info, the path, other parameters), so
    the monitor authenticates the logger as before.
    """
    base, hash_, fragment = url.partition("#")
    base, _, query = base.partition("?")
    if "://" in base and "/" not in base.split("://", 1)[1]:
        base += "/"  # http://host?q is sent as `POST /?q` by Go, but is no request line for every client
    kept = [part for part in query.split("&") if part and part.partition("=")[0] != "revision"]
    return f"{base}?{'&'.join([*kept, f'revision={predictor_name(artifact)}'])}{hash_}{fragment}"


def logged_revisions(config: Config, artifact: str | None, stable_artifact: str | None) -> dict[str, str] | None:
    """The names the canary's and the stable's loggers mark their events with (``logger_url``);
    None when mlpipex writes no logger (the metrics source then picks windows by its own rules)."""
    if config.deploy.logger is None or not artifact or not stable_artifact:
        return None
    return {"canary": predictor_name(artifact), "stable": predictor_name(stable_artifact)}


def _logger(config: Config, artifact: str) -> dict[str, Any]:
    assert config.deploy.logger is not None
    return {"mode": config.deploy.logger.mode, "url": logger_url(config.deploy.logger.url, artifact)}


def _model(config: Config, artifact: str, storage_uri: StorageUri) -> dict[str, Any]:
    deploy = config.deploy
    _storage_uri(artifact)  # refuses an artifact not pinned by digest, whatever the scheme
    model: dict[str, Any] = {
        # No `name`: KServe's webhook refuses any container name on the stable predictor's model.
        # The format KServe picks a runtime by: Triton for onnx/pytorch, KServe's own servers
        # for sklearn/xgboost/lightgbm (each serves v1 and v2).
        "modelFormat": {"name": _kserve_format(config)},
        "protocolVersion": deploy.protocol,
        "storageUri": storage_uri(artifact),
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
    return model


def _kserve_format(config: Config) -> str:
    from mlpipex.runtime.formats import model_format  # the format table only: no framework import

    if config.model.format == "pt2" and not config.deploy.runtime:
        # KServe's pytorch runtimes (Triton, TorchServe) read TorchScript or .mar archives, not torch.export programs
        raise InputError("no KServe runtime serves a torch.export program (model.format pt2) by itself",
                         fix="set deploy.runtime to a ServingRuntime that runs `mlpipex serve`, or export TorchScript")  # fmt: skip
    return model_format(config.model.format).kserve_format


def predictor_spec(config: Config, artifact: str, storage_uri: StorageUri = _storage_uri) -> dict[str, Any]:
    """The stable predictor: the model, its placement, autoscaling, logger and pod identity."""
    deploy = config.deploy
    spec: dict[str, Any] = {"model": _model(config, artifact, storage_uri), "minReplicas": deploy.replicas.min,
                            "maxReplicas": deploy.replicas.max}  # fmt: skip
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
        spec["logger"] = _logger(config, artifact)
    if deploy.service_account:
        spec["serviceAccountName"] = deploy.service_account
    if deploy.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in deploy.image_pull_secrets]
    return spec


def canary_predictor_spec(config: Config, artifact: str, storage_uri: StorageUri = _storage_uri) -> dict[str, Any]:
    """A Standard-mode canary: its name, model and logger only; KServe merges it over the stable predictor."""
    model = _model(config, artifact, storage_uri)
    # The CRD requires a container name inside spec.canary[] (KServe's rule against it covers
    # the stable predictor only): KServe's own name for the model container.
    model["name"] = "kserve-container"
    spec: dict[str, Any] = {"name": predictor_name(artifact), "model": model}
    if config.deploy.logger:  # its own URL: the stable's, merged in, would mark its events as the stable's
        spec["logger"] = _logger(config, artifact)
    return spec


def _models(service: dict[str, Any]) -> list[dict[str, Any]]:
    spec = service.get("spec") or {}
    models = [spec.get("predictor", {}).get("model")]
    models += [entry.get("predictor", {}).get("model") for entry in spec.get("canary") or []]
    return [m for m in models if isinstance(m, dict)]


def with_storage_uris(service: dict[str, Any], uri_for: StorageUri) -> dict[str, Any]:
    """A copy of ``service`` whose models load from ``uri_for(artifact)``: the stable predictor's
    and each ``spec.canary[]`` predictor's.

    The plans name each model by its artifact (the default ``oci://REPO@DIGEST`` built from
    it); where KServe loads it from (a modelcar image, or the artifact through
    ``oci+fetch://``) is the rollout flow's decision, made here for every object it sends.
    """
    result = copy.deepcopy(service)
    for model in _models(result):
        uri = str(model.get("storageUri", ""))
        if not uri.startswith("oci://"):
            raise ValueError(f"storageUri {uri!r} does not name an artifact: apply with_storage_uris to a plan only once")
        model["storageUri"] = uri_for(uri.removeprefix("oci://"))
    return result


def build_inference_service(config: Config, environment: EnvironmentConfig, rollout: Rollout,
                            *, storage_uri: StorageUri = _storage_uri) -> dict[str, Any]:  # fmt: skip
    """The object to apply. ``storage_uri`` maps an artifact to the URI KServe loads (the package
    format decides: ``oci://`` for a modelcar, ``oci+fetch://`` where the cluster has it)."""
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
    candidate = predictor_spec(config, rollout.artifact, storage_uri)
    canary = percent is not None and percent < 100
    if mode == "Knative":
        if canary:
            candidate["canaryTrafficPercent"] = percent
        service["spec"] = {"predictor": candidate}
    elif canary:
        if not rollout.stable_artifact:
            raise InputError("a Standard-mode canary needs the stable model next to it, and none is recorded",
                             fix="deploy at 100% first (a first rollout always gets 100%)")  # fmt: skip
        stable = predictor_spec(config, rollout.stable_artifact, storage_uri)
        stable["name"] = predictor_name(rollout.stable_artifact)
        service["spec"] = {
            "predictor": stable,
            "canary": [{"predictor": canary_predictor_spec(config, rollout.artifact, storage_uri), "trafficPercent": percent}],
        }
    else:
        # Named after its model, so a full promotion keeps the canary's Deployment (no restart).
        candidate["name"] = predictor_name(rollout.artifact)
        service["spec"] = {"predictor": candidate}
    return service
