"""KServe payload-logger CloudEvents in binary mode, and the payloads they carry (pure).

KServe's logger (pkg/logger in kserve/kserve) sends one CloudEvent per request and,
when the model answered HTTP 200, one per response, both with the same ``ce-id``
(the request's ``Ce-Id`` header, or a fresh UUID). Binary mode puts the attributes
in headers and the model's own JSON in the body:

- ``ce-type``: ``org.kubeflow.serving.inference.request`` / ``.response``
- ``ce-time``: when the agent saw the request / the finished response (RFC 3339)
- ``ce-source``: the pod name (the agent is started with ``--source-uri <pod>``), but
  KServe v0.20.0's pod webhook runs before a ReplicaSet's pod has its generated name,
  so the agent gets ``''`` and sends ``http://localhost:9081/`` from every pod
- extensions ``ce-inferenceservicename``, ``ce-namespace``, ``ce-component``
  (predictor, transformer…), ``ce-endpoint`` (default or canary: the pod's
  ``serving.kserve.io/endpoint`` label, unset in Standard mode), ``ce-metadata``.

So the revision an event belongs to comes from mlpipex's own extension attribute
``ce-mlpipexrevision`` when it is there: the monitor sets it from the logger URL's
``?revision=<predictor name>`` (mlpipex writes one URL per predictor, and KServe's
logger cannot add attributes), and the ingest path, the journal and Kafka records carry
it. Without it the revision is read from ``ce-source`` (``revision_of``).

A response that never arrives is how a failed request shows up: KServe logs
responses only for status 200.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpipex import fastjson

__all__ = [
    "MARKER_ATTRIBUTE",
    "REQUEST_TYPE",
    "RESPONSE_TYPE",
    "Event",
    "MalformedEvent",
    "Outputs",
    "check_revision",
    "decode_request",
    "decode_response",
    "parse_event",
    "parse_time",
    "revision_marker",
    "revision_of",
    "source_revision",
]

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
MAX_BODY = 8 << 20  # a logged payload larger than this is refused, not parsed
MARKER_ATTRIBUTE = "ce-mlpipexrevision"  # the revision the logger URL names (a CloudEvents extension)
MARKER_PARAMETER = "revision"  # ?revision=<predictor name> in the logger URL
# A DNS label, as KServe's predictor names are (mlpipex writes rev-<10 hex>): bounded, no separators.
_MARKER = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

_V2_NUMERIC = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
               "FP16", "FP32", "FP64"}  # fmt: skip


class MalformedEvent(ValueError):
    """An event the monitor cannot use; ``reason`` is a short metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Event:
    id: str
    kind: str  # "request" or "response"
    time: float | None  # seconds since the epoch, from ce-time
    namespace: str
    service: str
    component: str
    endpoint: str
    revision: str
    payload: Any  # the decoded JSON body


_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$")


@functools.lru_cache(maxsize=256)  # events arrive close together in time
def _utc_second(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def parse_time(text: str) -> float:
    """RFC 3339 with any number of fractional digits (Go writes nanoseconds)."""
    if len(text) > 20 and text[-1] == "Z" and text[10] == "T" and text[19] == ".":  # KServe's form: fast path
        try:
            return _utc_second(text[:19]) + float("0" + text[19:-1])
        except ValueError:
            pass
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    base, fraction, zone = match.groups()
    stamp = dt.datetime.fromisoformat(base.replace("t", "T").replace(" ", "T"))
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        stamp = stamp.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))))
    else:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp() + (float(fraction) if fraction else 0.0)


_KNATIVE_POD = re.compile(r"^(.+-\d{5})-deployment-[a-z0-9]+-[a-z0-9]+$")
_DEPLOYMENT_POD = re.compile(r"^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$")


@functools.lru_cache(maxsize=4096)  # a handful of pods send every event
def revision_of(source: str) -> str:
    """The revision (Knative) or Deployment (Standard mode) a logging pod belongs to.

    ``sklearn-predictor-00002-deployment-7d9f-abcde`` → ``sklearn-predictor-00002``;
    ``sklearn-predictor-6b7c9d5f4-x2k8q`` → ``sklearn-predictor``; anything else as is.
    """
    text = source.rstrip("/")
    for pattern in (_KNATIVE_POD, _DEPLOYMENT_POD):
        match = pattern.match(text)
        if match:
            return match.group(1)
    return text or "unknown"


