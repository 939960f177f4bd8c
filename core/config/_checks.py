"""Checks that span fields or touch the disk, run after the schema accepted the file.

Each problem is ``(path, message, fix, at_key)``; the loader turns the path into a
file:line:column, of the key itself when ``at_key`` (an unknown metric name).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from mlpipex.config._deploy_checks import deploy_problems
from mlpipex.config._yaml import Path_
from mlpipex.config.model import Config
from mlpipex.stats.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

Problem = tuple[Path_, str, str | None, bool]


def semantic_problems(config: Config, *, check_files: bool = True) -> list[Problem]:
    problems = (list(_metric_names(config)) + list(_unit_command(config)) + list(_skew_labels(config))
                + list(deploy_problems(config)))
    if check_files:
        problems += list(_files(config))
    return problems


def _suggest(name: str, options: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    listing = ", ".join(options)
    return f"did you mean `{close[0]}`? (known: {listing})" if close else f"known metrics: {listing}"


def _metric_names(config: Config) -> Iterator[Problem]:
    task = config.model.task
    known = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    sections: list[tuple[Path_, list[str]]] = [
        (("gates", "smoke", "thresholds"), list(config.gates.smoke.thresholds)),
        (("gates", "compare", "metrics"), list(config.gates.compare.metrics)),
    ]
    for path, names in sections:
        for name in names:
            if name not in known:
                yield (
                    (*path, name),
                    f"`{name}` is not a {task} metric",
                    _suggest(name, known),
                    True,
                )


def _unit_command(config: Config) -> Iterator[Problem]:
    unit = config.gates.unit
    if unit.enabled and unit.junit is None and not any("{junit}" in a for a in unit.command):
        yield (
            ("gates", "unit", "command"),
            "mlpipex cannot count the tests: the command writes no JUnit XML it knows of",
            'add "--junitxml={junit}" to the command (pytest), or set `junit:` to the file it writes',
            False,
        )


def _skew_labels(config: Config) -> Iterator[Problem]:
    skew, data = config.gates.skew, config.data
    if not skew.enabled or "max_label_mismatch_rate" not in skew.model_fields_set or data.prediction_column:
        return
    if data.score_column and config.model.task == "classification":
        return  # the skew gate derives the labels from the scores at the model's threshold
    yield (
        ("gates", "skew", "max_label_mismatch_rate"),
        "max_label_mismatch_rate has no labels to compare: data.prediction_column is not set"
        + (" (and a regression's scores have no labels)" if data.score_column else ""),
        "set data.prediction_column to the column of the training pipeline's predicted labels, or remove this setting",
        True,
    )


def _files(config: Config) -> Iterator[Problem]:
    # A SavedModel is a directory; every other model format, and the data, is a file.
    baseline_format = config.baseline.format or config.model.format
    required: list[tuple[Path_, str | None, str, bool]] = [
        (("model", "path"), config.model.path, "the model file", config.model.format == "savedmodel"),
        (("data", "holdout"), config.data.holdout, "the holdout set", False),
        (("baseline", "path"), config.baseline.path, "the baseline model", baseline_format == "savedmodel"),
    ]
    for path, value, what, directory in required:
        if value is None:
            continue
        resolved = config.resolve(value)
        if not (resolved.is_dir() if directory else resolved.is_file()):
            yield (
                path,
                f"{what} `{value}` does not exist (looked for {resolved})",
                "paths are relative to the config file's directory",
                False,
            )
    if config.gates.unit.enabled and not config.resolve(config.gates.unit.cwd).is_dir():
        yield (
            ("gates", "unit", "cwd"),
            f"working directory `{config.gates.unit.cwd}` does not exist",
            "paths are relative to the config file's directory",
            False,
        )
