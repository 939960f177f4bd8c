"""What is known of the deployed model in production, shown beside the compare gate's offline numbers.

Not the same rows as the holdout comparison, and the reports say so: (a) the gate metrics its
package recorded when it was built (``mlpipex package`` keeps the smoke gate's metrics in the
package config), and (b) with ``deploy.monitor``, the live numbers of the monitor's window for
the environment's InferenceService: latency percentiles, error rate and quality from delayed
labels. The monitor is read with a bounded timeout; one that cannot be read is a note, never a
failed gate — the comparison itself does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlpipex.errors import MlpipexError
from mlpipex.kserve.manifests import predictor_name

if TYPE_CHECKING:
    from mlpipex.config.model import MonitorSourceConfig
    from mlpipex.gates._baseline import Baseline

__all__ = ["NOT_THE_SAME_ROWS", "production_numbers", "serving_window"]

NOT_THE_SAME_ROWS = ("known of the deployed model in production: its package's recorded gate metrics and the "
                     "monitor's live window; not measured on this holdout, so not comparable row for row")  # fmt: skip

_CHECK_KEYS = ("labels", "drop_p_value")

WindowsReader = Callable[["MonitorSourceConfig"], Sequence[Mapping[str, Any]]]


def serving_window(windows: Sequence[Mapping[str, Any]], namespace: str, service: str,
                   role: str, revision: str | None = None) -> Mapping[str, Any] | None:  # fmt: skip
    """The monitor's window of ``role`` (stable or canary) for the service, chosen as the canary analysis
    does (mlpipex.monitor's role_windows, here over the read API's JSON).

    The deployed model's own window first: mlpipex's logger URLs name each predictor
    (``?revision=<predictor name>``), so ``revision`` finds it wherever it is marked. Otherwise
    KServe's logger marks a canary's events (``endpoint: canary``) when it can; else (Knative splits
    by revision) the revision first seen last is the canary, the one before it the stable model.
    """
    mine = [w for w in windows if isinstance(w.get("key"), Mapping) and w["key"].get("namespace") == namespace
            and w["key"].get("service") == service and w["key"].get("component", "predictor") == "predictor"]  # fmt: skip
    named = [w for w in mine if revision is not None and w["key"].get("revision") == revision]
    if named:
        chosen = named
    elif any(w.get("endpoint") == "canary" for w in mine):
        chosen = [w for w in mine if (w.get("endpoint") == "canary") == (role == "canary")]
    else:
        by_age = sorted(mine, key=lambda w: float(w.get("first_seen") or 0))
        if role == "canary":
            chosen = by_age[-1:] if len(by_age) > 1 else []
        else:
            chosen = by_age[-2:-1] if len(by_age) > 1 else by_age
    return max(chosen, key=lambda w: float(w.get("last_seen") or 0), default=None)


def _live(window: Mapping[str, Any], url: str) -> dict[str, Any]:
    key = window["key"]
    latency: dict[str, Any] = _as_dict(window.get("latency_ms"))
    quality: dict[str, Any] = _as_dict(window.get("quality"))
    return {
        "monitor": url,
        "window": "/".join(str(key.get(k, "?")) for k in ("namespace", "service", "component", "revision")),
        "requests": window.get("requests"),
        "responses": window.get("responses"),
        "latency_ms": {p: latency[p] for p in ("p50", "p95", "p99") if isinstance(latency.get(p), (int, float))},
        "error_rate": window.get("error_rate"),
        # the monitor's last quality check: its metrics; how many labels it had and the drop test's p-value apart
        "quality": {k: v for k, v in quality.items() if isinstance(v, (int, float)) and k not in _CHECK_KEYS},
        "labels": int(quality["labels"]) if isinstance(quality.get("labels"), (int, float)) else 0,
        "first_seen": window.get("first_seen"),
        "last_seen": window.get("last_seen"),
    }


def production_numbers(baseline: Baseline, monitor: MonitorSourceConfig | None,
                       read_windows: WindowsReader | None) -> dict[str, Any] | None:  # fmt: skip
    """The compare gate's ``details.production``; None when the baseline is a plain file (nothing deployed is known)."""
    if baseline.artifact is None:
        return None
    notes: list[str] = []
    live = None
    if baseline.environment is None:
        pass  # baseline.artifact: a package, not an environment: no live window to name
    elif monitor is None:
        notes.append("no live numbers: set deploy.monitor to show the monitor's window of this model")
    elif baseline.service is None:
        notes.append("no live numbers: the InferenceService of the environment is not known")
    elif read_windows is None:
        notes.append("no live numbers: this run of the gates was given no way to read the monitor")
    else:
        namespace, service = baseline.service
        role = baseline.serving or "stable"
        try:
            window = serving_window(read_windows(monitor), namespace, service, role, predictor_name(baseline.artifact))
        except MlpipexError as exc:
            fix = exc.fix_suffix
            notes.append(f"no live numbers: {exc.message}{fix}")
        else:
            if window is None:
                notes.append(f"no live numbers: the monitor at {monitor.url} has no window of the {role} model "
                             f"of {namespace}/{service} yet")  # fmt: skip
            else:
                live = _live(window, monitor.url)
                if live["quality"] == {}:
                    notes.append("no quality numbers yet: the monitor has no delayed labels for this window "
                                 "(POST /api/v1/labels)")  # fmt: skip
    if baseline.recorded is None:
        notes.append("its package recorded no gate metrics (packaged without a gate report)")
    return {"label": NOT_THE_SAME_ROWS, "environment": baseline.environment, "serving": baseline.serving,
            "artifact": baseline.artifact, "deployed_at": baseline.deployed_at, "recorded": baseline.recorded,
            "live": live, "notes": notes}  # fmt: skip


def _as_dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
