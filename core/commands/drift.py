"""``mlpipex drift``: test current data against a reference and write drift reports.

The reference is a CSV/Parquet data file, a reference profile (profile JSON, a
package config blob, or a directory from ``mlpipex pull``), a package in the local
store (NAME:VERSION) or in a registry (REGISTRY/REPO:TAG, whose config blob
carries the profile). Exit 1 on significant drift, 0 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.commands import config_option
from mlpipex.commands._registry_options import add_registry_options
from mlpipex.errors import InputError, Location

if TYPE_CHECKING:
    import numpy as np

    from mlpipex.config import Config
    from mlpipex.console import Console
    from mlpipex.drift import Reference

DEFAULT_REPORT_DIR = ".mlpipex/drift"
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def register(commands: Any) -> None:
    parser = commands.add_parser("drift", help="test current data for drift against a reference; write reports")
    config_option(parser)
    parser.add_argument("--reference", required=True, metavar="FILE|REF",
                        help="CSV/Parquet data, a profile JSON, a pulled package directory, "
                             "NAME:VERSION in the local store, or REGISTRY/REPO:TAG")  # fmt: skip
    parser.add_argument("--current", required=True, metavar="FILE", help="current data, CSV or Parquet")
    parser.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, metavar="DIR",
                        help=f"where drift.json, drift.md and drift.html go (default {DEFAULT_REPORT_DIR})")  # fmt: skip
    parser.add_argument("--layout", default=".mlpipex/oci", metavar="DIR", help="local OCI image layout")
    parser.add_argument("--quiet", action="store_true", help="print only the verdict")
    add_registry_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mlpipex.console import Console
    from mlpipex.drift import (
        DriftSettings,
        Sources,
        detect_drift,
        render_console,
        render_html,
        render_json,
        render_markdown,
    )

    console = Console(quiet=args.quiet)
    config = _load_config(args.config)
    settings = DriftSettings.from_config(config.monitoring) if config else DriftSettings()
    current_path = Path(args.current)
    if not current_path.is_file():
        raise InputError(f"current data not found: {current_path}", fix="give --current a CSV or Parquet file")
    if current_path.suffix.lower() not in DATA_SUFFIXES:
        raise InputError(f"unsupported current data format `{current_path.suffix}`",
                         location=Location(str(current_path)), fix="use a .csv or .parquet file")  # fmt: skip
    reference, label = _reference(args, config, current_path, console)
    current = _read_columns(current_path, list(reference.features), console, "current")
    report = detect_drift(reference, current, settings, progress=console.progress)
    sources = Sources(reference=label, current=current_path.name)
    out = Path(args.report_dir)
    markdown = render_markdown(report, sources)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "drift.json").write_text(render_json(report, sources), encoding="utf-8")
        (out / "drift.md").write_text(markdown, encoding="utf-8")
        (out / "drift.html").write_text(render_html(report, sources), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the drift reports: {exc.strerror}", location=Location(str(out)),
                         fix="give --report-dir a writable directory") from None  # fmt: skip
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(markdown + "\n")
        except OSError:
            console.line(f"warning: could not append the report to GITHUB_STEP_SUMMARY ({summary})")
    sys.stdout.write(render_console(report, color=console.color) + "\n")
    console.line(f"reports: {out / 'drift.md'}, {out / 'drift.json'}, {out / 'drift.html'}")
    return report.exit_code


def _load_config(path: str | None) -> Config | None:
    """The named config; mlpipex.yaml in the working directory if there is one; else none (defaults)."""
    from mlpipex.config import load_config

    if path:
        return load_config(path)
    return load_config("mlpipex.yaml") if Path("mlpipex.yaml").is_file() else None


# -- the reference ------------------------------------------------------------------


def _reference(args: argparse.Namespace, config: Config | None, current: Path,
               console: Console) -> tuple[Reference, str]:  # fmt: skip
    from mlpipex.drift import Reference

    text = args.reference
    path = Path(text)
    if path.is_dir():
        blob = path / "config.json"
        if not blob.is_file():
            raise InputError(f"{path} holds no config.json", location=Location(str(path)),
                             fix="give a directory made by `mlpipex pull`, or the profile JSON itself")  # fmt: skip
        return Reference.from_profile(_profile_of(_read_json(blob), blob)), f"{path.name} (profile)"
    if path.is_file():
        if path.suffix.lower() == ".json":
            return Reference.from_profile(_profile_of(_read_json(path), path)), f"{path.name} (profile)"
        if path.suffix.lower() not in DATA_SUFFIXES:
            raise InputError(f"unsupported reference format `{path.suffix}`", location=Location(str(path)),
                             fix="use CSV or Parquet data, or a profile JSON")  # fmt: skip
        features, categorical = _data_features(path, config, current)
        columns = _read_columns(path, features, console, "reference")
        text_columns = {n for n, v in columns.items() if v.dtype == object and not _numeric_text(v)}
        return Reference.from_columns(columns, categorical=categorical | text_columns), path.name
    if "/" in text and not text.startswith((".", "/")):
        from mlpipex.commands._registry_options import client_for
        from mlpipex.oci import inspect_remote, parse_reference

        ref = parse_reference(text)
        inspection = inspect_remote(client_for(ref, args, console), ref)
        return Reference.from_profile(_profile_of(inspection.config, None, text)), inspection.reference
    if ":" in text:
        from mlpipex.oci import Layout, inspect_local

        inspection = inspect_local(Layout(Path(args.layout)), text)
        return Reference.from_profile(_profile_of(inspection.config, None, text)), text
    raise InputError(f"reference not found: {text}",
                     fix="give a CSV/Parquet file, a profile JSON, NAME:VERSION in the local store "
                         "(see `mlpipex inspect`) or REGISTRY/REPO:TAG")  # fmt: skip


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a readable JSON file: {exc}", location=Location(str(path))) from None


def _profile_of(data: Any, path: Path | None, ref: str = "") -> dict[str, Any]:
    """A profile itself, or the ``profile`` of a package config blob."""
    from mlpipex.stats.profile import PROFILE_FORMAT

    if isinstance(data, dict) and "profile" in data and data.get("format") != PROFILE_FORMAT:
        if not data["profile"]:
            raise InputError(f"the package {ref or path} carries no reference profile",
                             location=Location(str(path)) if path else None,
                             fix="set data.training in mlpipex.yaml and package again, or give the training data "
                                 "itself as --reference")  # fmt: skip
        profile: dict[str, Any] = data["profile"]
        return profile
    if not isinstance(data, dict):
        raise InputError("not a reference profile (a JSON object is expected)",
                         location=Location(str(path)) if path else None)  # fmt: skip
    return data


def _data_features(path: Path, config: Config | None, current: Path) -> tuple[list[str], set[str]]:
    """Features of a data-file reference: the config's, else every column both files share."""
    from mlpipex.runtime.data import table_columns

    columns = table_columns(path)
    categorical = set(config.data.categorical) if config else set()
    if config and config.data.features:
        features = list(config.data.features)
        missing = [f for f in features if f not in columns]
        if missing:
            raise InputError(f"the reference lacks feature columns: {', '.join(missing)}",
                             location=Location(str(path)),
                             fix=f"data.features in {config.source.name} lists them; give data with those columns")  # fmt: skip
        return features, categorical
    special = {config.data.label, config.data.prediction_column, config.data.score_column} - {None} if config \
        else set()  # fmt: skip
    features = [c for c in columns if c not in special]
    if not features:
        raise InputError("the reference has no feature columns", location=Location(str(path)))
    current_columns = set(_columns_of(current))
    missing = [f for f in features if f not in current_columns]
    if missing and len(missing) == len(features):
        raise InputError(f"the current data shares no column with the reference ({path.name})",
                         location=Location(str(current)), fix=f"reference columns are: {', '.join(features)}")  # fmt: skip
    return features, categorical


