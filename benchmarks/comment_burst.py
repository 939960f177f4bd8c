"""What a burst of chatter does to a `/promote` behind it: the App's real handlers and worker,
the tests' fake GitHub (with a per-call latency like the real one's) and fake Kubernetes.

N ordinary comments ("LGTM", quotes, code) are queued, then one `/promote production`;
one worker drains the queue in order. Timed: from the first claim to the `/promote`'s
reply, with the comment parsed before any GitHub call (now) and, for comparison, with
the pre-filter switched off (every comment reads the pull request and the configuration
first, as before issue 12 item 11). Small on purpose: one run per setting.

    .venv/bin/python benchmarks/comment_burst.py [--burst 100] [--github-ms 50]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import QUICKSTART, ROOT, machine, table

sys.path.insert(0, str(ROOT / "tests"))

CHATTER = ["LGTM", "Thanks! Merging after CI.", "> /rollback\nquoted", "nit: `/status` in the README", "+1"]


def run(burst: int, github_ms: float, prefilter: bool) -> tuple[float, int, int]:
    """Seconds from the first claim to the /promote's reply; GitHub calls made; jobs run."""
    from fastapi.testclient import TestClient
    from github import Auth, Github
    from handlers.conftest import SECRET, World, pull_links, repo_config
    from kube.fake_apiserver import FakeKubernetes
    from providers.fake_github_app import FakeGitHubApp

    from mlpipex.app import create_app
    from mlpipex.app.settings import Settings

    with tempfile.TemporaryDirectory() as tmp, FakeGitHubApp("acme/models") as github, FakeKubernetes() as kube:
        quickstart = Path(tmp) / "quickstart"
        shutil.copytree(QUICKSTART, quickstart, ignore=shutil.ignore_patterns(".mlpipex", "__pycache__"))
        github.commit("main", {"mlpipex.yaml": repo_config(quickstart)})
        settings = Settings(webhook_secret=SECRET, database_url=f"sqlite:///{Path(tmp) / 'app.db'}", worker_threads=0,
                            app_id=1, kubeconfig=kube.kubeconfig(Path(tmp) / "kubeconfig", context="fake"), rollout_timeout=5)  # fmt: skip
        client = Github(auth=Auth.Token("ghs_x"), base_url=github.url, retry=None, seconds_between_requests=0,
                        seconds_between_writes=0)  # fmt: skip
        with TestClient(create_app(settings, github_for=lambda i: client)) as test_client:
            world = World(github, kube, test_client)
            world.ship(5, "ghcr.io/acme/models/bc@sha256:" + "a" * 64)  # in staging, ready to promote
            handle = github.handle

            def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
                time.sleep(github_ms / 1000)
                return handle(*args, **kwargs)

            for i in range(burst):
                comment = github.post_comment(5, "dev", CHATTER[i % len(CHATTER)])
                world.deliver("issue_comment", {"action": "created", "comment": comment, "sender": {"login": "dev"},
                                                "issue": {"number": 5, "pull_request": pull_links(5)}})  # fmt: skip
            comment = github.post_comment(5, "lead", "/promote production")
            world.deliver("issue_comment", {"action": "created", "comment": comment, "sender": {"login": "lead"},
                                            "issue": {"number": 5, "pull_request": pull_links(5)}})  # fmt: skip
            calls = len(github.calls)
            patches = [mock.patch.object(github, "handle", slow)]
            if not prefilter:
                patches.append(mock.patch("mlpipex.app.comments.may_hold_command", lambda body, **kw: True))
            for p in patches:
                p.start()
            start, ran = time.perf_counter(), 0
            while world.worker.run_once():
                ran += 1
            elapsed = time.perf_counter() - start
            for p in patches:
                p.stop()
            assert "production" in world.last_reply(5), world.last_reply(5)
            return elapsed, len(github.calls) - calls, ran


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--github-ms", type=float, default=50.0, help="added to every fake GitHub call")
    args = parser.parse_args()
    rows = []
    for burst in (0, args.burst):
        for prefilter in (True, False):
            seconds, calls, ran = run(burst, args.github_ms, prefilter)
            rows.append([str(burst), "parse first" if prefilter else "read GitHub first (before)", f"{seconds:.2f}",
                         str(calls), f"{seconds / ran * 1000:.0f}"])  # fmt: skip
    print(f"# /promote behind a burst of comments ({machine()}), {args.github_ms:g} ms per GitHub call, one worker\n")
    print(table(["comments ahead", "comment handling", "/promote reply after s", "GitHub calls", "ms per job"], rows))


if __name__ == "__main__":
    main()
