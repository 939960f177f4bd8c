"""The deployment gates and the one function that runs them.

Each gate is a module with ``NAME`` and ``run(ctx) -> GateResult``; its numbers-in,
verdict-out logic is a pure ``evaluate`` beside it. ``GATES`` fixes their order.
"""

from __future__ import annotations

import datetime as _dt
import platform
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from mlpipex.config import Config
from mlpipex.errors import EXIT_EXTERNAL, MlpipexError
from mlpipex.gates import compare, latency, schema, serving, skew, smoke, unit
from mlpipex.gates._context import GateContext, Progress
from mlpipex.gates._production import WindowsReader
from mlpipex.gates.inputs import input_problems
from mlpipex.gates.result import GateResult, Measurement, ModelInfo, Report, Status

__all__ = [
    "GATES",
    "GateContext",
    "GateResult",
    "Measurement",
    "ModelInfo",
    "Report",
    "Status",
    "input_problems",
    "run_gates",
    "select_gates",
]

GATES: dict[str, Callable[[GateContext], GateResult]] = {
    schema.NAME: schema.run,
    unit.NAME: unit.run,
    smoke.NAME: smoke.run,
    latency.NAME: latency.run,
    compare.NAME: compare.run,
    skew.NAME: skew.run,
    serving.NAME: serving.run,
}


def select_gates(config: Config, only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[str]:
    """Enabled gates, narrowed by --only / --skip. Unknown names are the caller's to reject."""
    only, skip = set(only), set(skip)
    chosen = []
    for name in GATES:
        enabled = getattr(config.gates, "schema_" if name == "schema" else name).enabled
        if only and name not in only:
            continue
        if name in skip or (not enabled and name not in only):
            continue
        chosen.append(name)
    return chosen


def run_gates(
    config: Config,
    names: Iterable[str] | None = None,
    *,
    progress: Progress | None = None,
    on_start: Callable[[str], None] | None = None,
    on_result: Callable[[GateResult], None] | None = None,
    fail_on: Status = Status.FAIL,
    read_monitor_windows: WindowsReader | None = None,
) -> Report:
    """Run the gates in order and collect a report. Never raises for a gate's failure.

    ``read_monitor_windows``: how the compare gate reads the monitor's live window of the deployed
    model (deploy.monitor); None leaves it out, with a note."""
    names = list(names) if names is not None else select_gates(config)
    ctx = GateContext(config, read_monitor_windows=read_monitor_windows)
    if progress:
        ctx.progress = progress
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    results: list[GateResult] = []
    for name in names:
        if on_start:
            on_start(name)
        g0 = time.perf_counter()
        result = _run_one(name, ctx)
        result.duration_s = round(time.perf_counter() - g0, 4)
        results.append(result)
        if on_result:
            on_result(result)
    path = config.resolve(config.model.path)
    size_sha = _digest_or_none(path)
    model = ModelInfo(
        name=config.model.name,
        version=config.model.version,
        path=config.model.path,
        format=config.model.format,
        sha256=size_sha[1] if size_sha else None,
        size_bytes=size_sha[0] if size_sha else None,
    )
    baseline = None
    pulled = ctx.resolved_baseline()
    if pulled is not None and pulled.artifact:
        base = _digest_or_none(pulled.path)
        baseline = ModelInfo(name=pulled.name, version=pulled.version, path=pulled.artifact, format=pulled.format,
                             sha256=base[1] if base else None, size_bytes=base[0] if base else None,
                             artifact=pulled.artifact, requested=pulled.requested, environment=pulled.environment,
                             serving=pulled.serving, deployed_at=pulled.deployed_at,
                             deployed_from=pulled.deployed_from, notes=list(pulled.notes))  # fmt: skip
    elif config.baseline.path:
        base = _digest_or_none(config.resolve(config.baseline.path))
        baseline = ModelInfo(name=config.model.name, version="baseline", path=config.baseline.path,
                             format=config.baseline.format or config.model.format,
                             sha256=base[1] if base else None, size_bytes=base[0] if base else None)  # fmt: skip
    return Report(
        model=model,
        baseline=baseline,
        gates=results,
        started_at=started.isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - t0, 3),
        environment=environment({config.model.format, pulled.format if pulled else config.baseline.format or config.model.format}),
        config_path=str(config.source),
        fail_on=fail_on,
    )


def _run_one(name: str, ctx: GateContext) -> GateResult:
    try:
        return GATES[name](ctx)
    except MlpipexError as exc:
        return GateResult(name, Status.ERROR, str(exc).replace("\n", " "), error_exit_code=exc.exit_code)
    except Exception as exc:  # a bug: report it as this gate's error, keep the other gates running
        return GateResult(
            name, Status.ERROR,
            f"unexpected {type(exc).__name__}: {exc} (this is a bug in mlpipex; please report it)",
            error_exit_code=EXIT_EXTERNAL,
        )  # fmt: skip


def _digest_or_none(path: Path) -> tuple[int, str] | None:
    try:
        from mlpipex.digests import file_digest

        return file_digest(path)
    except OSError:
        return None


def environment(formats: Iterable[str] = ()) -> dict[str, str]:
    """Versions that explain a latency number or a metric difference (and those of the models' frameworks)."""
    import numpy
    import onnxruntime

    from mlpipex.runtime import framework_version, model_format
    from mlpipex.version import __version__

    frameworks = {}
    for fmt in sorted(set(formats) - {"onnx"}):
        frameworks[model_format(fmt).framework] = framework_version(fmt) or "not installed"
    return {
        "mlpipex": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "onnxruntime": onnxruntime.__version__,
        "numpy": numpy.__version__,
        "providers": ",".join(onnxruntime.get_available_providers()),
        **frameworks,
    }
