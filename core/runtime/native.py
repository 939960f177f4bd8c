"""scikit-learn, XGBoost and LightGBM models, each in its own framework.

These formats record no tensor signature. Each takes one ``[batch, n_features]``
matrix (``input-0``, KServe's name for an unnamed v2 input) and gives ``label`` and
``probabilities`` for a classifier, ``value`` for a regressor: what the framework's
``predict`` / ``predict_proba`` return. The width, the fitted feature names and the
classes come from the artifact.

A scikit-learn file is a pickle, and unpickling runs code: mlpipex loads one only
from the repository being gated or from a package pinned by digest (see
``mlpipex.runtime.formats.load_model``), never from a path outside them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlpipex.errors import InputError, Location
from mlpipex.runtime.base import TabularModel, TensorInfo, first_line, require_extra

__all__ = ["INPUT_NAME", "LightgbmModel", "SklearnModel", "XgboostModel"]

INPUT_NAME = "input-0"
BINARY_CLASSES: tuple[Any, ...] = (0, 1)  # a booster's binary objective: probabilities of 0, then of 1


def _matrix_input(width: int | None, dtype: str) -> list[TensorInfo]:
    return [TensorInfo(INPUT_NAME, dtype, (None, width))]


def _classifier_outputs(label_dtype: str, n_classes: int | None, prob_dtype: str) -> list[TensorInfo]:
    return [TensorInfo("label", label_dtype, (None,)), TensorInfo("probabilities", prob_dtype, (None, n_classes))]


def _dtype_name(values: np.ndarray) -> str:
    kind = values.dtype.kind
    if kind in "iub":
        return "int64" if kind != "b" else "bool"
    if kind == "f":
        return str(values.dtype)
    return "string"


def _load_error(fmt: str, path: Path, exc: BaseException, fix: str) -> InputError:
    return InputError(f"{fmt} cannot load the model: {first_line(exc)}", location=Location(str(path)), fix=fix)


class SklearnModel(TabularModel):
    """A fitted scikit-learn estimator or pipeline saved with joblib."""

    def __init__(self, path: Path, *, threads: int = 1, providers: Sequence[str] = ()) -> None:
        joblib = require_extra("joblib", "sklearn", "sklearn")
        require_extra("sklearn", "sklearn", "sklearn")
        from sklearn.base import is_classifier, is_regressor

        self.path, self.format = path, "sklearn"
        self.providers, self.skipped_providers = ["cpu"], [p for p in providers if p != "cpu"]
        try:
            estimator = joblib.load(path)
        except Exception as exc:  # a truncated file, another pickle, a missing class: all "not loadable"
            raise _load_error("joblib", path, exc, "save the fitted estimator with joblib.dump(model, 'model.joblib')") from None
        if not callable(getattr(estimator, "predict", None)):
            raise InputError(f"the object in the file is a {type(estimator).__name__}, which has no predict()",
                             location=Location(str(path)),
                             fix="joblib.dump the fitted estimator (or Pipeline) itself")  # fmt: skip
        self.estimator = estimator
        width = getattr(estimator, "n_features_in_", None)
        names = getattr(estimator, "feature_names_in_", None)
        self.feature_names_in = tuple(str(n) for n in names) if names is not None else None
        self.inputs = _matrix_input(int(width) if width is not None else None, "float64")
        self.classifier = is_classifier(estimator) or (not is_regressor(estimator) and hasattr(estimator, "classes_"))
        if self.classifier:
            classes = np.asarray(estimator.classes_)
            self._class_labels = tuple(classes.tolist())
            has_proba = callable(getattr(estimator, "predict_proba", None))
            self.outputs = _classifier_outputs(_dtype_name(classes), len(classes), "float64")
            if not has_proba:
                self.outputs = self.outputs[:1]
        else:
            self.outputs = [TensorInfo("value", "float64", (None,))]

    def runner(self, feed: dict[str, np.ndarray]) -> Callable[[], Any]:
        """What serving calls: ``predict`` (and ``predict_proba`` for a classifier)."""
        matrix = feed[INPUT_NAME]
        predict = self.estimator.predict
        if len(self.outputs) == 2:
            proba = self.estimator.predict_proba
            return lambda: (predict(matrix), proba(matrix))
        return lambda: predict(matrix)

    def _run(self, feed: dict[str, np.ndarray]) -> Sequence[Any]:
        matrix = feed[INPUT_NAME]
        if len(self.outputs) == 2:
            return [self.estimator.predict(matrix), self.estimator.predict_proba(matrix)]
        return [self.estimator.predict(matrix)]


class XgboostModel(TabularModel):
    """An XGBoost Booster saved with ``save_model`` (JSON, UBJSON or the binary ``.bst``)."""

    def __init__(self, path: Path, *, threads: int = 1, providers: Sequence[str] = ()) -> None:
        xgb = require_extra("xgboost", "xgboost", "xgboost")
        self.path, self.format = path, "xgboost"
        self.providers, self.skipped_providers = ["cpu"], [p for p in providers if p != "cpu"]
        try:
            # From the bytes: XGBoost tells JSON from UBJSON by content, whatever the name (model.bst in a package)
            booster = xgb.Booster(params={"nthread": threads})
            booster.load_model(bytearray(path.read_bytes()))
            learner = json.loads(booster.save_config())["learner"]
        except Exception as exc:  # XGBoostError for anything that is not a saved booster
            raise _load_error("xgboost", path, exc, "save the model with booster.save_model('model.json') "
                                                    "(or model.ubj / model.bst)") from None  # fmt: skip
        self.booster = booster
        self.objective = str(learner["objective"]["name"])
        n_classes = int(learner["learner_model_param"].get("num_class", "0") or 0)
        names = booster.feature_names
        self.feature_names_in = tuple(names) if names else None
        self.inputs = _matrix_input(int(booster.num_features()), "float32")
        self.kind = _objective_kind(self.objective)
        if self.kind == "binary":
            self._class_labels = BINARY_CLASSES
            self.outputs = _classifier_outputs("int64", 2, "float32")
        elif self.kind == "multi":
            self._class_labels = tuple(range(n_classes))
            self.outputs = _classifier_outputs("int64", n_classes, "float32")
        elif self.kind == "multi-label":  # multi:softmax predicts the class index itself
            self._class_labels = tuple(range(n_classes))
            self.outputs = [TensorInfo("label", "int64", (None,))]
        else:
            self.outputs = [TensorInfo("value", "float32", (None,))]

    def runner(self, feed: dict[str, np.ndarray]) -> Callable[[], Any]:
        """``inplace_predict``: XGBoost's fastest bare call, and what ``mlpipex serve`` calls."""
        matrix = feed[INPUT_NAME]
        predict = self.booster.inplace_predict
        return lambda: predict(matrix)

    def _run(self, feed: dict[str, np.ndarray]) -> Sequence[Any]:
        raw = np.asarray(self.booster.inplace_predict(feed[INPUT_NAME]))
        return _interpret(self.kind, raw)


