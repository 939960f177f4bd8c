"""Options every registry command shares, and the client they build."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlpipex.console import Console  # imports the gates (pydantic, numpy): not at --help time
    from mlpipex.oci import Reference, RegistryClient


def add_registry_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--insecure", action="store_true",
                        help="plain HTTP (loopback registries fall back to it by themselves)")  # fmt: skip
    parser.add_argument("--ca-file", metavar="PEM", help="CA bundle for a registry with a private CA")


def client_for(ref: Reference, args: Any, console: Console | None = None) -> RegistryClient:
    from mlpipex.console import Console
    from mlpipex.oci import RegistryClient, credentials_for

    return RegistryClient(
        ref.registry,
        insecure=args.insecure,
        ca_bundle=args.ca_file,
        credentials=credentials_for(ref.registry, dict(os.environ)),
        progress=(console or Console()).progress,
    )


def print_result(text: str) -> None:
    sys.stdout.write(text + "\n")
