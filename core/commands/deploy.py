"""``mlpipex deploy``: an InferenceService for a package, validated against KServe's CRD.

This session ships ``--dry-run`` (build, validate, print YAML); applying to a
cluster with server-side apply arrives with the Kubernetes client.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from mlpipex.commands import config_option
from mlpipex.errors import EXIT_OK, InputError


def register(commands: Any) -> None:
    parser = commands.add_parser("deploy", help="build the InferenceService for a package (--dry-run prints it)")
    config_option(parser)
    parser.add_argument("--artifact", required=True, metavar="REF@DIGEST", help="the package, pinned by digest")
    parser.add_argument("--env", metavar="NAME", help="environment from deploy.environments (default: the first)")
    parser.add_argument("--canary", type=int, metavar="PERCENT", help="traffic share for the new model")
    parser.add_argument("--stable-artifact", metavar="REF@DIGEST", help="the model now serving (Standard canaries)")
    parser.add_argument("--mode", choices=("Standard", "Knative"), help="KServe deployment mode")
    parser.add_argument("--crd", metavar="FILE", help="InferenceService CRD to validate against")
    parser.add_argument("--dry-run", action="store_true", help="print the manifest instead of applying it")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from mlpipex.config import load_config
    from mlpipex.config.model import EnvironmentConfig
    from mlpipex.kserve import Rollout, build_inference_service, load_crd

    config = load_config(args.config, check_files=False)
    environments = config.deploy.environments or [EnvironmentConfig(name="default")]
    if args.env:
        matches = [e for e in environments if e.name == args.env]
        if not matches:
            raise InputError(f"--env {args.env}: no such environment",
                             fix=f"environments: {', '.join(e.name for e in environments)}")  # fmt: skip
        environment = matches[0]
    else:
        environment = environments[0]
    if args.mode:
        environment = environment.model_copy(update={"mode": args.mode})
    rollout = Rollout(
        artifact=args.artifact,
        canary_percent=args.canary,
        stable_artifact=args.stable_artifact,
        git_sha=os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA"),
        deployed_by=os.environ.get("GITHUB_ACTOR") or os.environ.get("GITLAB_USER_LOGIN") or os.environ.get("USER"),
    )
    service = build_inference_service(config, environment, rollout)
    if args.crd:
        load_crd(Path(args.crd)).check(service)
    if not args.dry_run:
        raise InputError("applying to a cluster is not available in this version",
                         fix="pass --dry-run and apply the printed YAML with `kubectl apply --server-side -f -`")  # fmt: skip
    sys.stdout.write(yaml.safe_dump(service, sort_keys=False))
    return EXIT_OK
