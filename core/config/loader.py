"""Load mlpipex.yaml into a ``Config``, or explain precisely what is wrong with it.

Every problem is reported with file:line:column, the key, and a fix; all problems
are collected before raising so a user fixes the file in one pass.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mlpipex.config._checks import semantic_problems
from mlpipex.config._yaml import Path_, Positions, read_yaml
from mlpipex.config.model import API_VERSION, Config
from mlpipex.errors import ConfigError, MlpipexError
from mlpipex.secrets import register

__all__ = ["DEFAULT_CONFIG", "find_config", "load_config"]

DEFAULT_CONFIG = "mlpipex.yaml"


def find_config(path: str | Path | None = None) -> Path:
    """``-c FILE`` if given, else mlpipex.yaml (or .yml) in the working directory."""
    if path is not None:
        return Path(path)
    for name in (DEFAULT_CONFIG, "mlpipex.yml"):
        if Path(name).exists():
            return Path(name)
    return Path(DEFAULT_CONFIG)


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    check_files: bool = True,
) -> Config:
    """Read, interpolate, validate. Raises ``ConfigError`` listing every problem."""
    source = find_config(path).absolute()
    data, positions = read_yaml(source, environ)
    if not isinstance(data, dict):
        raise ConfigError(
            "the config must be a mapping of sections (apiVersion, model, data, gates, …)",
            location=positions.locate(()),
            fix=f"start the file with `apiVersion: {API_VERSION}`",
        )
    _keep_version_text(data, positions)
    register(*positions.secrets)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise _config_error(source, _pydantic_problems(exc, positions)) from None
    config._source = source
    config._lines = {path: line for path, (line, _) in positions.keys.items()}
    problems = [
        MlpipexError(message, location=positions.locate(where, prefer_key=at_key), fix=fix)
        for where, message, fix, at_key in semantic_problems(config, check_files=check_files)
    ]
    if problems:
        raise _config_error(source, problems)
    return config


def _keep_version_text(data: dict[Any, Any], positions: Positions) -> None:
    """`version: 1.10` is the text "1.10", not YAML's float 1.1."""
    model = data.get("model")
    text = positions.number_texts.get(("model", "version"))
    if isinstance(model, dict) and text is not None:
        model["version"] = text


def _config_error(source: Path, problems: list[MlpipexError]) -> ConfigError:
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return ConfigError(f"{source.name} is not valid ({count}):", problems=problems)


def _pydantic_problems(exc: ValidationError, positions: Positions) -> list[MlpipexError]:
    problems: list[MlpipexError] = []
    seen: set[Path_] = set()
    for error in exc.errors():
        path = _data_path(error["loc"], positions)
        if path in seen:  # a union reports one error per variant; one is enough
            continue
        seen.add(path)
        problems.append(_describe(error, path, positions))
    return problems


def _data_path(loc: tuple[Any, ...], positions: Positions) -> Path_:
    """Drop pydantic's variant tags (``int``, ``function-after[…]``) from a location."""
    path: list[str | int] = []
    for part in loc:
        known = (*path, part) in positions.values or (*path, part) in positions.keys
        if known or not _is_tag(part):
            path.append(part)
    return tuple(path)


def _is_tag(part: Any) -> bool:
    return isinstance(part, str) and (
        "[" in part or part in {"int", "str", "float", "bool", "none", "list", "dict", "literal"}
    )


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(error: Any, path: Path_, positions: Positions) -> MlpipexError:
    kind = error["type"]
    where = _dotted(path)
    if kind == "extra_forbidden":
        key = str(path[-1])
        parent = _dotted(path[:-1])
        allowed = _allowed_keys(path[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        fix = f"did you mean `{close[0]}`?" if close else None
        listing = f"allowed keys: {', '.join(allowed)}" if allowed else "this section takes no keys yet"
        fix = f"{fix} ({listing})" if fix else listing
        return MlpipexError(
            f"unknown key `{key}` in `{parent}`",
            location=positions.locate(path, prefer_key=True),
            fix=fix,
        )
    if kind == "missing":
        key = str(path[-1]) if path else "?"
        return MlpipexError(
            f"missing required key `{key}` in `{_dotted(path[:-1])}`",
            location=positions.locate(path[:-1], prefer_key=True),
            fix=f"add `{key}: …`" + (f" (apiVersion is {API_VERSION})" if key == "apiVersion" else ""),
        )
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    fix = None
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        given = str(error.get("input"))
        close = difflib.get_close_matches(given, options, n=1, cutoff=0.5)
        fix = f"did you mean `{close[0]}`?" if close else f"use one of: {', '.join(options)}"
    elif kind == "string_pattern_mismatch" and path and path[-1] == "name":
        fix = "use lowercase letters, digits and dashes, e.g. `fraud-detector`"
    return MlpipexError(f"`{where}`: {message}", location=positions.locate(path), fix=fix)


def _allowed_keys(path: Path_) -> list[str]:
    """The keys the schema accepts at ``path`` (for "did you mean")."""
    current: Any = Config
    for part in path:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap_optional(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _step(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and isinstance(part, int) and args:
        return args[0]
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return args[1]
    return None


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(models) == 1:
            return models[0]
    return annotation
