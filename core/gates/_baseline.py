"""Where the compare gate's baseline comes from: a file, or a model package in a registry.

``baseline.artifact: REF:TAG`` is resolved to a digest when the gate runs, and the
package is pulled by that digest into ``.mlpipex/baselines/sha256-<hex>/`` (``:`` is
not allowed in a Windows path). The pull verifies every blob; a directory already
there is reused after its model file is checked against the digest its package
records. What was compared with (reference, digest, model version, environment, when it
was deployed there) is kept, so every report can name it.

When it was deployed: from the live InferenceService, the time mlpipex's rollout history
says the model began to serve (at 100% for the stable model); on the registry path, from
the deployment record the tag move attached to the model (mlpipex.oci._record). Neither
there: the reports say "unknown".
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.errors import ExternalError, InputError, Location, MlpipexError

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.oci import Reference, RegistryClient

__all__ = ["BASELINES", "Baseline", "Missing", "environment_tag", "resolve_baseline"]

BASELINES = Path(".mlpipex/baselines")  # beside the local package store, .mlpipex/oci


@dataclass(frozen=True)
class Baseline:
    """The model the candidate is compared with."""

    name: str
    version: str
    path: Path  # the model file (or SavedModel directory)
    format: str
    artifact: str | None = None  # REGISTRY/REPOSITORY@sha256:… when it came from a registry
    requested: str | None = None  # baseline.artifact as configured (a tag, before it was resolved)
    environment: str | None = None  # baseline.environment: where it serves
    serving: str | None = None  # stable or canary: which of that environment's models
    deployed_at: str | None = None  # RFC 3339; None: unknown
    deployed_from: str | None = None  # how deployed_at is known
    service: tuple[str, str] | None = None  # (namespace, InferenceService) it serves from, for the monitor
    recorded: dict[str, Any] | None = None  # the package's recorded gate verdict and metrics
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Missing:
    """Nothing to compare with yet, and why (a first deployment)."""

    note: str


def _registry_client(ref: Reference) -> RegistryClient:
    from mlpipex.oci import RegistryClient, credentials_for

    return RegistryClient(ref.registry, credentials=credentials_for(ref.registry))


def resolve_baseline(
    config: Config,
    *,
    client_for: Callable[[Reference], RegistryClient] = _registry_client,
    cache: Path = BASELINES,
) -> Baseline | Missing | None:
    """The configured baseline, pulled where needed; None when none is configured."""
    settings = config.baseline
    if settings.path:
        return Baseline(config.model.name, "baseline", config.resolve(settings.path),
                        settings.format or config.model.format)  # fmt: skip
    found = _requested(config)
    if found is None:
        return None
    requested, key = found.reference, found.key
    from mlpipex.oci import parse_reference

    try:
        ref = parse_reference(requested)
    except InputError as exc:
        raise InputError(f"{key}: {exc.message}", fix=exc.fix, location=Location(str(config.source))) from None
    client = client_for(ref)
    try:
        digest = ref.digest or client.resolve(ref)
        if digest is None and found.cluster_failed is not None:
            # The cluster was asked and failed, and no tag says otherwise: that is not "nothing deployed".
            failed = found.cluster_failed
            fix = " ".join(failed.fix.split()) + "; " if failed.fix else ""
            raise ExternalError(f"cannot tell what serves in {settings.environment}: the cluster failed "
                                f"({failed.message}) and {requested} does not exist",
                                fix=f"{fix}or let a deploy move the tag (deploy.environment_tags)")  # fmt: skip
        if digest is None:
            why = f" ({found.fallback})" if found.fallback else ""
            return Missing(f"{requested} does not exist in {ref.registry} yet (nothing deployed?){why}; "
                           "the compare gate needs a baseline: set gates.compare.require_baseline to fail instead")  # fmt: skip
        directory = cache / digest.replace(":", "-")
        if not _intact(directory):
            _pull(client, ref.with_digest(digest), directory)
        deployed_at, deployed_from = found.deployed_at, found.deployed_from
        notes = found.notes
        if deployed_at is None and settings.environment is not None:
            try:
                deployed_at, deployed_from = _recorded_deployment(client, ref.with_digest(digest), settings.environment)
            except ExternalError as exc:  # the package is here: when it was deployed is only a fact for the reports
                notes += (f"when it was deployed is unknown: its deployment records could not be read ({exc.message})",)
    except ExternalError as exc:
        raise ExternalError(f"{key} {requested}: {exc.message}", fix=exc.fix) from None
    package = _package_config(directory)
    return Baseline(
        name=str(package.get("name") or config.model.name),
        version=str(package.get("version") or "unknown"),
        path=directory / package["model"]["path"],
        format=settings.format or str(package.get("format") or config.model.format),
        artifact=f"{ref.name}@{digest}",
        requested=found.label,
        environment=settings.environment,
        serving=found.serving,
        deployed_at=deployed_at,
        deployed_from=deployed_from,
        service=found.service,
        recorded=_recorded_gates(package),
        notes=notes,
    )


def environment_tag(config: Config, environment: str) -> str:
    """REGISTRY/REPOSITORY:<environment>, the tag that deploy moves (deploy.environment_tags)."""
    package = config.package
    if not (package.registry and package.repository):
        raise InputError("baseline.environment reads the registry tag REPOSITORY:<environment>, but "
                         "package.registry and package.repository are not set",
                         fix="set package.registry and package.repository (where `mlpipex push` sends it)",
                         location=Location(str(config.source)))  # fmt: skip
    return f"{package.registry}/{package.repository}:{environment}"


@dataclass(frozen=True)
class _Found:
    """What to pull, the config key it came from, how reports name where it came from, and what else is known."""

    reference: str
    key: str
    label: str
    serving: str | None = None
    deployed_at: str | None = None
    deployed_from: str | None = None
    service: tuple[str, str] | None = None
    notes: tuple[str, ...] = ()
    fallback: str | None = None  # why the registry tag is read instead of the cluster
    cluster_failed: ExternalError | None = None  # the cluster was reached for and failed (not merely not configured)


def _requested(config: Config) -> _Found | None:
    """``baseline.environment`` prefers the truth: the environment's live InferenceService, read through
    its kubeconfig context (its stable model unless ``baseline.serving: canary``); where CI cannot reach
    the cluster it falls back to the environment's registry tag, and says so."""
    settings = config.baseline
    if settings.environment is None:
        return _Found(settings.artifact, "baseline.artifact", settings.artifact) if settings.artifact else None
    matches = [e for e in config.deploy.environments if e.name == settings.environment]
    if not matches:
        names = [e.name for e in config.deploy.environments]
        raise InputError(f"baseline.environment `{settings.environment}` is not one of deploy.environments",
                         fix=f"use one of: {', '.join(names) or '(none: add deploy.environments)'}",
                         location=Location(str(config.source)))  # fmt: skip
    env = matches[0]
    from mlpipex.kserve.manifests import service_name

    service = (env.namespace, service_name(config))
    live = _live(config, env, settings.serving)
    if isinstance(live, _Found):
        return live
    if live.error is not None and not config.deploy.environment_tags:
        # No tag to fall back on: a skip would look like "nothing deployed", which nobody checked.
        fix = " ".join(live.error.fix.split()) + "; " if live.error.fix else ""
        raise ExternalError(f"baseline.environment {env.name}: cannot read what serves there: {live.error.message}",
                            fix=f"{fix}give this job access to the cluster (kubeconfig context "
                                f"{env.context or '(current)'}), or turn deploy.environment_tags on so that deploy "
                                "moves the registry tag this gate can read instead")  # fmt: skip
    tag = environment_tag(config, settings.environment)
    notes: tuple[str, ...] = ()
    if settings.serving == "canary":
        notes = (f"baseline.serving is canary, but the cluster did not say ({live.why}); the registry tag {tag} "
                 "names the stable model, compared with instead",)  # fmt: skip
    failed = live.error if isinstance(live.error, ExternalError) else None
    return _Found(tag, "baseline.environment", f"{tag} (registry tag; {live.why})", serving="stable",
                  service=service, notes=notes, fallback=live.why, cluster_failed=failed)  # fmt: skip


