"""Config mutants a pull request can send end in exit 2 with file:line, never a crash (issue 15, item 5)."""

from __future__ import annotations

import time

import pytest

from mlpipex.cli import main
from mlpipex.config import load_config
from mlpipex.errors import ConfigError

HEAD = """\
apiVersion: mlpipex/v1
model:
  name: demo
  version: 1.0.0
  path: model.onnx
data:
  holdout: holdout.csv
  label: y
"""

BILLION_LAUGHS = "\n".join(
    ["apiVersion: mlpipex/v1", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    + ["model: *a9"]
)


def error_of(write_config, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text), check_files=False)
    problems = info.value.problems
    return "\n".join(str(p) for p in problems) if problems else str(info.value)


def test_billion_laughs_is_refused_quickly_with_a_line(write_config):
    started = time.monotonic()
    message = error_of(write_config, BILLION_LAUGHS)
    assert time.monotonic() - started < 5
    assert "mlpipex.yaml:" in message and "aliases" in message


def test_recursive_alias(write_config):
    message = error_of(write_config, HEAD + "gates: &g\n  unit:\n    env: *g\n")
    assert "mlpipex.yaml:9:" in message and "recursive alias" in message


def test_deep_nesting(write_config):
    message = error_of(write_config, HEAD + "x: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "mlpipex.yaml:9:" in message and "nests deeper than" in message


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("x: !!python/name:os.system ''\n", "tag:yaml.org,2002:python/name:os.system"),
        ("x: !foo bar\n", "the tag `!foo`"),
        ("base: &b {label: y}\nother:\n  <<: *b\n", "merge keys (`<<`)"),
    ],
)
def test_tags_and_merge_keys(write_config, tail, expected):
    message = error_of(write_config, HEAD + tail)
    assert "mlpipex.yaml:" in message and expected in message


def test_huge_document(write_config):
    message = error_of(write_config, HEAD + "#" * (2 * 1024 * 1024) + "\n")
    assert "larger than 1024 KiB" in message


@pytest.mark.parametrize("written", ["1e20", "1.0e+20"])
def test_iterations_are_bounded(write_config, written):
    message = error_of(write_config, HEAD + f"gates:\n  latency:\n    iterations: {written}\n")
    assert "mlpipex.yaml:11:17: `gates.latency.iterations`" in message


@pytest.mark.parametrize(("written", "read"), [("1.10", "1.10"), ("2", "2"), ('"1.10"', "1.10"), ("1.0.0", "1.0.0")])
def test_version_keeps_its_text(write_config, written, read):
    config = load_config(write_config(HEAD.replace("version: 1.0.0", f"version: {written}")), check_files=False)
    assert config.model.version == read


@pytest.mark.parametrize(
    "text", [BILLION_LAUGHS, HEAD + "x: " + "[" * 5000 + "]" * 5000 + "\n", HEAD + "x: !foo bar\n",
             HEAD + "gates:\n  latency:\n    iterations: 1.0e+20\n"],
)  # fmt: skip
def test_validate_exits_2_not_3(write_config, capsys, text):
    assert main(["validate", "-c", str(write_config(text))]) == 2
    err = capsys.readouterr().err
    assert "mlpipex.yaml:" in err and "this is a bug" not in err
