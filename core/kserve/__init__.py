"""KServe InferenceServices: pure manifests and rollout plans, the canary analysis, and the one
module that talks to Kubernetes.

- manifests: the InferenceService for a config, an environment and a rollout (pure);
- rollout, promotion: the next object for deploy / promote / canary / rollback, and the
  rules between environments (pure; state lives in the object's annotations);
- analysis: the canary's metrics sources and its judgement, recorded on the object;
- crd: validation against KServe's own CRD schema;
- cluster: the one module that talks to Kubernetes (server-side apply, waiting for Ready).

The flow that strings them together for the CLI and the App is ``mlpipex.rollouts``.
"""

from mlpipex.kserve.analysis import (
    CANARY_ANNOTATION,
    FileSource,
    MetricsSource,
    PrometheusSource,
    analyse,
    canary_record,
)
from mlpipex.kserve.capabilities import Capabilities, capabilities, check_canary_split
from mlpipex.kserve.cluster import FIELD_MANAGER, Cluster, blockers, ready
from mlpipex.kserve.crd import CrdSchema, load_crd
from mlpipex.kserve.manifests import (
    ANNOTATION,
    API_VERSION,
    KIND,
    Rollout,
    build_inference_service,
    canary_predictor_spec,
    predictor_name,
    predictor_spec,
    service_name,
)
from mlpipex.kserve.promotion import plan_promote_into, unmet_rules
from mlpipex.kserve.rollout import (
    State,
    plan_canary,
    plan_deploy,
    plan_promote,
    plan_rollback,
    state_of,
)

__all__ = [
    "ANNOTATION",
    "API_VERSION",
    "CANARY_ANNOTATION",
    "FIELD_MANAGER",
    "KIND",
    "Capabilities",
    "Cluster",
    "CrdSchema",
    "FileSource",
    "MetricsSource",
    "PrometheusSource",
    "Rollout",
    "State",
    "analyse",
    "blockers",
    "build_inference_service",
    "canary_predictor_spec",
    "canary_record",
    "capabilities",
    "check_canary_split",
    "load_crd",
    "plan_canary",
    "plan_deploy",
    "plan_promote",
    "plan_promote_into",
    "plan_rollback",
    "predictor_name",
    "predictor_spec",
    "ready",
    "service_name",
    "state_of",
    "unmet_rules",
]
