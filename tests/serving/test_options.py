"""`mlpipex serve` options that need no server: sizes and the default bind address."""

from __future__ import annotations

import argparse

import pytest

from mlpipex.cli import build_parser
from mlpipex.commands.serve import _size


@pytest.mark.parametrize(("text", "size"), [("16MiB", 16 * 2**20), ("500kB", 500_000), ("1048576", 2**20), ("2M", 2 * 2**20)])
def test_sizes(text, size):
    assert _size(text) == size


@pytest.mark.parametrize("text", ["lots", "0", "-5MiB", "12 parsecs"])
def test_bad_sizes(text):
    with pytest.raises(argparse.ArgumentTypeError):
        _size(text)


def test_host_defaults_to_loopback_unless_the_environment_says(monkeypatch):
    monkeypatch.delenv("MLPIPEX_SERVE_HOST", raising=False)
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    monkeypatch.setenv("MLPIPEX_SERVE_HOST", "0.0.0.0")
    assert build_parser().parse_args(["serve"]).host == "0.0.0.0"
    assert build_parser().parse_args(["serve", "--host", "::1"]).host == "::1"
