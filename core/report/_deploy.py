"""The markdown of a rollout step: what serves where, the traffic split as a pie, who did it.

Posted by the providers as the commit's deploy status (a check run on GitHub) and
printed by the App in its replies, so both say the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlpipex.events import DeployEvent
from mlpipex.report._text import cell, code, mermaid_label, mermaid_text

ICON = {True: "🚀", False: "👎"}


def short(reference: str | None) -> str:
    """``ghcr.io/org/model@sha256:0123456789ab…`` → ``model@sha256:0123456789ab``."""
    if not reference:
        return "—"
    name, _, digest = reference.partition("@")
    name = name.rsplit("/", 1)[-1]
    return f"{name}@{digest[:19]}" if digest else name


def _role(event: DeployEvent) -> str:
    """What ``artifact`` is to the reader: after a rollback it is the model put back, not a new one."""
    return "restored" if "rollback" in event.action else "new"


def render_deploy_markdown(event: DeployEvent, warnings: Sequence[str] = ()) -> str:
    """``warnings``: what did not follow a step that succeeded (an environment tag not moved), shown under it."""
    lines = [f"### {ICON[event.ok]} {cell(event.title)}", "", cell(event.message, 2000), ""]
    for warning in warnings:
        lines += [f"> [!WARNING]\n> {cell(warning, 2000)}", ""]
    rows = [("environment", cell(event.environment)), ("service", code(event.service, in_table=True))]
    if event.artifact:
        rows.append((f"{_role(event)} model", code(event.artifact, 300, in_table=True)))
    if event.stable and event.stable != event.artifact:
        rows.append(("stable model", code(event.stable, 300, in_table=True)))
    if event.by:
        rows.append(("by", cell(event.by)))
    lines += ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), ""]
    if event.ok and event.traffic is not None and event.artifact:
        split = [(f"{_role(event)} {short(event.artifact)}", event.traffic)]
        if event.traffic < 100 and event.stable:
            split.append((f"stable {short(event.stable)}", 100 - event.traffic))
        lines += ["```mermaid", f"pie showData title Traffic in {mermaid_text(event.environment, 60)}"]
        lines += [f"    {mermaid_label(label, 60)} : {share}" for label, share in split]
        lines += ["```", ""]
    return "\n".join(lines)
