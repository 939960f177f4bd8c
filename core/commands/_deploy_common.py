"""What deploy, promote, canary, rollback and status share: options, the flow, reporting a step.

The rollout itself is mlpipex.rollouts (the App calls the same); these commands read
their arguments, call it, and print and report its outcome.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.commands import config_option, provider_options
from mlpipex.errors import EXIT_OK, MlpipexError

if TYPE_CHECKING:
    from mlpipex.events import DeployEvent
    from mlpipex.kserve.crd import CrdSchema
    from mlpipex.providers import Provider
    from mlpipex.rollouts import Outcome, Rollouts


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    config_option(parser)
    parser.add_argument("--env", metavar="NAME", help="environment from deploy.environments (default: the first)")
    parser.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--timeout", type=float, default=300, metavar="SECONDS", help="wait this long for Ready")
    parser.add_argument("--crd", metavar="FILE", help="validate against this CRD instead of the cluster's")
    provider_options(parser)


def rollouts(args: Any) -> Rollouts:
    """The rollout flow as the CLI runs it: ``--kubeconfig``, ``--timeout`` and ``--crd``."""
    from mlpipex.rollouts import Rollouts

    return Rollouts(kubeconfig=args.kubeconfig, timeout=args.timeout, crd=schema(args))


def schema(args: Any) -> CrdSchema | None:
    """``--crd FILE`` when given; None: the cluster's own."""
    from mlpipex.kserve import load_crd

    return load_crd(Path(args.crd)) if getattr(args, "crd", None) else None


def roll_out(args: Any, step: Callable[[Rollouts], Outcome]) -> int:
    """Take one rollout step, print its outcome and report it where the CI shows it.

    A failed step is reported too, then its error is raised, so the exit code stays 2 or 3.
    """
    from mlpipex.providers import provider_for

    provider = provider_for(args.provider, strict=args.strict_report)
    result = step(rollouts(args))
    event = result.event
    if result.error is not None:
        try:
            report_step(provider, event)
        except MlpipexError as also:  # the rollout's own error is the one to see
            say(f"warning: {also}")
        raise result.error
    say(event.message)
    for warning in result.warnings:
        sys.stderr.write(warning + "\n")
    # The rollout is done: its outputs are written before anything that reports it can fail.
    provider.write_outputs({"artifact": event.artifact or "", "environment": event.environment,
                            "traffic": str(event.traffic)})  # fmt: skip
    report_step(provider, event, result.warnings)
    return EXIT_OK


def report_step(provider: Provider, event: DeployEvent, warnings: tuple[str, ...] = ()) -> None:
    from mlpipex.report import render_deploy_markdown

    published = provider.deployed(event, render_deploy_markdown(event, warnings))
    for warning in published.warnings:
        say(f"warning: {warning}")
    if published.places:
        say(f"posted: {', '.join(published.places)}")


def actor() -> str | None:
    return os.environ.get("GITHUB_ACTOR") or os.environ.get("GITLAB_USER_LOGIN") or os.environ.get("USER")


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
