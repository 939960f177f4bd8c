"""Environment tags: after a step, REPOSITORY:<environment> names the digest serving at 100% there.

CI without cluster access reads that tag (``baseline.environment``) to compare a candidate
with what production serves. The tag moves through the one registry module
(mlpipex.oci) and only after the step succeeded; the digests underneath stay immutable.
Each move also attaches a deployment record to the model (mlpipex.oci._record): when it
began to serve there, which the compare gate's reports show on the registry path.
A tag that cannot be moved is a warning on the outcome: the rollout itself happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mlpipex.errors import MlpipexError

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve.rollout import State
    from mlpipex.oci import Reference, RegistryClient

__all__ = ["move_environment_tag"]


def _registry_client(ref: Reference) -> RegistryClient:
    from mlpipex.oci import RegistryClient, credentials_for

    return RegistryClient(ref.registry, credentials=credentials_for(ref.registry))


def move_environment_tag(config: Config, env: EnvironmentConfig, after: State,
                         client_for: Callable[[Reference], RegistryClient] = _registry_client) -> str | None:  # fmt: skip
    """Point ``<repo>:<env>`` at the artifact ``after`` serves at 100%; a warning if that failed, else None."""
    if not config.deploy.environment_tags or not after.stable:
        return None
    from mlpipex.oci import DeploymentRecord, parse_reference, record_deployment, tag

    try:
        ref = parse_reference(after.stable)
        if not ref.digest:
            return f"warning: {after.stable} is not pinned by digest; {env.name}'s tag was not moved"
        client = client_for(ref)
        if client.resolve(ref.with_tag(env.name)) == ref.digest:
            return None  # already there (a canary step, a repeated promote)
        tag(client, ref, env.name, force=True)
        last = after.history[-1] if after.history else {}
        record_deployment(client, ref, DeploymentRecord(env.name, str(last.get("at") or _now()), last.get("by")))
    except MlpipexError as exc:
        fix = exc.fix_suffix
        return f"warning: the rollout succeeded, but the tag {env.name} of {after.stable} was not moved: {exc.message}{fix}"
    return None


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
