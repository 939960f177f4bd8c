"""What the cluster's KServe can do, read from KServe's own CRD, ConfigMap and controller image."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from mlpipex.errors import InputError
from mlpipex.kserve.capabilities import capabilities, check_canary_split, parse_version

SHARED = Path(__file__).resolve().parents[3] / "shared" / "kserve"
CRD_PATH = SHARED / "serving.kserve.io_inferenceservices.yaml"


@pytest.fixture(scope="module")
def crd():
    if not CRD_PATH.exists():
        pytest.skip(f"the KServe CRD is not here ({CRD_PATH})")
    return yaml.load(CRD_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@pytest.fixture(scope="module")
def shipped_configmap(kserve_admission):
    """The ConfigMap a default KServe v0.20.0 install ships, copied from the module by the oracle's build."""
    return yaml.safe_load((kserve_admission.folder / "inferenceservice.yaml").read_text())


def _with(configmap, section, **values):
    changed = copy.deepcopy(configmap)
    changed["data"][section] = json.dumps({**json.loads(changed["data"][section]), **values})
    return changed


def test_parse_version():
    assert parse_version("kserve/kserve-controller:v0.20.0") == (0, 20, 0)
    assert parse_version("ghcr.io/x/kserve-controller:v0.21.1-rc0@sha256:" + "a" * 64) == (0, 21, 1)
    assert parse_version("kserve/kserve-controller:latest") is None and parse_version(None) is None


def test_default_v0_20_install(crd, shipped_configmap):
    caps = capabilities(crd, "kserve/kserve-controller:v0.20.0", shipped_configmap)
    assert (caps.version, caps.has_canary_field, caps.gateway_api) == ((0, 20, 0), True, False)
    assert caps.default_mode == "Knative"  # "Serverless" in the shipped ConfigMap
    assert caps.oci_mode == "modelcar"  # enableModelcar: true, no ociModelMode: a bare oci:// is a modelcar
    assert not caps.standard_canary_split and not caps.oci_fetch


def test_standard_canary_split_is_refused_on_v0_20_with_the_fix(crd, shipped_configmap):
    gateway = _with(shipped_configmap, "ingress", enableGatewayApi=True)
    caps = capabilities(crd, "kserve/kserve-controller:v0.20.0", gateway)
    with pytest.raises(InputError) as refused:
        check_canary_split(caps, "Standard", 10, environment="production")
    assert "would get no traffic" in str(refused.value) and "v0.20.0" in str(refused.value)
    assert "mode: Knative" in (refused.value.fix or "")
    check_canary_split(caps, "Knative", 10, environment="production")  # Knative splits by revision
    check_canary_split(caps, "Standard", 100, environment="production")  # no split needed


def test_newer_kserve_splits_only_with_gateway_api(crd, shipped_configmap):
    newer = "kserve/kserve-controller:v0.21.0"
    with pytest.raises(InputError, match="enableGatewayApi is false"):
        check_canary_split(capabilities(crd, newer, shipped_configmap), "Standard", 10, environment="prod")
    caps = capabilities(crd, newer, _with(shipped_configmap, "ingress", enableGatewayApi=True))
    check_canary_split(caps, "Standard", 10, environment="prod")
    assert caps.oci_fetch


def test_a_crd_without_spec_canary(crd, shipped_configmap):
    old = copy.deepcopy(crd)
    for version in old["spec"]["versions"]:
        version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].pop("canary", None)
    caps = capabilities(old, "kserve/kserve-controller:v0.15.2", shipped_configmap)
    with pytest.raises(InputError, match=r"has no spec\.canary"):
        check_canary_split(caps, "Standard", 10, environment="prod")


def test_oci_mode_and_default_mode_settings(crd, shipped_configmap):
    fetch = _with(shipped_configmap, "storageInitializer", ociModelMode="fetch")
    assert capabilities(crd, None, fetch).oci_mode == "fetch"
    off = _with(shipped_configmap, "storageInitializer", enableModelcar=False)
    assert capabilities(crd, None, off).oci_mode is None
    standard = copy.deepcopy(shipped_configmap)
    standard["data"]["deploy"] = json.dumps({"defaultDeploymentMode": "RawDeployment"})
    assert capabilities(crd, None, standard).default_mode == "Standard"
    assert capabilities(None, None, None).version is None