class LightgbmModel(TabularModel):
    """A LightGBM Booster saved with ``save_model`` (its text format)."""

    def __init__(self, path: Path, *, threads: int = 1, providers: Sequence[str] = ()) -> None:
        lgb = require_extra("lightgbm", "lightgbm", "lightgbm")
        self.path, self.format, self.threads = path, "lightgbm", threads
        self.providers, self.skipped_providers = ["cpu"], [p for p in providers if p != "cpu"]
        problem = _lightgbm_text_problem(path)
        if problem:  # LightGBM aborts the whole process on some malformed files: refuse those before it reads them
            raise InputError(f"lightgbm cannot load the model: {problem}", location=Location(str(path)),
                             fix="save the model with booster.save_model('model.txt')")  # fmt: skip
        try:
            booster = lgb.Booster(model_file=str(path))  # params would be ignored (a warning): set per call
            objective = str(booster.dump_model(num_iteration=1).get("objective", "regression"))
        except Exception as exc:  # LightGBMError for anything that is not a saved booster
            raise _load_error("lightgbm", path, exc, "save the model with booster.save_model('model.txt')") from None
        self.booster = booster
        self.objective = objective
        names = list(booster.feature_name())
        # LightGBM names unnamed columns Column_0, Column_1, …: that records nothing
        self.feature_names_in = None if names == [f"Column_{i}" for i in range(len(names))] else tuple(names)
        self.inputs = _matrix_input(int(booster.num_feature()), "float64")
        head = objective.split()[0]
        n_classes = booster.num_model_per_iteration()
        if head in ("binary", "cross_entropy", "xentropy"):
            self.kind = "binary"
            self._class_labels = BINARY_CLASSES
            self.outputs = _classifier_outputs("int64", 2, "float64")
        elif head in ("multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr"):
            self.kind = "multi"
            self._class_labels = tuple(range(n_classes))
            self.outputs = _classifier_outputs("int64", n_classes, "float64")
        else:
            self.kind = "value"
            self.outputs = [TensorInfo("value", "float64", (None,))]

    def runner(self, feed: dict[str, np.ndarray]) -> Callable[[], Any]:
        matrix, threads = feed[INPUT_NAME], self.threads
        predict = self.booster.predict
        return lambda: predict(matrix, num_threads=threads)

    def _run(self, feed: dict[str, np.ndarray]) -> Sequence[Any]:
        return _interpret(self.kind, np.asarray(self.booster.predict(feed[INPUT_NAME], num_threads=self.threads)))


def _lightgbm_text_problem(path: Path) -> str | None:
    """What ``save_model`` always writes and a truncated or foreign file lacks: the header and the end of the trees."""
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
            handle.seek(0)
            complete = any(b"end of trees" in line for line in handle)
    except OSError as exc:
        return exc.strerror or "cannot read the file"
    if not head.startswith(b"tree\nversion="):
        return "not a LightGBM text model (it starts with neither `tree` nor `version=`)"
    if not complete:
        return "the file is truncated: it has no `end of trees` line"
    return None


def _objective_kind(objective: str) -> str:
    if objective in ("binary:logistic", "reg:logistic", "binary:logitraw"):
        return "binary" if objective != "binary:logitraw" else "value"
    if objective == "multi:softprob":
        return "multi"
    if objective == "multi:softmax":
        return "multi-label"
    return "value"


def _interpret(kind: str, raw: np.ndarray) -> list[np.ndarray]:
    """A booster's raw prediction as (label, probabilities) or (value,)."""
    if kind == "binary":
        positive = raw.reshape(-1)
        return [(positive > 0.5).astype(np.int64), np.column_stack([1.0 - positive, positive]).astype(raw.dtype)]
    if kind == "multi":
        return [np.argmax(raw, axis=1).astype(np.int64), raw]
    if kind == "multi-label":
        return [raw.reshape(-1).astype(np.int64)]
    return [raw.reshape(-1)]