def check_revision(value: str) -> str:
    """``value`` if it can name a revision (a predictor name), else ``MalformedEvent``."""
    if not _MARKER.match(value):
        raise MalformedEvent("revision", f"revision {value[:70]!r} is not a predictor name (a DNS label: "
                                         "lower-case letters, digits and '-', at most 63)")  # fmt: skip
    return value


@functools.lru_cache(maxsize=256)  # one query per predictor: a handful of distinct ones
def revision_marker(query: str) -> str | None:
    """The ``revision`` parameter of a logger URL's query string (None when absent); ``MalformedEvent``
    when it is empty, repeated or not a predictor name. Other parameters are left alone."""
    if not query:
        return None
    found = [part.partition("=")[2] for part in query.split("&") if part.partition("=")[0] == MARKER_PARAMETER]
    if not found:
        return None
    if len(found) > 1:
        raise MalformedEvent("revision", "the URL names `revision` more than once")
    return check_revision(urllib.parse.unquote(found[0]))


def source_revision(attributes: Mapping[str, str]) -> str:
    """The revision an event's attributes name: the URL's marker if the monitor set one, else ``ce-source``'s."""
    marker = (attributes.get(MARKER_ATTRIBUTE) or "").strip()
    if marker:
        return check_revision(marker)
    return revision_of((attributes.get("ce-source") or "").strip())


def _header(headers: Mapping[str, str], name: str) -> str:
    return (headers.get(name) or "").strip()


def parse_event(headers: Mapping[str, str], body: bytes) -> Event:
    """A binary-mode CloudEvent from its (lower-case) headers and body; ``MalformedEvent`` if unusable."""
    if _header(headers, "ce-specversion") != "1.0":
        raise MalformedEvent("specversion", "ce-specversion must be 1.0 (binary-mode CloudEvent)")
    event_id = _header(headers, "ce-id")
    if not event_id or len(event_id) > 256:
        raise MalformedEvent("id", "ce-id is missing or longer than 256 characters")
    ce_type = _header(headers, "ce-type")
    if ce_type == REQUEST_TYPE:
        kind = "request"
    elif ce_type == RESPONSE_TYPE:
        kind = "response"
    else:
        raise MalformedEvent("type", f"ce-type must be {REQUEST_TYPE} or {RESPONSE_TYPE}")
    service = _header(headers, "ce-inferenceservicename")
    if not service:
        raise MalformedEvent("service", "ce-inferenceservicename is missing")
    time_text = _header(headers, "ce-time")
    try:
        when = parse_time(time_text) if time_text else None
    except ValueError as exc:
        raise MalformedEvent("time", f"ce-time: {exc}") from None
    if len(body) > MAX_BODY:
        raise MalformedEvent("size", f"payload larger than {MAX_BODY} bytes")
    try:
        payload = fastjson.loads(body)  # json.loads's answers, orjson's speed (a v2 payload: ~3x)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent("json", f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedEvent("payload", "the body must be a JSON object (v1 or v2 inference payload)")
    return Event(
        id=event_id,
        kind=kind,
        time=when,
        namespace=_header(headers, "ce-namespace") or "default",
        service=service,
        component=_header(headers, "ce-component") or "predictor",
        endpoint=_header(headers, "ce-endpoint") or "default",
        revision=source_revision(headers),
        payload=payload,
    )


# --- payloads -------------------------------------------------------------------------


