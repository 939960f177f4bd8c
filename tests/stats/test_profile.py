"""Reference profiles: right numbers, stable JSON, categorical and continuous."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlpipex.stats.profile import PROFILE_FORMAT, build_profile, profile_feature


def test_continuous_feature():
    rng = np.random.default_rng(0)
    values = rng.normal(10, 2, 5000)
    values[:50] = np.nan
    p = profile_feature(values, categorical=False)
    assert p["kind"] == "continuous" and p["nulls"] == 50 and p["null_rate"] == pytest.approx(0.01)
    present = values[~np.isnan(values)]
    assert p["mean"] == pytest.approx(present.mean()) and p["std"] == pytest.approx(present.std(ddof=1))
    q = dict(zip(p["quantiles"]["probs"], p["quantiles"]["values"]))
    assert q[0.5] == pytest.approx(np.median(present))
    assert q[0.0] == p["min"] and q[1.0] == p["max"]
    assert sum(p["histogram"]["counts"]) == present.size
    assert len(p["histogram"]["edges"]) == len(p["histogram"]["counts"]) + 1


def test_categorical_feature_text_and_numbers():
    p = profile_feature(np.array(["a", "b", "a", "", "c", "a"], dtype=object), categorical=True)
    assert p["kind"] == "categorical" and p["nulls"] == 1
    assert p["frequencies"] == {"a": 0.6, "b": 0.2, "c": 0.2}
    numeric = profile_feature(np.array([1.0, 2.0, 1.0, np.nan]), categorical=True)
    assert numeric["frequencies"] == {"1": pytest.approx(2 / 3), "2": pytest.approx(1 / 3)}


def test_many_categories_pool_into_other():
    values = np.array([f"v{i % 300}" for i in range(3000)], dtype=object)
    p = profile_feature(values, categorical=True)
    assert len(p["frequencies"]) == 100 and p["distinct"] == 300
    assert p["other"] == pytest.approx(200 / 300)


def test_all_null_column():
    p = profile_feature(np.array([np.nan, np.nan]), categorical=False)
    assert p["null_rate"] == 1.0 and p["quantiles"] is None


def test_build_profile_is_json_and_deterministic():
    columns = {"x": np.arange(10.0), "c": np.array(list("aabbbccccd"), dtype=object), "y": np.ones(10)}
    profile = build_profile(columns, ["x", "c"], categorical=["c"])
    assert profile["format"] == PROFILE_FORMAT and profile["rows"] == 10
    assert set(profile["features"]) == {"x", "c"}
    text = json.dumps(profile, sort_keys=True)
    assert text == json.dumps(build_profile(columns, ["x", "c"], categorical=["c"]), sort_keys=True)
