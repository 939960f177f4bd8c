"""``mlpipex deploy``: roll a package out as a KServe InferenceService.

Built purely from the config and the digest, validated against the cluster's own
CRD (or ``--crd FILE``) before the API server sees it, applied with server-side
apply, then awaited until Ready. A first rollout gets 100%; later ones start at
the environment's first canary step (or ``--canary``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from mlpipex.commands._deploy_common import actor, add_cluster_options, roll_out, schema
from mlpipex.errors import EXIT_OK


def register(commands: Any) -> None:
    parser = commands.add_parser("deploy", help="roll a package out as a KServe InferenceService")
    add_cluster_options(parser)
    parser.add_argument("--artifact", required=True, metavar="REF@DIGEST", help="the package, pinned by digest")
    parser.add_argument("--canary", type=int, metavar="PERCENT", help="traffic share for the new model")
    parser.add_argument("--mode", choices=("Standard", "Knative"), help="KServe deployment mode")
    parser.add_argument("--stable-artifact", metavar="REF@DIGEST", help="with --dry-run: the model now serving")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the manifest; touch no cluster (with deploy.storage: modelcar it reads the "
                             "artifact's manifest from the registry to name its modelcar image; fetch needs no registry)")  # fmt: skip
    parser.add_argument("--pull-request", type=int, metavar="N", help="recorded on the object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.rollouts import environment

    config = load_config(args.config, check_files=False)
    env = environment(config, args.env, args.mode)
    if args.dry_run:
        return _dry_run(args, config, env)
    return roll_out(args, lambda flow: flow.deploy(config, env, args.artifact, by=actor(), sha=_commit(args),
                                                   pull_request=args.pull_request, canary_percent=args.canary))  # fmt: skip


def _dry_run(args: argparse.Namespace, config: Any, env: Any) -> int:
    """The manifest a deploy would apply, its models located as deploy locates them (no cluster is read)."""
    import yaml

    from mlpipex.kserve import Rollout
    from mlpipex.kserve.manifests import with_storage_uris
    from mlpipex.kserve.preview import plan_dry_run
    from mlpipex.rollouts import RegistryLocator

    rollout = Rollout(artifact=args.artifact, canary_percent=args.canary, git_sha=_commit(args),
                      pull_request=args.pull_request, deployed_by=actor())  # fmt: skip
    locator = RegistryLocator()
    service = with_storage_uris(plan_dry_run(config, env, rollout, args.stable_artifact),
                                lambda artifact: locator.uri(config, artifact))  # fmt: skip
    crd = schema(args)
    if crd is not None:
        crd.check(service)
    sys.stdout.write(yaml.safe_dump(service, sort_keys=False))
    traffic = config.deploy.traffic_for(env)
    if traffic is not None:  # deploy.traffic: the HTTPRoute deploy writes next to it (its owner's uid is the cluster's)
        from mlpipex.kserve.httproute import build_http_route

        sys.stdout.write("---\n" + yaml.safe_dump(build_http_route(service, traffic), sort_keys=False))
    return EXIT_OK


def _commit(args: argparse.Namespace) -> str | None:
    from mlpipex.providers import provider_for

    return provider_for(args.provider).context().sha or os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA")
