"""The stand-in itself, through the real `kubernetes` client: create, replace, conflicts, delete, 404, 422."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.kserve.cluster_fake.fake_apiserver import CRD_PATH, FakeKubernetes

pytestmark = pytest.mark.skipif(not CRD_PATH.exists(), reason=f"the KServe CRD is not here ({CRD_PATH}); it ships in ../shared/kserve")
ARGS = ("serving.kserve.io", "v1beta1", "ml", "inferenceservices")


def body(uri: str = "oci://r.example.com/m@sha256:" + "a" * 64) -> dict:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "m", "namespace": "ml"},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "onnx"}, "storageUri": uri}}}}  # fmt: skip


@pytest.fixture
def api():
    with FakeKubernetes() as fake:
        configuration = client.Configuration()
        configuration.host = fake.url
        yield fake, client.CustomObjectsApi(client.ApiClient(configuration))


def test_create_get_replace_conflict_delete(api):
    _, custom = api
    created = custom.create_namespaced_custom_object(*ARGS, body())
    assert created["metadata"]["resourceVersion"] and created["status"]["conditions"][0]["status"] == "True"
    with pytest.raises(ApiException) as exists:
        custom.create_namespaced_custom_object(*ARGS, body())
    assert exists.value.status == 409
    current = custom.get_namespaced_custom_object(*ARGS, "m")
    current["spec"]["predictor"]["minReplicas"] = 2
    replaced = custom.replace_namespaced_custom_object(*ARGS, "m", current)
    assert replaced["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as stale:  # the old resourceVersion lost the race
        custom.replace_namespaced_custom_object(*ARGS, "m", current)
    assert stale.value.status == 409
    custom.delete_namespaced_custom_object(*ARGS, "m")
    with pytest.raises(ApiException) as gone:
        custom.get_namespaced_custom_object(*ARGS, "m")
    assert gone.value.status == 404


def test_invalid_objects_get_422_with_causes(api):
    _, custom = api
    bad = body()
    bad["spec"]["predictor"]["minReplicas"] = "two"
    with pytest.raises(ApiException) as invalid:
        custom.create_namespaced_custom_object(*ARGS, bad)
    assert invalid.value.status == 422 and "spec.predictor.minReplicas" in invalid.value.body


def test_server_side_apply_removes_fields_the_manager_left_out(api):
    fake, custom = api
    first = body()
    first["spec"]["predictor"]["canaryTrafficPercent"] = 10
    custom.patch_namespaced_custom_object(*ARGS, "m", first, field_manager="mlpipex", force=True,
                                          _content_type="application/apply-patch+yaml")  # fmt: skip
    custom.patch_namespaced_custom_object(*ARGS, "m", body(), field_manager="mlpipex", force=True,
                                          _content_type="application/apply-patch+yaml")  # fmt: skip
    assert "canaryTrafficPercent" not in fake.objects[("ml", "m")]["spec"]["predictor"]


WEBHOOK = 'admission webhook "inferenceservice.kserve-webhook-server.validator" denied the request: '


def test_kserve_refusal_reaches_the_client_with_kserves_message(api):
    """KServe's own validator (v0.20.0) refuses; the client sees what the API server relays."""
    fake, custom = api
    named = body()
    named["spec"]["predictor"]["model"]["name"] = "kserve-container"
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object(*ARGS, named)
    assert refused.value.status == 403
    assert json.loads(refused.value.body)["message"] == WEBHOOK + "the 'name' field is not allowed in standard predictor"
    assert ("ml", "m") not in fake.objects


def test_an_update_is_judged_against_the_stored_object(api):
    """ValidateUpdate sees the old object: the deployment mode the controller recorded cannot change."""
    fake, custom = api
    standard = body()
    standard["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "Standard"}
    custom.patch_namespaced_custom_object(*ARGS, "m", standard, field_manager="mlpipex", force=True,
                                          _content_type="application/apply-patch+yaml")  # fmt: skip
    knative = body()
    knative["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "Knative"}
    with pytest.raises(ApiException) as refused:
        custom.patch_namespaced_custom_object(*ARGS, "m", knative, field_manager="mlpipex", force=True,
                                              _content_type="application/apply-patch+yaml")  # fmt: skip
    assert json.loads(refused.value.body)["message"] == (
        WEBHOOK + "update rejected: deploymentMode cannot be changed from 'Standard' to 'Knative'")
    assert fake.objects[("ml", "m")]["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"


def test_mlpipex_reports_a_refusal_as_bad_input_with_kserves_words(api):
    from mlpipex.errors import InputError
    from mlpipex.kserve.cluster import Cluster

    _, custom = api
    cluster = Cluster(custom.api_client, name="the fake cluster", retries=0)
    bad = body()
    bad["spec"]["predictor"]["model"]["name"] = "kserve-container"  # the CRD schema admits it, KServe does not
    with pytest.raises(InputError) as refused:
        cluster.apply(bad)
    assert str(refused.value).startswith("KServe refused the InferenceService (applying ml/m): " + WEBHOOK
                                            + "the 'name' field is not allowed in standard predictor")  # fmt: skip
    assert "service account" not in str(refused.value) + (refused.value.fix or "")


def test_admitted_objects_are_stored_as_kserve_defaulted_them(api):
    _, custom = api
    created = custom.create_namespaced_custom_object(*ARGS, body())
    # KServe's mutating webhook: Knative is the shipped ConfigMap's default mode, so no annotation is added,
    # and `onnx` through `predictor.model` gets no protocolVersion default.
    assert "protocolVersion" not in created["spec"]["predictor"]["model"]
    assert "serving.kserve.io/deploymentMode" not in (created["metadata"].get("annotations") or {})


def test_without_the_oracle_ci_fails_and_a_laptop_skips(monkeypatch, tmp_path):
    from tests.kserve.cluster_fake.kserve_admission import (
        AdmissionUnavailable,
        binary_folder,
        unavailable,
    )

    monkeypatch.setenv("MLPIPEX_KSERVE_ADMISSION", str(tmp_path))
    with pytest.raises(AdmissionUnavailable, match="holds no kserve-admission binary"):
        binary_folder()
    with pytest.raises(pytest.fail.Exception, match="not available"):
        unavailable("KServe's admission code is not available: no Go", {"CI": "true"})
    with pytest.raises(pytest.skip.Exception, match="no Go"):
        unavailable("KServe's admission code is not available: no Go", {})
