"""The provider outside CI: reports stay on disk, outputs go to a dotenv file if asked."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mlpipex.gates.result import Report
from mlpipex.providers._base import CiContext, DeployEvent, Published


class LocalProvider:
    name = "local"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.env = dict(os.environ if environ is None else environ)

    def context(self) -> CiContext:
        return CiContext("local")

    def started(self, model: str) -> None:
        return None

    def publish(self, report: Report, markdown: str, *, config_path: str) -> Published:
        return Published(places=("reports on disk",))

    def artifact_pushed(self, model: str, reference: str) -> Published:
        return Published()

    def deployed(self, event: DeployEvent, markdown: str) -> Published:
        return Published()

    def write_outputs(self, outputs: Mapping[str, str]) -> None:
        target = self.env.get("MLPIPEX_OUTPUTS")
        if target:
            write_dotenv(Path(target), outputs)


def write_dotenv(path: Path, outputs: Mapping[str, str]) -> None:
    """KEY=value lines; values are single-line by construction (digests, verdicts, paths)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for key, value in outputs.items():
            handle.write(f"{key}={str(value).splitlines()[0] if value else ''}\n")
