"""The stand-in itself, through the real `kubernetes` client: create, replace, conflicts, delete, 404, 422."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .fake_apiserver import CRD_PATH, FakeKubernetes

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
