"""What deploy, promote, rollback and status share: options, environment, cluster."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.commands import config_option, provider_options
from mlpipex.errors import EXIT_OK, InputError, MlpipexError

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve.cluster import Cluster
    from mlpipex.kserve.crd import CrdSchema
    from mlpipex.providers import DeployEvent, Provider


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    config_option(parser)
    parser.add_argument("--env", metavar="NAME", help="environment from deploy.environments (default: the first)")
    parser.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--timeout", type=float, default=300, metavar="SECONDS", help="wait this long for Ready")
    parser.add_argument("--crd", metavar="FILE", help="validate against this CRD instead of the cluster's")
    provider_options(parser)


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
    from mlpipex.kserve.steps import apply_step

    kube = cluster(env, args)
    return apply_step(kube, schema(args, kube), env.namespace, config.deploy.name or config.model.name, plan,
                      timeout=args.timeout)  # fmt: skip


def roll_out(args: Any, config: Config, env: EnvironmentConfig, action: str,
             plan: Callable[[dict[str, Any] | None], dict[str, Any]]) -> int:  # fmt: skip
    """Apply one rollout step, print its outcome and report it where the CI shows it.

    A failed step is reported too (then re-raised, so the exit code stays 2 or 3).
    """
    from mlpipex.kserve.rollout import state_of
    from mlpipex.kserve.steps import outcome
    from mlpipex.providers import DeployEvent, provider_for

    provider = provider_for(args.provider, strict=args.strict_report)
    name = config.deploy.name or config.model.name
    try:
        service, result = apply_plan(args, config, env, plan)
    except MlpipexError as exc:
        failed = DeployEvent(action, config.model.name, env.name, name, ok=False,
                             message=str(exc).splitlines()[0], by=actor())  # fmt: skip
        try:
            report_step(provider, failed)
        except MlpipexError as also:  # the rollout's own error is the one to see
            say(f"warning: {also}")
        raise
    line = outcome(env, service, result)
    say(line)
    state = state_of(service)
    # The rollout is done: its outputs are written before anything that reports it can fail.
    provider.write_outputs({"artifact": state.artifact or "", "environment": env.name, "traffic": str(state.traffic)})
    report_step(provider, DeployEvent(action, config.model.name, env.name, name, ok=True, message=line,
                                      artifact=state.artifact, stable=state.stable, traffic=state.traffic,
                                      by=actor()))  # fmt: skip
    return EXIT_OK


def report_step(provider: Provider, event: DeployEvent) -> None:
    from mlpipex.report import render_deploy_markdown

    published = provider.deployed(event, render_deploy_markdown(event))
    for warning in published.warnings:
        say(f"warning: {warning}")
    if published.places:
        say(f"posted: {', '.join(published.places)}")


def actor() -> str | None:
    return os.environ.get("GITHUB_ACTOR") or os.environ.get("GITLAB_USER_LOGIN") or os.environ.get("USER")


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
