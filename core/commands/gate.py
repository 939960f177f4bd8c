"""``mlpipex gate``: run the deployment gates and write the reports."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.commands import config_option, provider_options
from mlpipex.errors import MlpipexError
from mlpipex.version import __version__

if TYPE_CHECKING:
    from mlpipex.config.model import MonitorSourceConfig

DEFAULT_REPORT_DIR = ".mlpipex/report"


def register(commands: Any) -> None:
    parser = commands.add_parser("gate", help="run the deployment gates and write reports")
    config_option(parser)
    parser.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, metavar="DIR",
                        help=f"where report.json, report.md and junit.xml go (default {DEFAULT_REPORT_DIR})")  # fmt: skip
    parser.add_argument("--only", default="", metavar="NAMES", help="comma-separated gates to run")
    parser.add_argument("--skip", default="", metavar="NAMES", help="comma-separated gates to leave out")
    parser.add_argument("--fail-on", choices=("fail", "warn"), default="fail",
                        help="exit 1 on failures only (default) or on warnings too")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="print only the verdict table")
    provider_options(parser)
    parser.set_defaults(handler=run)


def gate_names(text: str, option: str) -> list[str]:
    from mlpipex.gates import GATES

    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in GATES:
            close = difflib.get_close_matches(name, list(GATES), n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"gates are: {', '.join(GATES)}"
            raise MlpipexError(f"{option}: unknown gate `{name}`", fix=hint)
    return names


def run(args: argparse.Namespace) -> int:
    from mlpipex.config import load_config
    from mlpipex.console import Console
    from mlpipex.gates import Status, run_gates, select_gates
    from mlpipex.providers import provider_for
    from mlpipex.report import render_console, render_markdown, write_reports
    from mlpipex.secrets import redact_data

    only, skip = gate_names(args.only, "--only"), gate_names(args.skip, "--skip")
    config = load_config(args.config)
    console = Console(quiet=args.quiet)
    names = select_gates(config, only, skip)
    if not names:
        raise MlpipexError("no gate left to run", fix="check --only/--skip and the gates' `enabled` settings")
    console.line(f"mlpipex {__version__} · {config.model.name}@{config.model.version} · "
                 f"gates: {', '.join(names)}")  # fmt: skip
    provider = provider_for(args.provider, strict=args.strict_report)
    provider.started(config.model.name)
    # Redacted once here, so report.json/md, junit.xml, the step summary and every
    # provider post render the same secret-free report.
    report = redact_data(run_gates(
        config,
        names,
        progress=console.progress,
        on_start=console.gate_started,
        on_result=console.gate_result,
        fail_on=Status(args.fail_on),
        read_monitor_windows=_monitor_windows,
    ))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    paths = write_reports(report, Path(args.report_dir), step_summary=Path(summary) if summary else None)
    console.line()
    sys.stdout.write(render_console(report, color=console.color) + "\n")
    console.line(f"reports: {paths.markdown}, {paths.json}, {paths.junit}")
    if summary and paths.step_summary is None:
        console.line(f"warning: could not append the report to GITHUB_STEP_SUMMARY ({summary})")
    published = provider.publish(report, render_markdown(report), config_path=str(config.source))
    for warning in published.warnings:
        console.line(f"warning: {warning}")
    if published.places and provider.name != "local":
        console.line(f"posted: {', '.join(published.places)}")
    provider.write_outputs({"verdict": report.verdict.value, "report-path": str(paths.markdown),
                            "exit-code": str(report.exit_code)})  # fmt: skip
    return report.exit_code


def _monitor_windows(monitor: MonitorSourceConfig) -> list[dict[str, Any]]:
    """The monitor's live windows (``GET /api/v1/windows``, its read token), for the compare gate."""
    from mlpipex.monitor import MonitorSource

    return MonitorSource(monitor.url, timeout=monitor.timeout).windows()