@dataclass(frozen=True)
class _NotLive:
    """Why the cluster did not name a model: it could not be read (``error``), or it serves none yet."""

    why: str
    error: MlpipexError | None = None


def _live(config: Config, env: EnvironmentConfig, serving: str) -> _Found | _NotLive:
    """The model serving in ``env``'s InferenceService (the stable one, or the canary when asked),
    or why the cluster could not say."""
    where = f"context {env.context}" if env.context else "the current kubeconfig context"
    if importlib.util.find_spec("kubernetes") is None:
        if os.environ.get("KUBECONFIG"):
            # Cluster access was given to this job on purpose: reading the tag instead would hide the missing extra.
            raise InputError(f"baseline.environment {env.name}: KUBECONFIG is set, but the live InferenceService "
                             "cannot be read without the `kserve` extra",
                             fix="pip install 'mlpipex[kserve]' (or leave KUBECONFIG unset to read the registry tag)",
                             location=Location(str(config.source)))  # fmt: skip
        return _NotLive("cluster not used: the `kserve` extra is not installed")
    try:
        from mlpipex.kserve.cluster import Cluster
        from mlpipex.kserve.manifests import service_name
        from mlpipex.kserve.rollout import state_of

        kube = Cluster.connect(env.context)
        kube.retries = 0  # one try: a CI without cluster access falls back to the tag at once
        name = service_name(config)
        obj = kube.get(env.namespace, name)
    except MlpipexError as exc:
        return _NotLive(f"cluster not used: {exc.message}", exc)
    state = state_of(obj)
    notes: tuple[str, ...] = ()
    role, artifact = "stable", state.stable
    if serving == "canary":
        if state.in_canary and state.artifact and "@sha256:" in state.artifact:
            role, artifact = "canary", state.artifact
        else:
            notes = (f"baseline.serving is canary, but no canary is running in {env.name}: "
                     "compared with the stable model",)  # fmt: skip
    if artifact is None or "@sha256:" not in artifact:
        return _NotLive(f"InferenceService {env.namespace}/{name} in {where} serves no model at 100% yet")
    at = serving_since(state.history, artifact, stable=role == "stable")
    label = f"{env.name} ({'canary, ' if role == 'canary' else ''}live InferenceService {env.namespace}/{name}, {where})"
    return _Found(artifact, "baseline.environment", label, serving=role, deployed_at=at,
                  deployed_from=f"rollout history of InferenceService {env.namespace}/{name}" if at else None,
                  service=(env.namespace, name), notes=notes)  # fmt: skip


