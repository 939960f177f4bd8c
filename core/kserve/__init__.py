"""KServe InferenceServices: pure manifest builders and CRD validation.

The one module that talks to Kubernetes comes with the deploy work (issue 4).
"""

from mlpipex.kserve.capabilities import Capabilities, capabilities, check_canary_split
from mlpipex.kserve.crd import CrdSchema, load_crd
from mlpipex.kserve.manifests import (
    API_VERSION,
    KIND,
    Rollout,
    build_inference_service,
    canary_predictor_spec,
    predictor_name,
    predictor_spec,
    service_name,
)

__all__ = [
    "API_VERSION",
    "KIND",
    "Capabilities",
    "CrdSchema",
    "Rollout",
    "build_inference_service",
    "canary_predictor_spec",
    "capabilities",
    "check_canary_split",
    "load_crd",
    "predictor_name",
    "predictor_spec",
    "service_name",
]
