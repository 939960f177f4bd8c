"""KServe InferenceServices: pure manifests and rollout plans, the canary analysis, and the one
module that talks to Kubernetes.

- manifests: the InferenceService for a config, an environment and a rollout (pure);
- rollout, promotion: the next object for deploy / promote / canary / rollback, and the
  rules between environments (pure; state lives in the object's annotations);
- analysis: the canary's metrics sources and its judgement, recorded on the object;
- httproute: the Gateway API HTTPRoute that weights a Standard-mode canary (deploy.traffic), and
  the gateway's report on it (pure);
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
from mlpipex.kserve.capabilities import Capabilities, capabilities, check_canary_split, check_router
from mlpipex.kserve.cluster import FIELD_MANAGER, Cluster, NotReady, blockers, ready
from mlpipex.kserve.crd import CrdSchema, load_crd
from mlpipex.kserve.httproute import (
    ROUTE_API_VERSION,
    ROUTE_KIND,
    GatewayReport,
    build_http_route,
    gateway_report,
    predictor_service,
    route_line,
    route_weights,
    weights_of,
)
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
    "ROUTE_API_VERSION",
    "ROUTE_KIND",
    "Capabilities",
    "Cluster",
    "CrdSchema",
    "FileSource",
    "GatewayReport",
    "MetricsSource",
    "NotReady",
    "PrometheusSource",
    "Rollout",
    "State",
    "analyse",
    "blockers",
    "build_http_route",
    "build_inference_service",
    "canary_predictor_spec",
    "canary_record",
    "capabilities",
    "check_canary_split",
    "check_router",
    "gateway_report",
    "load_crd",
    "plan_canary",
    "plan_deploy",
    "plan_promote",
    "plan_promote_into",
    "plan_rollback",
    "predictor_name",
    "predictor_service",
    "predictor_spec",
    "ready",
    "route_line",
    "route_weights",
    "service_name",
    "state_of",
    "unmet_rules",
    "weights_of",
]
