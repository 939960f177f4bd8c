"""The shipped ServingRuntime is valid against KServe's CRD and runs `mlpipex serve` on the mount."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpipex.kserve.crd import CrdSchema

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT.parent / "shared" / "kserve" / "serving.kserve.io_servingruntimes.yaml"


def test_servingruntime_matches_the_crd():
    if not CRD.exists():
        pytest.skip(f"the KServe CRDs are not here ({CRD}); they ship in ../shared/kserve")
    crd = yaml.load(CRD.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    runtime = yaml.safe_load((ROOT / "deploy" / "kserve" / "servingruntime.yaml").read_text())
    assert CrdSchema(crd, version="v1alpha1").problems(runtime) == []
    container = runtime["spec"]["containers"][0]
    assert container["args"][:2] == ["serve", "/mnt/models"]
    assert runtime["spec"]["supportedModelFormats"][0]["name"] == "onnx"
    broken = {**runtime, "spec": {**runtime["spec"], "supportedModelFormats": [{"name": 5}]}}
    assert CrdSchema(crd, version="v1alpha1").problems(broken)


def test_the_serving_container_listens_on_every_address():
    """`mlpipex serve` binds loopback by default (issue 15 item 16): in a pod it must bind 0.0.0.0."""
    runtime = yaml.safe_load((ROOT / "deploy" / "kserve" / "servingruntime.yaml").read_text())
    args = runtime["spec"]["containers"][0]["args"]
    assert args[args.index("--host") + 1] == "0.0.0.0"