def serving_since(history: Sequence[Mapping[str, Any]], artifact: str, *, stable: bool) -> str | None:
    """When ``artifact`` last began to serve, from mlpipex's rollout history (newest last); None if it does not say.

    The stable model began when it reached 100% after another model had (a canary of a third model
    between does not reset it); a canary began with the first step of its current run.
    """
    steps = [h for h in history if isinstance(h, Mapping) and (not stable or h.get("traffic") == 100)]
    since: str | None = None
    previous: object = None
    for entry in steps:
        if entry.get("artifact") == artifact and previous != artifact:
            at = entry.get("at")
            since = at if isinstance(at, str) else None
        previous = entry.get("artifact")
    return since if previous == artifact else None


def _recorded_deployment(client: RegistryClient, ref: Reference, environment: str) -> tuple[str | None, str | None]:
    """When the environment tag last moved to ``ref``: its newest deployment record, if any."""
    from mlpipex.oci import deployment_records

    records = deployment_records(client, ref, environment)
    if not records:
        return None, None
    return records[-1].at, f"deployment record in {ref.registry}"


def _recorded_gates(package: Mapping[str, Any]) -> dict[str, Any] | None:
    """The gate verdict and smoke metrics `mlpipex package` recorded in the package's config, if any."""
    gates, metrics = package.get("gates"), package.get("metrics")
    if not isinstance(gates, Mapping) and not isinstance(metrics, Mapping):
        return None
    return {"verdict": gates.get("verdict") if isinstance(gates, Mapping) else None,
            "results": dict(gates.get("results") or {}) if isinstance(gates, Mapping) else {},
            "metrics": {k: v for k, v in (metrics or {}).items() if isinstance(v, (int, float))}}  # fmt: skip


def _package_config(directory: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((directory / "config.json").read_text())
    return config


def _intact(directory: Path) -> bool:
    """A finished pull (manifest.json is written last) whose model file still matches its recorded digest."""
    if not (directory / "manifest.json").is_file():
        return False
    from mlpipex.digests import file_digest

    try:
        model = _package_config(directory)["model"]
        size, sha = file_digest(directory / model["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return f"sha256:{sha}" == model.get("digest") and size == model.get("size", size)


def _pull(client: RegistryClient, ref: Reference, directory: Path) -> None:
    """Into a private staging directory, then renamed: a reader never sees half a package."""
    from mlpipex.oci import pull

    staging = directory.with_name(f".{directory.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        pull(client, ref, staging)
        shutil.rmtree(directory, ignore_errors=True)  # a stale or damaged copy
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
