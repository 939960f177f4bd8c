"""mlpipex.yaml: its schema, its loader, and threshold expressions."""

from __future__ import annotations

import json
from typing import Any

from mlpipex.config.loader import DEFAULT_CONFIG, find_config, load_config
from mlpipex.config.model import API_VERSION, Config
from mlpipex.config.thresholds import Threshold, ThresholdSyntaxError, parse_threshold

__all__ = [
    "API_VERSION",
    "DEFAULT_CONFIG",
    "Config",
    "Threshold",
    "ThresholdSyntaxError",
    "find_config",
    "json_schema",
    "json_schema_text",
    "load_config",
    "parse_threshold",
]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of mlpipex.yaml (committed as schema/mlpipex.schema.json)."""
    schema = Config.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
