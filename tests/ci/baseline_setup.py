"""The quickstart set up to compare with a deployed model only (the front ends' baseline tests)."""

from __future__ import annotations

from pathlib import Path

import yaml


def compare_with(repo: Path, baseline: dict, **deploy: object) -> None:
    """Only the compare gate, on metrics (no timing on a busy machine), against ``baseline``."""
    config = repo / "mlpipex.yaml"
    data = yaml.safe_load(config.read_text())
    compare = data["gates"]["compare"]
    data["gates"] = {"compare": {**compare, "latency": {"enabled": False}, "require_baseline": True}}
    data["baseline"] = baseline
    data.update({"deploy": deploy} if deploy else {})
    config.write_text(yaml.safe_dump(data, sort_keys=False))
