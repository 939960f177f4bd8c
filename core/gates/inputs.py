"""What the gates would reject about their inputs, found without running any gate.

``mlpipex validate`` calls :func:`input_problems`; every check is the function the
gates themselves call (the holdout loader, the model loader, the schema gate's
tensor comparison, the feed plan, the output roles), so the messages are the ones
``mlpipex gate`` would print — only sooner, and all at once.
"""

from __future__ import annotations

from mlpipex.config import Config
from mlpipex.errors import InputError, Location, MlpipexError
from mlpipex.gates import schema, smoke
from mlpipex.gates._context import GateContext
from mlpipex.runtime import ModelRuntime

__all__ = ["input_problems"]


def input_problems(config: Config) -> list[MlpipexError]:
    """Every problem with the holdout, the model and the baseline; empty when the gates can run."""
    ctx = GateContext(config)
    problems: list[MlpipexError] = []
    holdout = None
    try:
        holdout = ctx.holdout
    except MlpipexError as exc:
        problems.append(exc)
    models: list[tuple[str, ModelRuntime]] = []
    for key, which in (("model.path", "candidate"), ("baseline.path", "baseline")):
        if which == "baseline" and not config.baseline.path:
            continue
        path = config.resolve(config.model.path if which == "candidate" else str(config.baseline.path))
        fmt = config.model.format if which == "candidate" else (config.baseline.format or config.model.format)
        problem = schema.onnx_problem(path) if fmt == "onnx" else None
        if problem:
            problems.append(InputError(f"{key}: {problem}", location=Location(str(path))))
            continue
        try:
            model = ctx.candidate if which == "candidate" else ctx.baseline
        except MlpipexError as exc:
            problems.append(exc)
            continue
        assert model is not None
        models.append((key, model))
    for key, model in models:
        if key == "model.path" and config.model.signature is not None:
            signature = config.model.signature
            checks = schema.compare_tensors("inputs", signature.inputs, model.inputs)
            checks += schema.compare_tensors("outputs", signature.outputs, model.outputs)
            problems += [InputError(f"model.signature: {c.message}", location=_at(config, "model", "signature"))
                         for c in checks if not c.ok]  # fmt: skip
        try:
            model.output_roles(config.model.task, config.model.outputs.model_dump())
        except MlpipexError as exc:
            problems.append(exc)
        classes = model.classes(None, None)  # known before running only when the graph records them
        if holdout is not None and key == "model.path" and config.model.task == "classification" and classes:
            unscorable = smoke.labels_problem(holdout.labels, classes)
            if unscorable:
                problems.append(unscorable)
        if holdout is not None:
            feed = schema.feed_problem(config, model, holdout.feature_names)
            if feed:
                problems.append(InputError(f"{key}: {feed}", location=Location(str(model.path))))
    return problems


def _at(config: Config, *path: str) -> Location:
    return Location(str(config.source), config.line_of(*path))