def test_kserve_facts_reads_the_cluster(crd, shipped_configmap):
    from kubernetes import client

    from mlpipex.kserve.cluster import Cluster
    from tests.kserve.cluster_fake.fake_apiserver import FakeKubernetes

    with FakeKubernetes() as fake:
        fake.extra["/api/v1/namespaces/kserve/configmaps/inferenceservice-config"] = shipped_configmap
        fake.extra["/apis/apps/v1/namespaces/kserve/deployments/kserve-controller-manager"] = {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kserve-controller-manager"},
            "spec": {"template": {"spec": {"containers": [{"name": "manager", "image": "kserve/kserve-controller:v0.20.0"}]}}},
        }  # fmt: skip
        settings = client.Configuration()
        settings.host = fake.url
        cluster = Cluster(client.ApiClient(settings), retries=0)
        facts = cluster.kserve_facts()
        caps = capabilities(*facts)
        assert caps.version == (0, 20, 0) and caps.has_canary_field and caps.oci_mode == "modelcar"
        del fake.extra["/api/v1/namespaces/kserve/configmaps/inferenceservice-config"]
        assert cluster.kserve_facts()[2] is None  # unreadable: unknown, not a failure


def test_a_refusal_says_which_facts_could_not_be_read(crd):
    """Facts mlpipex may not read (RBAC) are named, with the grant that would settle them."""
    caps = capabilities(crd, "kserve/kserve-controller:v0.21.0", None)
    assert caps.unread == ("the inferenceservice-config ConfigMap",)
    with pytest.raises(InputError) as refused:
        check_canary_split(caps, "Standard", 10, environment="prod")
    assert "could not read the inferenceservice-config ConfigMap" in str(refused.value)
    assert "let mlpipex read the inferenceservice-config ConfigMap (get)" in str(refused.value)
    with pytest.raises(InputError, match="could not read the InferenceService CRD or the kserve-controller"):
        check_canary_split(capabilities(None, None, None), "Standard", 10, environment="prod")


def test_the_router_is_refused_where_kserve_writes_a_route_of_the_same_name(crd, shipped_configmap):
    """deploy.traffic: KServe v0.20.0 with Gateway API on and ingress creation on writes HTTPRoute {isvc}
    itself (httproute_reconciler.go), unweighted, and would undo mlpipex's weights."""
    from mlpipex.kserve.capabilities import check_router

    v020 = "kserve/kserve-controller:v0.20.0"
    competing = capabilities(crd, v020, _with(shipped_configmap, "ingress", enableGatewayApi=True))
    assert competing.own_http_route and not competing.standard_canary_split
    with pytest.raises(InputError, match=r"v0\.20\.0 writes its own HTTPRoute bc") as refused:
        check_router(competing, environment="prod", route="bc")
    assert "disableIngressCreation: true" in (refused.value.fix or "")
    # Ingress creation off (the tests' install), or Gateway API off (the shipped default): mlpipex routes.
    off = capabilities(crd, v020, _with(shipped_configmap, "ingress", enableGatewayApi=True, disableIngressCreation=True))
    assert not off.own_http_route and check_router(off, environment="prod", route="bc")
    assert check_router(capabilities(crd, v020, shipped_configmap), environment="prod", route="bc")
    # With the router a Standard canary is allowed on v0.20.0; without it, refused as before.
    check_canary_split(off, "Standard", 10, environment="prod", router=True)
    with pytest.raises(InputError, match="would get no traffic"):
        check_canary_split(off, "Standard", 10, environment="prod")


def test_a_kserve_that_weights_canaries_itself_keeps_the_routing(crd, shipped_configmap):
    from mlpipex.kserve.capabilities import check_router

    newer = "kserve/kserve-controller:v0.21.0"
    weighting = capabilities(crd, newer, _with(shipped_configmap, "ingress", enableGatewayApi=True))
    assert weighting.standard_canary_split and check_router(weighting, environment="prod", route="bc") is False
    # ...but not with ingress creation off: KServe then writes no route, so no weights (mlpipex may route).
    silent = capabilities(crd, newer, _with(shipped_configmap, "ingress", enableGatewayApi=True, disableIngressCreation=True))
    assert not silent.standard_canary_split and check_router(silent, environment="prod", route="bc")
    with pytest.raises(InputError, match="disableIngressCreation true"):
        check_canary_split(silent, "Standard", 10, environment="prod")
