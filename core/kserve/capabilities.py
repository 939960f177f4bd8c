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
    "check_router",
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
    unread: tuple[str, ...] = ()  # the reads that failed (no RBAC, not there): their facts are guesses
    ingress_creation: bool = True  # not ingress.disableIngressCreation: KServe writes its own Ingress/HTTPRoute

    @property
    def own_http_route(self) -> bool:
        """KServe writes an HTTPRoute named after each InferenceService (Gateway API on, ingress creation on)."""
        return self.gateway_api and self.ingress_creation

    @property
    def version_text(self) -> str:
        return "v" + ".".join(map(str, self.version)) if self.version else "an unknown version"

    @property
    def standard_canary_split(self) -> bool:
        """Standard mode sends spec.canary[] its share only after v0.20, from the HTTPRoute KServe writes."""
        if not (self.has_canary_field and self.own_http_route):
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
    ingress = _section(configmap, "ingress")
    return Capabilities(
        version=parse_version(controller_image),
        has_canary_field=has_canary,
        gateway_api=_truthy(ingress.get("enableGatewayApi")),
        ingress_creation=not _truthy(ingress.get("disableIngressCreation")),
        default_mode=_MODES.get(str(mode), "Knative"),
        oci_mode=str(oci_mode) if oci_mode else None,
        unread=tuple(what for what, fact in (("the InferenceService CRD", crd),
                                             ("the kserve-controller-manager Deployment", controller_image),
                                             ("the inferenceservice-config ConfigMap", configmap)) if fact is None),
    )  # fmt: skip


def check_router(caps: Capabilities, *, environment: str, route: str) -> bool:
    """With ``deploy.traffic`` set: should mlpipex write the HTTPRoute ``route``?

    False where KServe weights Standard-mode canaries itself (its own HTTPRoute, after v0.20):
    its route is the one that counts, and a second writer of the same object would fight it.
    Refused where KServe writes a route of that name without weights (v0.20.0 with
    ``enableGatewayApi``): each reconcile would undo mlpipex's weights.
    """
    if caps.standard_canary_split:
        return False
    if caps.own_http_route:
        raise InputError(
            f"environment {environment}: KServe {caps.version_text} writes its own HTTPRoute {route} "
            "(ingress.enableGatewayApi is true and ingress creation is on in the inferenceservice-config ConfigMap), "
            "without canary weights, and would undo the weights deploy.traffic sets on it",
            fix="set ingress.disableIngressCreation: true in KServe's inferenceservice-config ConfigMap (mlpipex then "
                "owns the route), or drop deploy.traffic and use a KServe newer than v0.20, which weights canaries itself",
        )
    return True


def check_canary_split(caps: Capabilities, mode: str, percent: int | None, *, environment: str,
                       router: bool = False) -> None:  # fmt: skip
    """Refuse a canary step the cluster cannot split; a 100% step (or none) needs no split.

    ``router``: mlpipex weights the split itself (deploy.traffic), so only spec.canary is needed.
    """
    if percent is None or percent >= 100 or mode != "Standard":
        return
    unread = (f" (mlpipex could not read {' or '.join(caps.unread)} in KServe's namespace, so this is what it "
              "cannot rule out)" if caps.unread else "")  # fmt: skip
    grant = (f"; or let mlpipex read {', '.join(caps.unread)} (get) if the cluster does have it" if caps.unread else "")
    if not caps.has_canary_field:
        raise InputError(
            f"environment {environment}: KServe {caps.version_text} has no spec.canary (Standard-mode canaries "
            f"came in v0.20.0), so a {percent}% canary cannot be rolled out there{unread}",
            fix="use mode: Knative for this environment (revision traffic split), or upgrade KServe" + grant,
        )
    if caps.standard_canary_split or router:
        return
    why = ("KServe writes no HTTPRoute to weight it (ingress.enableGatewayApi is false, or disableIngressCreation true, in "
           "the inferenceservice-config ConfigMap)"
           if caps.version is None or caps.version >= FIRST_AFTER_0_20
           else f"KServe {caps.version_text} creates the canary's Deployment but weights no traffic to it "
                "(HTTPRoute weighting is newer than v0.20)")  # fmt: skip
    raise InputError(
        f"environment {environment}: a {percent}% Standard-mode canary would get no traffic: {why}{unread}",
        fix="let mlpipex weight it through a Gateway API HTTPRoute (deploy.traffic, docs/deploy.md), use mode: "
            "Knative for this environment (it splits by revision), or a KServe newer than v0.20 with "
            "ingress.enableGatewayApi: true; a canary without steps (100%) needs no split" + grant,
    )
