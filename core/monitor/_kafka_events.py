"""KServe payload-logger CloudEvents as Kafka records, both ways (pure).

The CloudEvents Kafka protocol binding, as Knative's ``KafkaSink`` writes it (the
sdk-java ``cloudevents-kafka`` serializer; ``spec.contentMode`` ``binary``, the default,
or ``structured``):

- binary: every attribute but ``data`` is a header ``ce_<name>`` (UTF-8), the data
  content type is the ``content-type`` header, the record value is the model's JSON
  as the logger posted it;
- structured: the ``content-type`` header starts ``application/cloudevents+json``
  and the value is the JSON event format, attributes at the top level, the payload
  in ``data`` (JSON) or ``data_base64``.

Either way ``from_record`` gives what the HTTP receiver hands the ingest path: the
attributes as lower-case ``ce-<name>`` keys (the HTTP binding's names) and the body.

Keys: the binding maps the ``partitionkey`` extension to the record key, and a
KafkaSink keys a record by it when the event carries one; KServe's logger sets none,
so a KafkaSink spreads a revision's events over the partitions (which the mergeable
window summaries handle). The monitor's own HTTP receiver produces with the key
``revision_key(attributes)``, so one revision's events land in one partition.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping

from mlpipex.monitor._events import MalformedEvent, source_revision

__all__ = ["STRUCTURED", "from_record", "revision_key", "to_record"]

STRUCTURED = "application/cloudevents+json"
_MAX_ATTRIBUTES = 64


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def from_record(headers: Iterable[tuple[str, bytes | str | None]] | None, value: bytes | None) -> tuple[dict[str, str], bytes]:
    """(attributes as ``ce-<name>``, body) of one record; ``MalformedEvent`` when it is no CloudEvent."""
    fields = {name.lower(): _text(raw) for name, raw in (headers or [])}
    content_type = fields.get("content-type", "")
    if content_type.strip().lower().startswith(STRUCTURED):
        return _structured(value or b"")
    attributes = {"ce-" + name[3:]: text for name, text in fields.items() if name.startswith("ce_")}
    if not attributes:
        raise MalformedEvent("specversion", "the Kafka record is no CloudEvent: no ce_ headers and no "
                                            f"{STRUCTURED} content type")  # fmt: skip
    if content_type:
        attributes["content-type"] = content_type
    return attributes, value or b""


def _structured(value: bytes) -> tuple[dict[str, str], bytes]:
    try:
        envelope = json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent("json", f"a structured-mode CloudEvent that is not JSON: {exc}") from None
    if not isinstance(envelope, dict) or len(envelope) > _MAX_ATTRIBUTES:
        raise MalformedEvent("json", "a structured-mode CloudEvent must be a JSON object of attributes")
    attributes: dict[str, str] = {}
    for name, item in envelope.items():
        if name in ("data", "data_base64") or item is None:
            continue
        attributes["ce-" + str(name).lower()] = item if isinstance(item, str) else json.dumps(item)
    if "ce-datacontenttype" in attributes:
        attributes["content-type"] = attributes.pop("ce-datacontenttype")
    if "data_base64" in envelope:
        try:
            body = base64.b64decode(str(envelope["data_base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise MalformedEvent("json", "data_base64 of a structured-mode CloudEvent is not base64") from None
    elif isinstance(envelope.get("data"), str):
        body = envelope["data"].encode("utf-8")  # JSON text carried as a string
    elif "data" in envelope:
        body = json.dumps(envelope["data"], separators=(",", ":")).encode()
    else:
        body = b""
    return attributes, body


def revision_key(attributes: Mapping[str, str]) -> bytes:
    """The record key: namespace/service/component/revision (one revision's events, one partition);
    the revision is the logger URL's marker when the receiver set one (``ce-mlpipexrevision``, a
    record header ``ce_mlpipexrevision`` like any attribute), else ``ce-source``'s."""
    parts = [attributes.get(name, "").strip() for name in ("ce-namespace", "ce-inferenceservicename", "ce-component")]
    return "/".join([*parts, source_revision(attributes)]).encode()


def to_record(attributes: Mapping[str, str], body: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(key, headers) for a binary-mode record of the event received over HTTP (the body is the value)."""
    headers: list[tuple[str, bytes]] = []
    for name, value in attributes.items():
        lower = name.lower()
        if lower.startswith("ce-"):
            headers.append(("ce_" + lower[3:], value.encode("utf-8", "surrogateescape")))
        elif lower == "content-type":
            headers.append(("content-type", value.encode("utf-8", "surrogateescape")))
    return revision_key(attributes), headers

