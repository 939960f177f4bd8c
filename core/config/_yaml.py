"""Read YAML keeping where every value came from, so errors can name file:line:column.

PyYAML's composer gives nodes with marks; we build plain Python data from them and
record, for each path (``("gates", "latency", "iterations")``), the position of its
key and of its value. Duplicate keys, which PyYAML would silently overwrite, are an
error here. ``${VAR}`` and ``${VAR:-default}`` in scalars are filled from the
environment only; ``$${`` writes a literal ``${``; the names of variables that look
like secrets (``*TOKEN*``, ``*PASSWORD*`` …) are remembered so outputs redact them.

The file comes from a pull request, so reading it is bounded: its size, its nesting
depth, and the number of values aliases expand to (a "billion laughs" file would
otherwise exhaust memory); recursive aliases, custom tags (``!!python/name``,
``!foo``) and merge keys (``<<``) are errors with a line, never a crash.
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

MAX_BYTES = 1024 * 1024  # a config is a few KB; a MiB leaves room for long signatures
MAX_DEPTH = 64  # nesting levels; the schema itself is five deep
MAX_VALUES = 100_000  # values after aliases are expanded

# The tags YAML's core schema resolves plain values to; anything else is a custom tag.
_STANDARD_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}
_MERGE_TAG = "tag:yaml.org,2002:merge"

_VAR = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_constructor = yaml.constructor.SafeConstructor()


@dataclass
class Positions:
    """Where each path's key and value sit in the file (1-based line, column)."""

    file: str
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # The source text of plain scalars YAML read as numbers (`version: 1.10` is 1.1 to
    # YAML): the loader keeps the text where the schema wants text.
    number_texts: dict[Path_, str] = field(default_factory=dict)
    # Values that came from environment variables named like secrets.
    secrets: set[str] = field(default_factory=set)
    _count: int = 0

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
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(
                f"config file {path} is larger than {MAX_BYTES // 1024} KiB",
                fix="a config is a few KB; is this the right file?",
            )
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found: {path}",
            fix="create mlpipex.yaml (see examples/quickstart/mlpipex.yaml) or pass -c FILE",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        node = yaml.compose(text, Loader=_BoundedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(str(path), mark.line + 1, mark.column + 1) if mark else Location(str(path))
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc.context}",
            location=location,
            fix=getattr(exc, "fix", "check indentation and quoting on this line"),
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in {path}: {exc}") from None
    positions = Positions(str(path))
    if node is None:
        return {}, positions
    return _build(node, (), positions, env, frozenset()), positions


class _TooDeep(yaml.MarkedYAMLError):
    fix = "mlpipex.yaml is a few levels deep; check the indentation or brackets from here"


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer stops at ``MAX_DEPTH`` (it recurses once per level)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(None, None, f"the config nests deeper than {MAX_DEPTH} levels",
                               self.peek_event().start_mark)  # fmt: skip
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _here(positions: Positions, node: yaml.Node) -> Location:
    return Location(positions.file, *_position(node))


def _check_node(node: yaml.Node, positions: Positions, active: frozenset[int]) -> None:
    if id(node) in active:
        raise ConfigError(
            "an alias refers to the value that contains it (a recursive alias)",
            location=_here(positions, node),
            fix="write the value out instead of `*alias` inside its own `&anchor`",
        )
    positions._count += 1
    if positions._count > MAX_VALUES:
        raise ConfigError(
            f"the config expands to more than {MAX_VALUES:,} values (aliases multiply them)",
            location=_here(positions, node),
            fix="write the values out; mlpipex.yaml needs no `&anchor`/`*alias` chains",
        )
    if node.tag == _MERGE_TAG:
        raise ConfigError(
            "merge keys (`<<`) are not supported",
            location=_here(positions, node),
            fix="write the keys out in this mapping instead of merging an alias",
        )
    if node.tag not in _STANDARD_TAGS:
        raise ConfigError(
            f"the tag `{node.tag}` is not supported",
            location=_here(positions, node),
            fix="remove the tag: mlpipex.yaml holds plain text, numbers, booleans, lists and mappings",
        )


def _build(
    node: yaml.Node, path: Path_, positions: Positions, env: Mapping[str, str], active: frozenset[int]
) -> Any:
    _check_node(node, positions, active)
    positions.values[path] = _position(node)
    active = active | {id(node)}
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            _check_node(key_node, positions, active)
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("keys must be plain text", location=_here(positions, key_node))
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
            result[key] = _build(value_node, (*path, key), positions, env, active)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), positions, env, active) for i, item in enumerate(node.value)]
    try:
        value = _constructor.construct_object(node)
    except (yaml.YAMLError, ValueError) as exc:  # e.g. a timestamp out of range
        raise ConfigError(f"cannot read this value: {exc}", location=_here(positions, node)) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(node, yaml.ScalarNode) and node.style is None:
        positions.number_texts[path] = str(node.value)
    if isinstance(value, str) and "$" in value:
        return _interpolate(value, _here(positions, node), env, positions.secrets)
    return value


def _interpolate(text: str, location: Location, env: Mapping[str, str], secrets: set[str]) -> str:
    from mlpipex.secrets import looks_secret

    def substitute(match: re.Match[str]) -> str:
        escaped, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        if name in env:
            if looks_secret(name) and env[name]:
                secrets.add(env[name])
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"environment variable {name} is not set",
            location=location,
            fix=f"export {name}=..., or give a default: ${{{name}:-value}}",
        )

    return _VAR.sub(substitute, text)
