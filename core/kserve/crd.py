"""Validate objects against a CustomResourceDefinition's OpenAPI v3 schema, before any API server sees them.

The schema comes from the cluster (apiextensions API) or a file (``--crd``); the
errors name the JSON path, what is wrong and what the schema allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from mlpipex.errors import InputError, Location

__all__ = ["CrdSchema", "load_crd"]


class CrdSchema:
    def __init__(self, crd: dict[str, Any], version: str = "v1beta1") -> None:
        import jsonschema

        versions = {v["name"]: v for v in crd.get("spec", {}).get("versions", [])}
        if version not in versions:
            raise InputError(f"the CRD has no version {version} (it has {', '.join(versions) or 'none'})")
        self.kind = crd["spec"]["names"]["kind"]
        self.schema = versions[version]["schema"]["openAPIV3Schema"]
        self._validator = jsonschema.Draft7Validator(self.schema)

    def problems(self, obj: dict[str, Any]) -> list[str]:
        found = []
        for error in sorted(self._validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path) or "(root)"
            found.append(f"{path.lstrip('.')}: {_message(error)}")
        return found

    def check(self, obj: dict[str, Any], *, source: str = "the InferenceService") -> None:
        problems = self.problems(obj)
        if problems:
            raise InputError(
                f"{source} does not match the {self.kind} schema ({len(problems)} problem"
                f"{'s' if len(problems) != 1 else ''}):\n  " + "\n  ".join(problems[:20]),
                fix="fix the deploy section of mlpipex.yaml; the schema is the cluster's own CRD",
            )


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown field")
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {list(error.validator_value)}"
    return str(error.message)


def load_crd(path: Path) -> CrdSchema:
    try:
        # The InferenceService CRD is 2 MB of YAML: libyaml reads it ten times faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        documents: Iterable[Any] = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader))
    except FileNotFoundError:
        raise InputError(f"CRD file not found: {path}",
                         fix="kubectl get crd inferenceservices.serving.kserve.io -o yaml > crd.yaml") from None  # fmt: skip
    except yaml.YAMLError as exc:
        raise InputError(f"the CRD file is not YAML: {exc}", location=Location(str(path))) from None
    for document in documents:
        if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
            return CrdSchema(document)
    raise InputError("no CustomResourceDefinition in the file", location=Location(str(path)))
