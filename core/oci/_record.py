"""Deployment records: when a model began to serve at 100% in an environment, kept in the registry.

The environment tag (REPOSITORY:<environment>) points at the model's own manifest, so it
cannot say when it moved without changing the digest. The record is a small artifact whose
``subject`` is the model manifest (OCI 1.1 referrers, or the referrers tag schema on a registry
without the API): its annotations carry the environment and the time, its one layer the same as
JSON. The model's digest stays what was gated; the record only points at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpipex.oci import _media as media
from mlpipex.oci._blobs import Descriptor, canonical_json

if TYPE_CHECKING:
    from mlpipex.oci._reference import Reference
    from mlpipex.oci._registry import RegistryClient

__all__ = ["DeploymentRecord", "deployment_record_manifest", "deployment_records", "record_deployment"]


@dataclass(frozen=True)
class DeploymentRecord:
    environment: str
    at: str  # RFC 3339, UTC
    by: str | None = None


def deployment_record_manifest(subject: Descriptor, record: DeploymentRecord) -> tuple[dict[str, Any], bytes]:
    """The record's manifest (pure) and its layer's bytes."""
    layer = canonical_json({k: v for k, v in {"environment": record.environment, "at": record.at,
                                              "by": record.by}.items() if v is not None})  # fmt: skip
    annotations = {media.ENVIRONMENT: record.environment, media.CREATED: record.at}
    if record.by:
        annotations[media.DEPLOYED_BY] = record.by
    manifest = {
        "schemaVersion": 2,
        "mediaType": media.MANIFEST,
        "artifactType": media.DEPLOYMENT_ARTIFACT,
        "config": Descriptor.of(media.EMPTY_CONFIG, media.EMPTY_JSON).to_dict(),
        "layers": [Descriptor.of(media.DEPLOYMENT_LAYER, layer).to_dict()],
        "subject": Descriptor(subject.media_type, subject.digest, subject.size).to_dict(),
        "annotations": dict(sorted(annotations.items())),
    }
    return manifest, layer


def record_deployment(client: RegistryClient, ref: Reference, record: DeploymentRecord) -> str:
    """Attach a record to the model ``ref`` (pinned by digest); how it was attached."""
    data, media_type, digest = client.get_manifest(ref)
    manifest, layer = deployment_record_manifest(Descriptor(media_type, digest, len(data)), record)
    client.upload_blob(ref.repository, Descriptor.of(media.EMPTY_CONFIG, media.EMPTY_JSON), media.EMPTY_JSON)
    client.upload_blob(ref.repository, Descriptor.of(media.DEPLOYMENT_LAYER, layer), layer)
    body = canonical_json(manifest)
    descriptor = Descriptor.of(media.MANIFEST, body, annotations=manifest["annotations"],
                               artifact_type=media.DEPLOYMENT_ARTIFACT)  # fmt: skip
    return client.attach(ref.repository, digest, body, descriptor)


def deployment_records(client: RegistryClient, ref: Reference, environment: str) -> list[DeploymentRecord]:
    """The records of ``ref``'s digest in ``environment``, oldest first (read from the referrers' annotations)."""
    assert ref.digest, "records are looked up by digest"
    found = []
    for entry in client.referrers(ref.repository, ref.digest):
        notes = entry.get("annotations") or {}
        if entry.get("artifactType") != media.DEPLOYMENT_ARTIFACT or notes.get(media.ENVIRONMENT) != environment:
            continue
        if isinstance(notes.get(media.CREATED), str):
            found.append(DeploymentRecord(environment, notes[media.CREATED], notes.get(media.DEPLOYED_BY)))
    return sorted(found, key=lambda r: r.at)

