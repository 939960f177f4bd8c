"""What a gate run shares: the config, the loaded models, the holdout, predictions.

Everything is loaded lazily and once, so ``--only latency`` never reads the holdout
twice and the skew and compare gates reuse the smoke gate's predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from mlpipex.config import Config
from mlpipex.errors import InputError, Location
from mlpipex.runtime import Holdout, OnnxModel, Predictions, load_holdout

__all__ = ["GateContext", "Progress"]

# (label, done, total): gates report long work through this; the console draws it.
Progress = Callable[[str, int, int], None]


def _no_progress(label: str, done: int, total: int) -> None:
    return None


@dataclass
class GateContext:
    config: Config
    progress: Progress = _no_progress
    _predictions: dict[str, Predictions] = field(default_factory=dict)

    @cached_property
    def holdout(self) -> Holdout:
        return load_holdout(self.config)

    @cached_property
    def candidate(self) -> OnnxModel:
        return self._load(self.config.resolve(self.config.model.path), "model.path")

    @cached_property
    def baseline(self) -> OnnxModel | None:
        path = self.config.baseline.path
        return self._load(self.config.resolve(path), "baseline.path") if path else None

    def _load(self, path: Path, key: str) -> OnnxModel:
        if not path.is_file():
            raise InputError(
                f"{key} `{path}` does not exist", location=Location(str(self.config.source))
            )
        latency = self.config.gates.latency
        return OnnxModel(path, threads=latency.threads, providers=latency.providers)

    def predictions(self, which: str = "candidate") -> Predictions:
        """The model's predictions over the whole holdout, computed once per model."""
        if which not in self._predictions:
            model = self.candidate if which == "candidate" else self.baseline
            assert model is not None
            holdout = self.holdout
            self._predictions[which] = model.predict(
                holdout.features,
                holdout.feature_names,
                task=self.config.model.task,
                batch_size=self.config.gates.smoke.batch_size,
                roles=self.config.model.outputs.model_dump(),
                on_batch=lambda done, total: self.progress(f"{which} inference", done, total),
            )
        return self._predictions[which]
