"""What `deploy --dry-run` prints: exactly the object `deploy` would send (pure).

Without a cluster there is no current object, so the model said to be serving
(``--stable-artifact``) stands in for it, as a first rollout of that model would
have left it; the new model then gets what `deploy` gives it there: the
environment's first canary step (or ``--canary``), not a 100% cutover.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mlpipex.config import Config
from mlpipex.config.model import EnvironmentConfig
from mlpipex.kserve.manifests import Rollout
from mlpipex.kserve.rollout import plan_deploy

__all__ = ["plan_dry_run"]


def plan_dry_run(config: Config, env: EnvironmentConfig, rollout: Rollout, stable_artifact: str | None = None,
                 *, now: str | None = None) -> dict[str, Any]:  # fmt: skip
    current = None
    if stable_artifact:
        current = plan_deploy(config, env, None, Rollout(stable_artifact), now=now)
    return plan_deploy(config, env, current, replace(rollout, stable_artifact=None), now=now)