def _v2_tensor(item: Any, where: str) -> tuple[str, np.ndarray]:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise MalformedEvent("payload", f"{where}: each tensor needs a name, shape, datatype and data")
    shape, datatype, data = item.get("shape"), item.get("datatype"), item.get("data")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise MalformedEvent("payload", f"{where}[{item['name']}].shape must be a list of sizes")
    size = math.prod(shape)
    if datatype not in _V2_NUMERIC:
        # BYTES and friends carry text: not a number the windows can hold. The values must
        # be there: memory follows what was received, never what a shape declares.
        received = _leaves(data)
        if received != size:
            raise MalformedEvent("payload", f"{where}[{item['name']}]: {received} values for shape {shape}")
        return item["name"], np.full(size, np.nan).reshape(shape or [1])
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise MalformedEvent("payload", f"{where}[{item['name']}].data must be numbers") from None
    if array.size != size:
        raise MalformedEvent("payload", f"{where}[{item['name']}]: {array.size} values for shape {shape}")
    return item["name"], array.reshape(shape or [1])


def _leaves(data: Any) -> int:
    """How many values a (nested) JSON list holds: work and memory in proportion to the body."""
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            count += 1
    return count


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return math.nan  # text, null, nested: not a number the window can hold


def decode_request(payload: Mapping[str, Any], features: Sequence[str] | None) -> tuple[list[str], np.ndarray]:
    """Feature names and an [N, F] float64 matrix from a v1 or v2 request.

    With ``features`` (the reference profile's order) a row list or one [N, F]
    tensor is read positionally and per-feature tensors or dict rows by name;
    without it the names come from the payload (``x0``… for bare rows).
    """
    inputs = payload.get("inputs")
    v2 = isinstance(inputs, list) and bool(inputs) and isinstance(inputs[0], Mapping) and "datatype" in inputs[0]
    if "instances" in payload or (isinstance(inputs, list) and not v2):  # v1: rows (``inputs`` is v1's other spelling)
        rows = payload.get("instances", inputs)
        if not isinstance(rows, list) or not rows:
            raise MalformedEvent("payload", "instances must be a non-empty list")
        if isinstance(rows[0], Mapping):
            names = list(features) if features else [str(k) for k in rows[0]]
            if features:
                _require_some_feature(rows, names)
            matrix = np.array([[_number(r.get(n)) if isinstance(r, Mapping) else math.nan for n in names]
                               for r in rows], dtype=np.float64)  # fmt: skip
            return names, matrix
        width = len(rows[0]) if isinstance(rows[0], list) else 1
        names = list(features) if features else [f"x{i}" for i in range(width)]
        matrix = np.full((len(rows), len(names)), np.nan)
        for index, row in enumerate(rows):
            values = row if isinstance(row, list) else [row]
            if len(values) != len(names):
                raise MalformedEvent("payload", f"instances[{index}] has {len(values)} values, expected {len(names)}")
            matrix[index] = [_number(v) for v in values]
        return names, matrix
    if not v2 or not isinstance(inputs, list):
        raise MalformedEvent("payload", "neither v1 `instances` nor v2 `inputs` in the request")
    tensors = [_v2_tensor(item, "inputs") for item in inputs]
    if len(tensors) == 1 and tensors[0][1].ndim == 2 and (not features or tensors[0][0] not in features):
        name, array = tensors[0]
        names = list(features) if features and len(features) == array.shape[1] \
            else [f"{name}[{i}]" for i in range(array.shape[1])]  # fmt: skip
        return names, array
    by_name = {name: array.reshape(-1) for name, array in tensors}
    names = list(features) if features else list(by_name)
    if features and not any(n in by_name for n in names):
        raise MalformedEvent("features", f"none of the model's features {names[:5]} is an input tensor of the "
                                         f"request (it sent {list(by_name)[:5]}): send them by name")  # fmt: skip
    lengths = {by_name[n].size for n in names if n in by_name}
    if len(lengths) > 1:
        raise MalformedEvent("payload", "input tensors have different lengths")
    rows = lengths.pop() if lengths else 0
    matrix = np.column_stack([by_name.get(n, np.full(rows, np.nan)) for n in names]) if names else np.empty((rows, 0))
    return names, matrix


def _require_some_feature(rows: list[Any], names: list[str]) -> None:
    """A row with none of the model's features is not the model's input: an all-NaN row would poison drift."""
    wanted = set(names)
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping) or wanted.isdisjoint(row):
            sent = list(row)[:5] if isinstance(row, Mapping) else type(row).__name__
            raise MalformedEvent("features", f"instances[{index}] has none of the model's features {names[:5]} "
                                             f"(it sent {sent}): send the features by name")  # fmt: skip


