"""A deploy setting the chosen KServe mode refuses is an error at `mlpipex validate` (exit 2),
naming the key (file:line) and the mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpipex.cli import main


def _write(quickstart, deploy: dict) -> str:
    path = quickstart / "mlpipex.yaml"
    data = yaml.safe_load(path.read_text())
    data["deploy"] = deploy
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _line_of(path: str, key: str) -> int:
    """The line of ``key`` inside the deploy section."""
    lines = Path(path).read_text().splitlines()
    start = lines.index("deploy:")
    return next(i for i, line in enumerate(lines[start:], start + 1) if line.strip().startswith(f"{key}:"))


@pytest.mark.parametrize(
    ("deploy", "key", "words"),
    [
        ({"mode": "Knative", "replicas": {"metric": "cpu"}}, "metric", "`deploy.replicas.metric: cpu` is refused with mode Knative"),
        ({"mode": "Knative", "replicas": {"metric": "memory"}}, "metric", "refused with mode Knative"),
        ({"mode": "Standard", "replicas": {"metric": "concurrency"}}, "metric", "`deploy.replicas.metric: concurrency` is refused with mode Standard"),
        ({"mode": "Standard", "replicas": {"metric": "rps", "target": 50}}, "metric", "refused with mode Standard"),
        ({"mode": "Standard", "replicas": {"metric": "cpu", "target": 150}}, "target", "utilization percentage (1-100)"),
        ({"mode": "Standard", "replicas": {"min": 0}}, "min", "`deploy.replicas.min: 0` is refused with mode Standard"),
        ({"replicas": {"min": 4, "max": 2}}, "min", "is above replicas.max"),
        ({"protocol": "v1"}, "protocol", "serves onnx over v1"),
        ({"name": "a" * 39, "environments": [{"name": "prod"}]}, "name", "too long with mode Standard"),
    ],
)  # fmt: skip
def test_validate_refuses_what_the_mode_refuses(quickstart, capsys, deploy, key, words):
    path = _write(quickstart, deploy)
    assert main(["validate", "-c", path]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert f"mlpipex.yaml:{_line_of(path, key)}:" in err


def test_an_environment_override_names_the_environment(quickstart, capsys):
    path = _write(quickstart, {"mode": "Standard", "replicas": {"metric": "concurrency"},
                               "environments": [{"name": "staging", "mode": "Knative"}, {"name": "prod"}]})  # fmt: skip
    assert main(["validate", "-c", path]) == 2
    err = capsys.readouterr().err
    assert "refused with mode Standard (environment prod)" in err and "staging" not in err.split("fix:")[0]


@pytest.mark.parametrize(
    "deploy",
    [
        {"mode": "Knative", "replicas": {"min": 0, "metric": "concurrency", "target": 8}},
        {"mode": "Knative", "replicas": {"metric": "rps", "target": 300}},
        {"mode": "Standard", "replicas": {"metric": "memory", "target": 70}},
        {"name": "a" * 38, "environments": [{"name": "prod"}]},
        {"name": "a" * 39},  # nothing deployed
        {"mode": "Knative", "name": "a" * 39},
        {"protocol": "v1", "runtime": "mlpipex-onnx", "service_account": "bc-serving", "image_pull_secrets": ["ghcr"]},
    ],
)
def test_validate_accepts_what_the_mode_admits(quickstart, capsys, deploy):
    assert main(["validate", "-c", _write(quickstart, deploy)]) == 0, capsys.readouterr().err
