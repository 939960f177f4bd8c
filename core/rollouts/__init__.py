"""The deploy half's one flow: environments, deploy, promote, promote into, canary, rollback, status.

``mlpipex deploy|promote|canary run|rollback|status`` (mlpipex.commands) and the
App's merge, ChatOps and canary-job handlers (mlpipex.app) are thin adapters over
:class:`Rollouts`: each reads its inputs its own way (arguments, a webhook), calls
one method, and says the :class:`Outcome` its own way. Everything a rollout
decides — which environment, which cluster, which metrics source, what the next
object is, whether a step was already taken — is decided here once.

Pure plans live in ``mlpipex.kserve`` (manifests, rollout, promotion); the one
module that talks to Kubernetes is ``mlpipex.kserve.cluster``.
"""

from mlpipex.rollouts._environments import environment
from mlpipex.rollouts._flow import Outcome, Rollouts, Status, event_of
from mlpipex.rollouts._sources import metrics_source
from mlpipex.rollouts._steps import CanaryStep, outcome, traffic_line

__all__ = [
    "CanaryStep",
    "Outcome",
    "Rollouts",
    "Status",
    "environment",
    "event_of",
    "metrics_source",
    "outcome",
    "traffic_line",
]