@dataclass(frozen=True)
class Outputs:
    predictions: np.ndarray  # [N]: label, class index or value
    confidences: np.ndarray  # [N]: top probability, NaN when the model gives none
    error: bool  # the payload itself reports an error


def _from_rows(rows: list[Any]) -> Outputs:
    try:  # the usual case, one shape for every row: vectorised
        matrix = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        matrix = None
    if matrix is not None and matrix.ndim == 1:
        return Outputs(matrix, np.full(matrix.size, np.nan), False)
    if matrix is not None and matrix.ndim == 2 and matrix.shape[1] > 1 and np.isfinite(matrix).all():
        return Outputs(matrix.argmax(axis=1).astype(np.float64), matrix.max(axis=1), False)
    predictions, confidences = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    for index, row in enumerate(rows):
        if isinstance(row, list) and row:
            probs = np.array([_number(v) for v in row])
            if probs.size > 1:
                predictions[index], confidences[index] = float(np.nanargmax(probs)) if np.isfinite(probs).any() \
                    else np.nan, float(np.nanmax(probs)) if np.isfinite(probs).any() else np.nan  # fmt: skip
            else:
                predictions[index] = probs[0]
        elif isinstance(row, Mapping):
            probs = np.array([_number(v) for v in row.values()])
            if probs.size and np.isfinite(probs).any():
                predictions[index], confidences[index] = float(np.nanargmax(probs)), float(np.nanmax(probs))
        else:
            predictions[index] = _number(row)
    return Outputs(predictions, confidences, False)


def decode_response(payload: Mapping[str, Any], roles: Mapping[str, str | None] | None = None) -> Outputs:
    """Predictions and confidences from a v1 (``predictions``) or v2 (``outputs``) response.

    ``roles`` (the package's ``outputs``: label / probabilities / value names) picks the
    v2 tensors; without it the first [N, C>1] float tensor is the probabilities and the
    first [N] tensor the label or value.
    """
    if "error" in payload and "predictions" not in payload and "outputs" not in payload:
        return Outputs(np.empty(0), np.empty(0), True)
    if "predictions" in payload:
        rows = payload["predictions"]
        if not isinstance(rows, list):
            raise MalformedEvent("payload", "predictions must be a list")
        return _from_rows(rows)
    outputs = payload.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        raise MalformedEvent("payload", "neither v1 `predictions` nor v2 `outputs` in the response")
    tensors = dict(_v2_tensor(item, "outputs") for item in outputs)
    roles = roles or {}
    probs = tensors.get(roles.get("probabilities") or "")
    if probs is None:
        probs = next((a for a in tensors.values() if a.ndim == 2 and a.shape[1] > 1), None)
    label = tensors.get(roles.get("label") or "") if roles.get("label") else None
    if label is None:
        label = tensors.get(roles.get("value") or "") if roles.get("value") else None
    if label is None:
        label = next((a.reshape(-1) for a in tensors.values() if a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1)), None)
    if probs is not None and probs.ndim == 2 and probs.shape[0] == 1:
        row = probs[0].tolist()
        if row and all(math.isfinite(v) for v in row):  # the usual response, one finite row: no array work
            best = max(row)
            predictions = label.reshape(-1) if label is not None and label.size == 1 \
                else np.array([float(row.index(best))])  # fmt: skip
            return Outputs(predictions, np.array([best]), False)
    if probs is not None and probs.ndim == 2 and probs.shape[0]:
        finite = probs if np.isfinite(probs).all() else np.where(np.isfinite(probs), probs, -np.inf)
        confidences = finite.max(axis=1)
        confidences[~np.isfinite(confidences)] = np.nan
        predictions = label.reshape(-1) if label is not None and label.size == probs.shape[0] \
            else finite.argmax(axis=1).astype(np.float64)  # fmt: skip
        return Outputs(predictions, confidences, False)
    if label is None:
        raise MalformedEvent("payload", "no output tensor holds one prediction per row")
    return Outputs(label.reshape(-1), np.full(label.size, np.nan), False)
