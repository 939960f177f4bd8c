"""The markdown of a rollout step: what serves where, the traffic split as a pie, who did it.

Posted by the providers as the commit's deploy status (a check run on GitHub) and
printed by the App in its replies, so both say the same thing the same way.
"""

from __future__ import annotations

from mlpipex.events import DeployEvent
from mlpipex.report._text import cell, code

ICON = {True: "🚀", False: "👎"}


def short(reference: str | None) -> str:
    """``ghcr.io/org/model@sha256:0123456789ab…`` → ``model@sha256:0123456789ab``."""
    if not reference:
        return "—"
    name, _, digest = reference.partition("@")
    name = name.rsplit("/", 1)[-1]
    return f"{name}@{digest[:19]}" if digest else name


def _pie_label(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")[:60]


def render_deploy_markdown(event: DeployEvent) -> str:
    lines = [f"### {ICON[event.ok]} {cell(event.title)}", "", cell(event.message, 2000), ""]
    rows = [("environment", cell(event.environment)), ("service", code(event.service, in_table=True))]
    if event.artifact:
        rows.append(("new model", code(event.artifact, 300, in_table=True)))
    if event.stable and event.stable != event.artifact:
        rows.append(("stable model", code(event.stable, 300, in_table=True)))
    if event.by:
        rows.append(("by", cell(event.by)))
    lines += ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), ""]
    if event.ok and event.traffic is not None and event.artifact:
        split = [(f"new {short(event.artifact)}", event.traffic)]
        if event.traffic < 100 and event.stable:
            split.append((f"stable {short(event.stable)}", 100 - event.traffic))
        lines += ["```mermaid", f'pie showData title Traffic in {_pie_label(event.environment)}']
        lines += [f'    "{_pie_label(label)}" : {share}' for label, share in split]
        lines += ["```", ""]
    return "\n".join(lines)
