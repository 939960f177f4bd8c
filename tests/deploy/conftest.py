"""The real Helm, built once from its Go module (tests/cluster/build.py); without Go the chart tests
skip (under CI=true they fail)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.cluster.build import BuildError, build_all, go_binary

from .chart import Helm


@pytest.fixture(scope="session")
def helm_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helm]:
    def unavailable(reason: str) -> None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: Helm is required for the chart tests: {reason}", pytrace=False)
        pytest.skip(reason)

    if go_binary() is None:
        unavailable("go is not installed: Helm is built from its Go module")
    try:
        binary = build_all(["helm"])["helm"].binary("helm")
    except BuildError as error:
        unavailable(str(error))
    yield Helm(binary, tmp_path_factory.mktemp("helm-home"))
