"""What deploy, promote, rollback and status share: options, environment, cluster."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.commands import config_option
from mlpipex.errors import InputError

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve.cluster import Cluster
    from mlpipex.kserve.crd import CrdSchema


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    config_option(parser)
    parser.add_argument("--env", metavar="NAME", help="environment from deploy.environments (default: the first)")
    parser.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--timeout", type=float, default=300, metavar="SECONDS", help="wait this long for Ready")
    parser.add_argument("--crd", metavar="FILE", help="validate against this CRD instead of the cluster's")


def environment(config: Config, name: str | None, mode: str | None = None) -> EnvironmentConfig:
    from mlpipex.config.model import EnvironmentConfig

    environments = config.deploy.environments or [EnvironmentConfig(name="default")]
    chosen = environments[0]
    if name:
        matches = [e for e in environments if e.name == name]
        if not matches:
            raise InputError(f"--env {name}: no such environment",
                             fix=f"environments: {', '.join(e.name for e in environments)}")  # fmt: skip
        chosen = matches[0]
    return chosen.model_copy(update={"mode": mode}) if mode else chosen


def cluster(env: EnvironmentConfig, args: Any) -> Cluster:
    from mlpipex.kserve.cluster import Cluster

    return Cluster.connect(env.context, args.kubeconfig)


def schema(args: Any, cluster: Cluster | None) -> CrdSchema:
    from mlpipex.kserve import load_crd

    if getattr(args, "crd", None):
        return load_crd(Path(args.crd))
    assert cluster is not None
    return cluster.crd()


def apply_plan(args: Any, config: Config, env: EnvironmentConfig,
               plan: Callable[[dict[str, Any] | None], dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """Read the object, plan its next state, validate, apply, wait for Ready; print the outcome.

    Returns (what was applied, what the cluster reports).
    """
    kube = cluster(env, args)
    crd = schema(args, kube)
    name = config.deploy.name or config.model.name
    service = plan(kube.get(env.namespace, name))
    crd.check(service)
    kube.apply(service)
    result = kube.wait_ready(env.namespace, name, timeout=args.timeout)
    return service, result


def outcome(env: EnvironmentConfig, service: dict[str, Any], result: dict[str, Any]) -> str:
    notes = service["metadata"]["annotations"]
    return (f"{env.name}: {service['metadata']['name']} serves {notes['mlpipex.dev/artifact']} at "
            f"{notes['mlpipex.dev/traffic']}% ({traffic_line(result)})")  # fmt: skip


def actor() -> str | None:
    return os.environ.get("GITHUB_ACTOR") or os.environ.get("GITLAB_USER_LOGIN") or os.environ.get("USER")


def traffic_line(obj: dict[str, Any]) -> str:
    traffic = (((obj.get("status") or {}).get("components") or {}).get("predictor") or {}).get("traffic") or []
    return ", ".join(f"{t.get('revisionName')} {t.get('percent')}%" for t in traffic) or "no traffic reported"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
