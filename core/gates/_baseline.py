"""Where the compare gate's baseline comes from: a file, or a model package in a registry.

``baseline.artifact: REF:TAG`` is resolved to a digest when the gate runs, and the
package is pulled by that digest into ``.mlpipex/baselines/sha256-<hex>/`` (``:`` is
not allowed in a Windows path). The pull verifies every blob; a directory already
there is reused after its model file is checked against the digest its package
records. What was compared with (reference, digest, model version) is kept, so
every report can name it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.errors import ExternalError, InputError, Location

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
    requested, key, label = _requested(config)
    if requested is None:
        return None
    from mlpipex.oci import parse_reference

    try:
        ref = parse_reference(requested)
    except InputError as exc:
        raise InputError(f"{key}: {exc.message}", fix=exc.fix, location=Location(str(config.source))) from None
    client = client_for(ref)
    try:
        digest = ref.digest or client.resolve(ref)
        if digest is None:
            return Missing(f"{requested} does not exist in {ref.registry} yet (nothing deployed?); "
                           "the compare gate needs a baseline: set gates.compare.require_baseline to fail instead")  # fmt: skip
        directory = cache / digest.replace(":", "-")
        if not _intact(directory):
            _pull(client, ref.with_digest(digest), directory)
    except ExternalError as exc:
        raise ExternalError(f"{key} {requested}: {exc.message}", fix=exc.fix) from None
    package = _package_config(directory)
    return Baseline(
        name=str(package.get("name") or config.model.name),
        version=str(package.get("version") or "unknown"),
        path=directory / package["model"]["path"],
        format=settings.format or str(package.get("format") or config.model.format),
        artifact=f"{ref.name}@{digest}",
        requested=label,
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


def _requested(config: Config) -> tuple[str | None, str, str | None]:
    """The reference to resolve, the config key it came from, and how the reports name where it came from.

    ``baseline.environment`` prefers the truth: the stable model of the environment's live
    InferenceService, read through its kubeconfig context; where CI cannot reach the cluster
    it falls back to the environment's registry tag, and says so.
    """
    settings = config.baseline
    if settings.environment is None:
        return settings.artifact, "baseline.artifact", settings.artifact
    matches = [e for e in config.deploy.environments if e.name == settings.environment]
    if not matches:
        names = [e.name for e in config.deploy.environments]
        raise InputError(f"baseline.environment `{settings.environment}` is not one of deploy.environments",
                         fix=f"use one of: {', '.join(names) or '(none: add deploy.environments)'}",
                         location=Location(str(config.source)))  # fmt: skip
    live, why = _live_stable(config, matches[0])
    if live is not None:
        return live, "baseline.environment", f"{settings.environment} ({why})"
    tag = environment_tag(config, settings.environment)
    return tag, "baseline.environment", f"{tag} (registry tag; {why})"


def _live_stable(config: Config, env: EnvironmentConfig) -> tuple[str | None, str]:
    """(the artifact serving at 100% in ``env``'s InferenceService, or None; how it was found or why not)."""
    from mlpipex.errors import MlpipexError

    where = f"context {env.context}" if env.context else "the current kubeconfig context"
    try:
        from mlpipex.kserve.cluster import Cluster
        from mlpipex.kserve.manifests import service_name
        from mlpipex.kserve.rollout import state_of

        kube = Cluster.connect(env.context)
        kube.retries = 0  # one try: a CI without cluster access falls back to the tag at once
        name = service_name(config)
        obj = kube.get(env.namespace, name)
    except MlpipexError as exc:
        return None, f"cluster not used: {exc.message}"
    stable = state_of(obj).stable
    if stable is None or "@sha256:" not in stable:
        return None, f"InferenceService {env.namespace}/{name} in {where} serves no model at 100% yet"
    return stable, f"live InferenceService {env.namespace}/{name}, {where}"


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
