"""``mlpipex init``: write a commented mlpipex.yaml for a model and holdout that already exist.

The signature comes from the ONNX graph (what the schema gate will check), the
task and output roles from its outputs, the label and feature columns from the
holdout's header and values. ``infer`` and ``render`` are pure; ``run`` reads the
files, writes the config, and loads it back with the real loader so that what
it wrote is what ``mlpipex validate`` accepts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpipex.errors import EXIT_OK, InputError, Location

__all__ = ["Plan", "infer", "register", "render"]

LABEL_NAMES = ("label", "target", "y", "class", "outcome")  # what a label column is usually called
_PREDICTION = re.compile(r"pred", re.IGNORECASE)
_SCORE = re.compile(r"score|prob", re.IGNORECASE)
_GENERIC_STEMS = {"model", "model_final", "final", "best", "export", "exported"}
MAX_CLASSES = 20  # an integer label with more distinct values than this reads as a regression target


def register(commands: Any) -> None:
    parser = commands.add_parser("init", help="write a commented mlpipex.yaml for an existing ONNX model and holdout")
    parser.add_argument("--model", required=True, metavar="FILE", help="the ONNX model file")
    parser.add_argument("--holdout", required=True, metavar="FILE", help="holdout set, CSV or Parquet, with the true labels")
    parser.add_argument("--label", metavar="COLUMN", help="the holdout's label column (default: guessed, see the output)")
    parser.add_argument("--features", metavar="COLUMNS",
                        help="comma-separated feature columns in model input order (default: the other columns)")  # fmt: skip
    parser.add_argument("--task", choices=("classification", "regression"),
                        help="default: classification when the model outputs labels or the label has few integer values")  # fmt: skip
    parser.add_argument("--name", help="model name, a DNS label (default: from the model file or directory name)")
    parser.add_argument("--version", dest="model_version", default="0.1.0", metavar="VERSION",
                        help="model version (default 0.1.0)")  # fmt: skip
    parser.add_argument("-o", "--output", default="mlpipex.yaml", metavar="FILE",
                        help="where to write the config (default mlpipex.yaml)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="overwrite an existing config file")
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str
    shape: tuple[int | str | None, ...] | None


@dataclass
class Plan:
    name: str
    version: str
    model_path: str
    holdout_path: str
    task: str
    inputs: list[Tensor]
    outputs: list[Tensor]
    roles: dict[str, str]
    label: str
    features: list[str]
    why_label: str
    prediction_column: str | None = None
    score_column: str | None = None
    has_tests: bool = False
    classes: list[Any] = field(default_factory=list)


def dns_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return name or "model"


def _guess_label(columns: Sequence[str], held_back: set[str]) -> tuple[str, str]:
    lowered = {c.lower(): c for c in columns}
    for name in LABEL_NAMES:
        if name in lowered:
            return lowered[name], f"the column named `{lowered[name]}`"
    rest = [c for c in columns if c not in held_back]
    if not rest:
        raise InputError("the holdout has no column left for the label", fix="name it with --label COLUMN")
    return rest[-1], "the last column that is not a prediction or score; else pass --label"


def _is_discrete(tensor: Tensor) -> bool:
    return not tensor.dtype.startswith(("float", "bfloat"))


def infer(*, inputs: Sequence[Tensor], outputs: Sequence[Tensor], columns: Sequence[str], label_values: Any,
          label: str | None, features: Sequence[str] | None, task: str | None) -> tuple[str, list[str], str, str]:  # fmt: skip
    """(label, features in model input order, task, why that label). ``label_values(column)`` reads one column."""
    if label is not None and label not in columns:
        raise InputError(f"--label `{label}` is not a holdout column (columns: {', '.join(columns)})",
                         fix="pass one of the holdout's column names")  # fmt: skip
    held_back = {c for c in columns if _PREDICTION.search(c) or _SCORE.search(c)}
    single = len(inputs) == 1 and inputs[0].shape is not None and len(inputs[0].shape) == 2
    if label is None:
        named = {i.name for i in inputs} if not single else set()
        label, why = _guess_label(columns, held_back | named)
    else:
        why = "--label"
    if features:
        chosen = list(features)
        unknown = [c for c in chosen if c not in columns]
        if unknown:
            raise InputError(f"--features names columns the holdout lacks: {', '.join(unknown)}",
                             fix=f"columns are: {', '.join(columns)}")  # fmt: skip
    elif single:
        chosen = [c for c in columns if c != label and c not in held_back]
    else:  # one input per feature: the holdout columns of the same names, in input order
        missing = [i.name for i in inputs if i.name not in columns]
        if missing:
            raise InputError(f"model inputs {', '.join(missing)} have no holdout column of the same name",
                             fix="rename the holdout's columns after the model's inputs")  # fmt: skip
        chosen = [i.name for i in inputs]
    width = inputs[0].shape[1] if single and inputs[0].shape else None
    if isinstance(width, int) and width != len(chosen):
        raise InputError(f"input `{inputs[0].name}` takes {width} features; the holdout has {len(chosen)} columns "
                         f"besides the label `{label}` ({why}) and prediction/score columns",
                         fix="name the label with --label and the features with --features a,b,c")  # fmt: skip
    if task is None:
        values = label_values(label)
        textual = values.dtype.kind in "OUSb"  # words or booleans are classes, however many
        integral = values.dtype.kind in "iu" or (values.dtype.kind == "f" and bool((values[~_nan(values)] % 1 == 0).all()))
        few = len(set(values.tolist())) <= MAX_CLASSES
        discrete_output = any(_is_discrete(o) for o in outputs)
        task = "classification" if discrete_output or textual or (integral and few) else "regression"
    return label, chosen, task, why


def _nan(values: Any) -> Any:
    import numpy as np

    return np.isnan(values)


def _yaml(value: Any) -> str:
    """A YAML flow scalar or list: JSON is YAML, and quotes whatever a column name holds."""
    return json.dumps(value, ensure_ascii=False)


def _wrapped(head: str, items: Sequence[str], width: int = 100) -> list[str]:
    """A flow list over several lines, items never split."""
    lines, line = [], head
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "]")
        if len(line) + len(piece) + 1 > width and line.strip() not in (head.strip(),):
            lines.append(line.rstrip())
            line = " " * len(head)
        line += piece + " "
    lines.append(line.rstrip() if items else head + "]")
    return lines


def _shape(shape: tuple[int | str | None, ...] | None) -> str:
    return "null" if shape is None else "[" + ", ".join("null" if d is None else _yaml(d) if isinstance(d, str) else str(d)
                                                      for d in shape) + "]"  # fmt: skip


def render(plan: Plan) -> str:
    """The commented mlpipex.yaml (pure)."""
    lines = [
        "# mlpipex.yaml written by `mlpipex init`: review it, then run `mlpipex validate` and `mlpipex gate`.",
        "# Paths are relative to this file. Every key: `mlpipex schema` (JSON Schema), docs in the README.",
        "apiVersion: mlpipex/v1",
        "",
        "model:",
        f"  name: {_yaml(plan.name)}                 # a DNS label: the InferenceService and package name",
        f"  version: {_yaml(plan.version)}",
        f"  path: {_yaml(plan.model_path)}",
        "  format: onnx",
        f"  task: {plan.task}",
        "  signature:                      # read from the graph; the schema gate fails when the graph changes",
        "    inputs:",
        *(f"      - {{name: {_yaml(t.name)}, dtype: {t.dtype}, shape: {_shape(t.shape)}}}" for t in plan.inputs),
        "    outputs:",
        *(f"      - {{name: {_yaml(t.name)}, dtype: {t.dtype}, shape: {_shape(t.shape)}}}" for t in plan.outputs),
        "  outputs: {" + ", ".join(f"{role}: {_yaml(name)}" for role, name in plan.roles.items()) + "}"
        "   # which output is which",
        "",
        "data:",
        f"  holdout: {_yaml(plan.holdout_path)}",
        f"  label: {_yaml(plan.label)}" + f"          # {plan.why_label}",
        *_wrapped("  features: [", [_yaml(f) for f in plan.features]),
    ]
    if plan.prediction_column or plan.score_column:
        lines.append("  # The training pipeline's own predictions, for the skew gate (ONNX vs training):")
        if plan.prediction_column:
            lines.append(f"  # prediction_column: {_yaml(plan.prediction_column)}")
        if plan.score_column:
            lines.append(f"  # score_column: {_yaml(plan.score_column)}")
    lines += ["  # training: data/training.csv   # the reference profile for drift monitoring", "", "gates:"]
    if plan.task == "classification":
        lines += ["  smoke:                          # metric floors on the holdout; `mlpipex gate` prints the values",
                  "    thresholds: {}                # e.g. {accuracy: \">= 0.95\", auc: \">= 0.97\", log_loss: \"<= 0.2\"}"]
    else:
        lines += ["  smoke:                          # metric limits on the holdout; `mlpipex gate` prints the values",
                  "    thresholds: {}                # e.g. {rmse: \"<= 2.5\", r2: \">= 0.8\"}"]
    lines += ["  latency:                        # milliseconds per call, by batch size: set your own SLA",
              "    sla: [{batch_size: 1, p99: 100}]   # e.g. add {batch_size: 64, p99: 50}"]
    if plan.has_tests:
        lines += ["  unit:                           # your pre/post-processing tests (tests/ is next to this file)",
                  '    command: ["{python}", "-m", "pytest", "-q", "tests", "--junitxml={junit}"]']
    else:
        lines += ["  unit: false                     # no tests/ next to this file; set `command:` to run yours"]
    lines += ["  skew: false                     # set data.prediction_column / score_column, then turn it on",
              "", "# baseline:                      # the model now deployed, for the compare gate",
              "#   path: models/baseline.onnx", ""]
    return "\n".join(lines)


def _relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.runtime.data import read_table, table_columns
    from mlpipex.runtime.model import OnnxModel

    output = Path(args.output)
    if output.exists() and not args.force:
        raise InputError(f"{output} exists", location=Location(str(output)), fix="pass --force to overwrite it, or -o OTHER.yaml")
    model_path, holdout_path = Path(args.model), Path(args.holdout)
    for what, path in (("model", model_path), ("holdout", holdout_path)):
        if not path.is_file():
            raise InputError(f"{what} file not found: {path}", location=Location(str(path)), fix=f"pass --{what} PATH to an existing file")
    model = OnnxModel(model_path)
    columns = table_columns(holdout_path)
    if not columns:
        raise InputError("the holdout has no header row", location=Location(str(holdout_path)), fix="write the column names in the first row")
    table: dict[str, Any] = {}

    def label_values(column: str) -> Any:
        if not table:
            table.update(read_table(holdout_path))
        return table[column]

    inputs = [Tensor(t.name, t.dtype, t.shape) for t in model.inputs]
    outputs = [Tensor(t.name, t.dtype, t.shape) for t in model.outputs]
    features = [c.strip() for c in args.features.split(",") if c.strip()] if args.features else None
    label, chosen, task, why = infer(inputs=inputs, outputs=outputs, columns=columns, label_values=label_values,
                                     label=args.label, features=features, task=args.task)  # fmt: skip
    base = output.parent
    stem = model_path.stem.lower()
    name = dns_name(args.name or (base.resolve().name if stem in _GENERIC_STEMS else stem))
    plan = Plan(name=name, version=args.model_version, model_path=_relative(model_path, base),
                holdout_path=_relative(holdout_path, base), task=task, inputs=inputs, outputs=outputs,
                roles=model.output_roles(task, {}), label=label, features=chosen, why_label=why,
                prediction_column=next((c for c in columns if _PREDICTION.search(c) and c != label), None),
                score_column=next((c for c in columns if _SCORE.search(c) and c != label), None),
                has_tests=(base / "tests").is_dir())  # fmt: skip
    output.write_text(render(plan), encoding="utf-8")
    try:
        config = load_config(output)
    except Exception:
        output.unlink()  # never leave a config behind that validate would refuse
        raise
    print(f"wrote {output}: {config.model.name} ({task}), {len(inputs)} input(s), label `{label}` ({why}), "
          f"{len(chosen)} features\n  next: mlpipex validate -c {output} && mlpipex gate -c {output}")  # fmt: skip
    return EXIT_OK
