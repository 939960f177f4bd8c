"""Read YAML keeping where every value came from, so errors can name file:line:column.

PyYAML's composer gives nodes with marks; we build plain Python data from them and
record, for each path (``("gates", "latency", "iterations")``), the position of its
key and of its value. Duplicate keys, which PyYAML would silently overwrite, are an
error here. ``${VAR}`` and ``${VAR:-default}`` in scalars are filled from the
environment only; ``$${`` writes a literal ``${``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlpipex.errors import ConfigError, Location

__all__ = ["Positions", "read_yaml"]

Path_ = tuple[str | int, ...]

_VAR = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_constructor = yaml.constructor.SafeConstructor()


@dataclass
class Positions:
    """Where each path's key and value sit in the file (1-based line, column)."""

    file: str
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path_, *, prefer_key: bool = False) -> Location:
        """The closest known position: the path itself, else its nearest ancestor."""
        for depth in range(len(path), -1, -1):
            sub = path[:depth]
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for positions in table:
                if sub in positions:
                    line, column = positions[sub]
                    return Location(self.file, line, column)
        return Location(self.file)


def read_yaml(path: Path, environ: Mapping[str, str] | None = None) -> tuple[Any, Positions]:
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found: {path}",
            fix="create mlpipex.yaml (see examples/quickstart/mlpipex.yaml) or pass -c FILE",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(str(path), mark.line + 1, mark.column + 1) if mark else Location(str(path))
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc.context}",
            location=location,
            fix="check indentation and quoting on this line",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in {path}: {exc}") from None
    positions = Positions(str(path))
    if node is None:
        return {}, positions
    return _build(node, (), positions, env), positions


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(node: yaml.Node, path: Path_, positions: Positions, env: Mapping[str, str]) -> Any:
    positions.values[path] = _position(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _constructor.construct_object(key_node)
            if not isinstance(key, (str, int)):
                raise ConfigError(
                    f"keys must be plain text, got {key!r}",
                    location=Location(positions.file, *_position(key_node)),
                )
            if key in result:
                raise ConfigError(
                    f"duplicate key `{key}`",
                    location=Location(positions.file, *_position(key_node)),
                    fix=f"`{key}` was already set at line {positions.keys[path + (key,)][0]}; keep one",
                )
            positions.keys[path + (key,)] = _position(key_node)
            result[key] = _build(value_node, (*path, key), positions, env)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), positions, env) for i, item in enumerate(node.value)]
    value = _constructor.construct_object(node)
    if isinstance(value, str) and "$" in value:
        return _interpolate(value, Location(positions.file, *_position(node)), env)
    return value


def _interpolate(text: str, location: Location, env: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        escaped, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"environment variable {name} is not set",
            location=location,
            fix=f"export {name}=..., or give a default: ${{{name}:-value}}",
        )

    return _VAR.sub(substitute, text)