def _columns_of(path: Path) -> list[str]:
    from mlpipex.runtime.data import table_columns

    return table_columns(path)


def _numeric_text(values: np.ndarray) -> bool:
    """True when an object column is numbers apart from empty cells (a CSV column with blanks)."""
    for v in values[:1000].tolist():
        if v is None or v == "":
            continue
        try:
            float(v)
        except (TypeError, ValueError):
            return False
    return True


# -- reading data, with progress -------------------------------------------------------


def _read_columns(path: Path, features: list[str], console: Console, role: str) -> dict[str, np.ndarray]:
    """The ``features`` of a CSV/Parquet file, read a chunk at a time with a progress bar."""
    import numpy as np

    from mlpipex.runtime.data import iter_table_chunks

    columns = _columns_of(path)
    missing = [f for f in features if f not in columns]
    if missing:
        hints = [f"`{m}` → did you mean `{c[0]}`?" for m in missing
                 if (c := difflib.get_close_matches(m, columns, n=1))]  # fmt: skip
        raise InputError(f"the {role} data lacks feature columns: {', '.join(missing)}",
                         location=Location(str(path)),
                         fix="; ".join(hints) if hints else
                         f"add the columns (the reference has {len(features)} features), or compare data of the "
                         "same model")  # fmt: skip
    total = _row_estimate(path)
    chunks: list[dict[str, np.ndarray]] = []
    done = 0
    for chunk in iter_table_chunks(path, features):
        chunks.append(chunk)
        done += len(next(iter(chunk.values()))) if chunk else 0
        console.progress(f"reading {role} ({path.name})", min(done, total - 1) if total else done, max(total, 1))
    console.progress(f"reading {role} ({path.name})", 1, 1)
    if not chunks or done == 0:
        raise InputError(f"the {role} data has no rows", location=Location(str(path)))
    return {name: np.concatenate([c[name] for c in chunks]) if len(chunks) > 1 else chunks[0][name]
            for name in features}  # fmt: skip


def _row_estimate(path: Path) -> int:
    """Rows in a file, for the progress bar: Parquet metadata, or a CSV's line count."""
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # the reader reports real problems with the file
            return 0
    lines = 0
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 24):
                lines += block.count(b"\n")
    except OSError:
        return 0
    return max(lines - 1, 0)
