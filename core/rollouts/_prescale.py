"""A full promotion of a Standard-mode canary: its replicas first, then the traffic (the I/O around
``mlpipex.kserve.rollout.plan_prescale``).

The canary's Deployment runs the fixed replica count of its last step (ceil(stable min × share)),
and the zero-restart promotion hands it all traffic as it is. So the canary is scaled to the
stable's minimum at the current weights, and the step goes on only once that many of its pods
are Ready; a canary that cannot be placed fails the step here, before any traffic moved, with the
scheduler's own words (deploy.on_not_ready then holds or restores the object as it was).

This applies with deploy.traffic (mlpipex's route moves after it) and without (KServe's own
route, on a KServe that weights canaries, moves when the entry is dropped): the capacity is the
same either way. Knative mode has no canary entry, so nothing is scaled there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mlpipex.kserve.cluster import NotReady

if TYPE_CHECKING:
    from mlpipex.kserve.cluster import Cluster

__all__ = ["scale_canary_first"]


def scale_canary_first(kube: Cluster, scaled: dict[str, Any], canary: str, *, timeout: float, poll: float = 1.0) -> str:
    """Apply ``scaled`` (plan_prescale's object), wait until the replicas of its canary ``canary`` (a
    predictor name) are Ready and KServe reports the object Ready; the line the step's message
    carries. Raises NotReady with the scheduler's words."""
    meta = scaled["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    entry = next(e["predictor"] for e in scaled["spec"]["canary"] if e["predictor"].get("name") == canary)
    replicas = int(entry["minReplicas"])
    component = f"{name}-{entry['name']}-predictor"  # KServe's Deployment for the canary
    kube.apply(scaled)
    deadline = time.monotonic() + timeout
    while (serving := kube.ready_pods(namespace, component)) < replicas:
        if time.monotonic() >= deadline:
            unplaced = kube.unscheduled_pods(namespace, name)
            placement = f": {unplaced}" if unplaced else ""
            raise NotReady(f"{namespace}/{name}: canary {entry['name']} was to take all traffic, but only {serving} of the "
                           f"{replicas} replicas it needs first (the stable's minReplicas) are Ready after {timeout:g} s"
                           f"{placement}; no traffic moved",
                           fix=("give the canary room for the stable's replica count (a node with its resources, or a "
                                "lower deploy.replicas.min), " if unplaced else "kubectl describe deployment "
                                f"{component}; ") + "then promote again, or `mlpipex rollback` to the stable model")  # fmt: skip
        time.sleep(poll)
    kube.wait_ready(namespace, name, timeout=max(1.0, deadline - time.monotonic()))
    return f"scaled canary {entry['name']} to {replicas} replicas (the stable's minReplicas) before moving traffic"
