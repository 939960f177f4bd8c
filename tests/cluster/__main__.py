"""`scripts/cluster.sh build|up`: the test control plane outside pytest."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .build import COMPONENTS, BuildError, build_all, gateway_api_crds
from .controlplane import ControlPlane, ControlPlaneError


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster.sh")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the Go components once (cached in .cache-go/)")
    build.add_argument("components", nargs="*", metavar="COMPONENT", help=f"any of {', '.join(COMPONENTS)} (default: all)")
    up = sub.add_parser("up", help="start the control plane and wait for Ctrl-C")
    up.add_argument("--kserve", action="store_true", help="also run KServe's controller manager and webhooks")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code else 0
    unknown = [c for c in getattr(args, "components", []) if c not in COMPONENTS]
    if unknown:
        print(f"error: unknown component {', '.join(unknown)}; choose from {', '.join(COMPONENTS)}", file=sys.stderr)
        return 2
    try:
        if args.command == "build":
            for built in build_all(args.components or None, log=_log).values():
                state = "cached" if built.cached else f"built in {built.seconds:.0f} s"
                print(f"{built.component}@{built.version}: {state} ({built.folder})")
            if not args.components:
                print(f"Gateway API CRDs: {gateway_api_crds(log=_log)}")
            return 0
        names = ["etcd", "kubernetes", "kwok"] + (["kserve-manager"] if args.kserve else [])
        binaries = build_all(names, log=_log)
        plane = ControlPlane(binaries, log=_log).start()
        try:
            if args.kserve:
                from .kserve import KServeController

                kserve = KServeController(plane, binaries["kserve-manager"]).start()
                _log(f"==> KServe controller up ({kserve.timings})")
            print(f"KUBECONFIG={plane.kubeconfig}")
            print(f"timings: {plane.timings}", flush=True)
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            stop.wait()
        finally:
            plane.stop()
        return 0
    except (BuildError, ControlPlaneError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
