"""What a gate run shares: the config, the loaded models, the holdout, predictions.

Everything is loaded lazily and once, so ``--only latency`` never reads the holdout
twice and the skew and compare gates reuse the smoke gate's predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mlpipex.config import Config
from mlpipex.errors import InputError, Location
from mlpipex.gates._baseline import Baseline, Missing, resolve_baseline
from mlpipex.gates._production import WindowsReader
from mlpipex.runtime import (
    GPU_PROVIDERS,
    Holdout,
    ModelRuntime,
    Predictions,
    load_holdout,
    load_model,
)

__all__ = ["GateContext", "Progress"]

# (label, done, total): gates report long work through this; the console draws it.
Progress = Callable[[str, int, int], None]


def _no_progress(label: str, done: int, total: int) -> None:
    return None


@dataclass
class GateContext:
    config: Config
    progress: Progress = _no_progress
    # How the compare gate reads the monitor's live windows (deploy.monitor): given by the caller, since
    # the monitor's client lives above the gates (mlpipex.monitor imports drift, drift the reports).
    read_monitor_windows: WindowsReader | None = None
    _predictions: dict[str, Predictions] = field(default_factory=dict)

    @cached_property
    def holdout(self) -> Holdout:
        return load_holdout(self.config)

    @cached_property
    def candidate(self) -> ModelRuntime:
        signature = self.config.model.signature
        return self._load(self.config.resolve(self.config.model.path), "model.path", self.config.model.format,
                          signature.model_dump() if signature else None)  # fmt: skip

    @cached_property
    def baseline_source(self) -> Baseline | Missing | None:
        """What the baseline is (a file, or a package pulled by digest); resolved once, when first asked."""
        return resolve_baseline(self.config)

    def resolved_baseline(self) -> Baseline | None:
        """The baseline if a gate already resolved it (the report names it), without resolving it."""
        source = self.__dict__.get("baseline_source")
        return source if isinstance(source, Baseline) else None

    @cached_property
    def baseline(self) -> ModelRuntime | None:
        source = self.baseline_source
        if not isinstance(source, Baseline):
            return None
        key = "baseline.path" if self.config.baseline.path else "baseline.artifact/environment"
        return self._load(source.path, key, source.format)

    def _load(self, path: Path, key: str, fmt: str, declared: dict[str, Any] | None = None) -> ModelRuntime:
        if not (path.is_dir() if fmt == "savedmodel" else path.is_file()):
            raise InputError(
                f"{key} `{path}` does not exist", location=Location(str(self.config.source))
            )
        latency = self.config.gates.latency
        # A pickled format is trusted only inside the repository that holds this config.
        return load_model(path, fmt, threads=latency.threads, providers=self.providers(fmt),
                          trusted_root=self.config.source.resolve().parent, declared=declared)  # fmt: skip

    def providers(self, fmt: str) -> list[str]:
        """Where the latency gate runs a model: as configured, else the device it will serve on.

        A model deployed with a GPU (deploy.gpu) is timed on a GPU where this runner has
        one; the adapters fall back to the CPU and the latency gate says so.
        """
        latency = self.config.gates.latency
        if "providers" in latency.model_fields_set:
            configured = list(latency.providers)
            if fmt == "onnx":
                return configured
            # onnxruntime's names; another runtime takes a GPU provider to mean its own GPU device
            return ["cuda", "cpu"] if any(p in GPU_PROVIDERS for p in configured) else []
        gpu = self.config.deploy.gpu
        if gpu is None or not gpu.count:
            return list(latency.providers) if fmt == "onnx" else []
        return ["CUDAExecutionProvider", "CPUExecutionProvider"] if fmt == "onnx" else ["cuda", "cpu"]

    def _roles(self, which: str) -> dict[str, str | None]:
        """model.outputs names the candidate's outputs; a baseline in another format has its own, inferred."""
        if which == "baseline":
            source = self.baseline_source
            if not isinstance(source, Baseline) or source.format != self.config.model.format:
                return {}
        return self.config.model.outputs.model_dump()

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
                roles=self._roles(which),
                on_batch=lambda done, total: self.progress(f"{which} inference", done, total),
            )
        return self._predictions[which]
