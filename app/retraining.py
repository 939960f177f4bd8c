"""Retraining pull requests: one per model, opened by a drift alert, `/retrain` or the schedule.

The pull request is the hand-off to people and to CI: branch
``mlpipex/retrain/<model>`` carries ``.mlpipex/retrain/<model>.yaml`` (what
triggered it, why, the data window, the drift summary), which the repository's
retraining job reads; the retrained model then meets the same gates as any pull
request. While that pull request is open, a new alert updates it instead of
opening another.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import yaml

from mlpipex.app.alerts import JOB_KIND, DriftAlert
from mlpipex.app.forge import RepoForge
from mlpipex.app.recording import choose_config
from mlpipex.app.registry import JobContext, PermanentJobError, register
from mlpipex.kserve.manifests import service_name
from mlpipex.report import cell, plain, xychart

if TYPE_CHECKING:
    from mlpipex.config import Config

__all__ = ["KIND", "on_drift_alert", "render_body", "request_retraining", "retrain_record"]

KIND = JOB_KIND
CHART_FEATURES = 50  # horizontal bars, one row each: readable at 50


def branch_for(model: str) -> str:
    return f"mlpipex/retrain/{model}"


def record_path(model: str) -> str:
    return f".mlpipex/retrain/{model}.yaml"


def retrain_record(config: Config, *, trigger: str, actor: str, reason: str, alert: DriftAlert | None,
                   now: dt.datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """What the retraining job needs to know, as data (pure)."""
    moment = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    record: dict[str, Any] = {"model": config.model.name, "version": config.model.version, "trigger": trigger,
                              "reason": reason, "requested_by": actor, "requested_at": moment}  # fmt: skip
    if alert is not None:
        record["alert"] = {"id": alert.id, "environment": alert.environment, "severity": alert.severity,
                           "fired_at": alert.fired_at.isoformat()}  # fmt: skip
        if alert.window is not None:
            record["data_window"] = {"start": alert.window.start.isoformat(), "end": alert.window.end.isoformat(),
                                     "samples": alert.window.samples}  # fmt: skip
        record["drift"] = [{"feature": f.name, "test": f.test, "statistic": round(f.statistic, 6),
                            **({"p_value": f.p_value} if f.p_value is not None else {}),
                            **({"psi": round(f.psi, 6)} if f.psi is not None else {}), "drifted": f.drifted}
                           for f in alert.features]  # fmt: skip
    return record


def render_body(record: dict[str, Any], alert: DriftAlert | None) -> str:
    """The pull request's description: why, a drift table and a chart (pure)."""
    lines = [f"## Retrain `{cell(record['model'])}`", "",
             f"**Why:** {cell(record['reason'], 1000)}", "",
             f"Requested by {cell(record['requested_by'])} ({cell(record['trigger'])}) at {record['requested_at']}."]  # fmt: skip
    if "data_window" in record:
        window = record["data_window"]
        lines += ["", f"Data window: {window['start']} → {window['end']} ({window['samples']:,} samples)."]
    drift = record.get("drift") or []
    if drift:
        ranked = sorted(drift, key=lambda f: -f["statistic"])
        lines += ["", "| feature | test | statistic | p-value | drifted |", "|---|---|---|---|---|"]
        lines += [f"| {cell(f['feature'])} | {f['test']} | {f['statistic']:.4f} | "
                  f"{'—' if f.get('p_value') is None else format(f['p_value'], '.2g')} | {'⚠️ yes' if f['drifted'] else 'no'} |"
                  for f in ranked]  # fmt: skip
        shown = ranked[:CHART_FEATURES]
        statistics = [float(f["statistic"]) for f in shown]
        top = max([*statistics, 0.0]) * 1.1 or 1.0
        chart = xychart(["#4e79a7"], "Drift by feature (test statistic)", [str(f["feature"]) for f in shown],
                        f'"statistic" 0 --> {plain(top)}', statistics, [])  # fmt: skip
        lines += ["", "```mermaid", chart, "```"]
    if alert is not None and alert.report_url:
        lines += ["", f"Full report: {cell(alert.report_url, 500)}"]
    lines += ["", f"The retraining job reads `{record_path(record['model'])}` on this branch; "
                  "the retrained model then meets the same gates as any pull request.", ""]  # fmt: skip
    return "\n".join(lines)


def request_retraining(forge: RepoForge, config: Config, *, trigger: str, actor: str, reason: str,
                       alert: DriftAlert | None = None) -> str:  # fmt: skip
    """Open the model's retraining pull request, or update the open one; its URL."""
    model = config.model.name
    record = retrain_record(config, trigger=trigger, actor=actor, reason=reason, alert=alert)
    branch, base = branch_for(model), forge.default_branch()
    body = render_body(record, alert)
    text = "# Written by mlpipex: why this model is being retrained.\n" + yaml.safe_dump(record, sort_keys=False)
    existing = forge.open_pull_from(branch)
    forge.ensure_branch(branch, base)
    forge.put_file(record_path(model), text, branch=branch, message=f"mlpipex: retrain {model} ({trigger})")
    if existing is not None:
        forge.update_pull_body(existing.number, body)
        forge.reply(existing.number, f"Updated by a new trigger: {cell(trigger)} — {cell(reason, 500)}")
        return existing.url
    pr = forge.open_pull(title=f"Retrain {model}: {reason[:80]}", body=body, head=branch, base=base,
                         labels=list(config.retraining.labels))  # fmt: skip
    return pr.url


def config_for_alert(configs: list[Config], name: str) -> Config | str:
    """The config an alert's ``model`` names: by ``model.name`` first, else by the
    InferenceService name (``deploy.name``), which is what the monitor knows the model by."""
    chosen = choose_config(configs, name)
    if isinstance(chosen, str):
        by_service = [c for c in configs if service_name(c) == name]
        if len(by_service) == 1:
            return by_service[0]
    return chosen


@register(KIND)
def on_drift_alert(payload: dict[str, Any], ctx: JobContext) -> None:
    alert = DriftAlert.model_validate_json(json.dumps(payload["alert"]))  # JSON rules: ISO times are times
    if alert.verdict != "drift":
        return
    forge = RepoForge(ctx.github(), alert.repository)
    chosen = config_for_alert(forge.configs(forge.default_branch()), alert.model)
    if isinstance(chosen, str):
        raise PermanentJobError(f"drift alert {alert.id}: {chosen}")
    drifted = [f.name for f in alert.features if f.drifted]
    reason = alert.summary or (f"drift in {', '.join(drifted[:5])}" + (" …" if len(drifted) > 5 else "") if drifted else "drift")
    url = request_retraining(forge, chosen, trigger=f"drift alert {alert.id}", actor="mlpipex monitor",
                             reason=reason, alert=alert)  # fmt: skip
    ctx.store.audit.record(actor="system:monitor", action="retrain", outcome="succeeded", repository=alert.repository,
                           model=chosen.model.name, environment=alert.environment, detail=url)  # fmt: skip
