"""What the cluster's KServe can do, from what it publishes (pure).

Three reads tell it (``Cluster.kserve_facts`` makes them): the InferenceService CRD
(does ``spec.canary`` exist), the controller's image tag (the release), and the
``inferenceservice-config`` ConfigMap (default deployment mode, OCI model mode,
Gateway API). The checks turn a feature the cluster lacks into an error with the
fix, instead of a rollout that reports a traffic split that does not exist.

Facts, as read from KServe's code (../shared/kserve/ADMISSION.md, docs/deploy.md):

- ``spec.canary[]`` (Standard mode) is in the CRD from v0.20.0, but only a later
  KServe (master after v0.20.0) weights traffic for it, through Gateway API
  HTTPRoutes (``ingress.enableGatewayApi: true``). v0.20.0 creates the canary
  Deployments and sends them no share of traffic.
- Knative mode splits by revision (``canaryTrafficPercent``) in every release.
- A bare ``oci://`` is a modelcar unless ``storageInitializer.ociModelMode`` says
  otherwise; ``oci+fetch://`` exists after v0.20.0 only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mlpipex.errors import InputError

__all__ = [
    "FIRST_AFTER_0_20",
    "Capabilities",
    "capabilities",
    "check_canary_split",
    "parse_version",
]

# Standard-mode canary weighting and oci+fetch:// are on KServe's master after v0.20.0
# (no release has them yet); a release from 0.21 on is taken to have them.
FIRST_AFTER_0_20 = (0, 21, 0)
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")
_MODES = {"Serverless": "Knative", "Knative": "Knative", "RawDeployment": "Standard", "Standard": "Standard",
          "ModelMesh": "ModelMesh"}  # fmt: skip


@dataclass(frozen=True)
class Capabilities:
    version: tuple[int, int, int] | None  # None: the release could not be read
    has_canary_field: bool  # the CRD has spec.canary (Standard-mode canaries)
    gateway_api: bool  # ingress.enableGatewayApi: HTTPRoutes, the only Standard-mode traffic weighting
    default_mode: str  # Knative or Standard (or ModelMesh): for objects without the annotation
    oci_mode: str | None  # what a bare oci:// means: modelcar, fetch, native, or None (OCI off)

    @property
    def version_text(self) -> str:
        return "v" + ".".join(map(str, self.version)) if self.version else "an unknown version"

    @property
    def standard_canary_split(self) -> bool:
        """Standard mode sends spec.canary[] its share only after v0.20 and with Gateway API on."""
        if not (self.has_canary_field and self.gateway_api):
            return False
        return self.version is None or self.version >= FIRST_AFTER_0_20

    @property
    def oci_fetch(self) -> bool:
        """``oci+fetch://`` (the storage initializer pulls the layers) is newer than v0.20."""
        return self.version is not None and self.version >= FIRST_AFTER_0_20


def parse_version(image_or_tag: str | None) -> tuple[int, int, int] | None:
    """``kserve/kserve-controller:v0.20.0`` (or a digest-pinned image with a tag) -> (0, 20, 0)."""
    if not image_or_tag:
        return None
    tag = image_or_tag.split("@", 1)[0].rsplit("/", 1)[-1]
    tag = tag.split(":", 1)[1] if ":" in tag else tag
    match = _VERSION.fullmatch(tag.split("-", 1)[0])
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def _section(configmap: dict[str, Any] | None, key: str) -> dict[str, Any]:
    raw = ((configmap or {}).get("data") or {}).get(key)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def capabilities(crd: dict[str, Any] | None, controller_image: str | None, configmap: dict[str, Any] | None) -> Capabilities:
    """Read KServe's abilities from its CRD, its controller's image and its ConfigMap (any may be None)."""
    has_canary = False
    for version in (crd or {}).get("spec", {}).get("versions", []):
        if version.get("name") == "v1beta1":
            spec = version.get("schema", {}).get("openAPIV3Schema", {}).get("properties", {}).get("spec", {})
            has_canary = "canary" in spec.get("properties", {})
    storage = _section(configmap, "storageInitializer")
    oci_mode = storage.get("ociModelMode") or None
    if oci_mode is None and (_truthy(storage.get("enableModelcar")) or _truthy(storage.get("enableOciModelSupport"))):
        oci_mode = "modelcar"
    mode = _section(configmap, "deploy").get("defaultDeploymentMode", "Serverless")
    return Capabilities(
        version=parse_version(controller_image),
        has_canary_field=has_canary,
        gateway_api=_truthy(_section(configmap, "ingress").get("enableGatewayApi")),
        default_mode=_MODES.get(str(mode), "Knative"),
        oci_mode=str(oci_mode) if oci_mode else None,
    )


def check_canary_split(caps: Capabilities, mode: str, percent: int | None, *, environment: str) -> None:
    """Refuse a canary step the cluster cannot split; a 100% step (or none) needs no split."""
    if percent is None or percent >= 100 or mode != "Standard":
        return
    if not caps.has_canary_field:
        raise InputError(
            f"environment {environment}: KServe {caps.version_text} has no spec.canary (Standard-mode canaries "
            f"came in v0.20.0), so a {percent}% canary cannot be rolled out there",
            fix="use mode: Knative for this environment (revision traffic split), or upgrade KServe",
        )
    if caps.standard_canary_split:
        return
    why = ("ingress.enableGatewayApi is false in the inferenceservice-config ConfigMap"
           if caps.version is None or caps.version >= FIRST_AFTER_0_20
           else f"KServe {caps.version_text} creates the canary's Deployment but weights no traffic to it "
                "(HTTPRoute weighting is newer than v0.20)")  # fmt: skip
    raise InputError(
        f"environment {environment}: a {percent}% Standard-mode canary would get no traffic: {why}",
        fix="use mode: Knative for this environment (it splits by revision), or a KServe newer than v0.20 "
            "with ingress.enableGatewayApi: true; a canary without steps (100%) needs no split",
    )
