"""Reference profiles: exact in memory, bounded and accurate when streamed in chunks."""

from __future__ import annotations

import json
import resource

import numpy as np
import pytest

from mlpipex.runtime.data import iter_table_chunks
from mlpipex.stats.profile import PROFILE_FORMAT, ProfileBuilder, build_profile, profile_chunks


def profile_feature(values, *, categorical: bool, bins: int = 20):
    """One column held in memory."""
    profile = profile_chunks(lambda: [{"x": np.asarray(values)}], ["x"], categorical=["x"] if categorical else [], bins=bins)
    return profile["features"]["x"]


def chunked(columns: dict[str, np.ndarray], size: int):
    n = next(iter(columns.values())).size
    return lambda: ({k: v[i:i + size] for k, v in columns.items()} for i in range(0, n, size))


def test_continuous_feature_exact_in_memory():
    rng = np.random.default_rng(0)
    values = rng.normal(10, 2, 5000)
    values[:50] = np.nan
    p = profile_feature(values, categorical=False)
    present = values[~np.isnan(values)]
    assert p["kind"] == "continuous" and p["nulls"] == 50 and p["null_rate"] == pytest.approx(0.01)
    assert p["mean"] == pytest.approx(present.mean()) and p["std"] == pytest.approx(present.std(ddof=1))
    assert p["quantiles"]["values"] == pytest.approx(np.quantile(present, np.linspace(0, 1, 1001)).tolist(), abs=0)
    counts, edges = np.histogram(present, bins=20)
    assert p["histogram"] == {"edges": edges.tolist(), "counts": counts.tolist()}
    assert "approximate" not in p


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


def test_all_null_and_empty():
    p = profile_feature(np.array([np.nan, np.nan]), categorical=False)
    assert p["null_rate"] == 1.0 and p["quantiles"] is None
    assert build_profile({"x": np.array([])}, ["x"])["features"]["x"]["count"] == 0


@pytest.mark.parametrize("size", [1, 7, 1000, 10_000])
def test_chunking_does_not_change_an_exact_profile(size):
    rng = np.random.default_rng(1)
    columns = {"x": rng.exponential(3, 10_000), "c": rng.choice(np.array(list("abcd"), dtype=object), 10_000)}
    whole = build_profile(columns, ["x", "c"], categorical=["c"])
    assert profile_chunks(chunked(columns, size), ["x", "c"], categorical=["c"]) == whole


def test_streamed_profile_is_accurate_and_chunking_invariant():
    rng = np.random.default_rng(2)
    n = 400_000
    x = np.concatenate([rng.lognormal(0, 1, n - 20_000), np.zeros(20_000)])  # skewed, with a point mass
    x[rng.choice(n, 10, replace=False)] = 1e9  # outliers
    x[rng.choice(n, 4000, replace=False)] = np.nan
    rng.shuffle(x)
    columns = {"x": x}
    a = profile_chunks(chunked(columns, 50_000), ["x"], sample=8192, refine_bins=512)
    b = profile_chunks(chunked(columns, 33_333), ["x"], sample=8192, refine_bins=512)
    pa, pb = a["features"]["x"], b["features"]["x"]
    assert pa["mean"] == pytest.approx(pb["mean"], rel=1e-12) and pa["std"] == pytest.approx(pb["std"], rel=1e-12)
    del pa["mean"], pa["std"], pb["mean"], pb["std"]
    assert a == b  # deterministic whatever the chunking (moments up to rounding)
    again = profile_chunks(chunked(columns, 50_000), ["x"], sample=8192, refine_bins=512)
    p = again["features"]["x"]
    assert {k: v for k, v in p.items() if k not in ("mean", "std")} == pa  # and byte-identical for the same input
    present = np.sort(x[~np.isnan(x)])
    assert p["approximate"] == {"sample": 8192, "bins": p["approximate"]["bins"]}
    assert p["nulls"] == 4000 and p["min"] == present[0] and p["max"] == present[-1]
    assert p["mean"] == pytest.approx(present.mean(), rel=1e-12)
    assert p["std"] == pytest.approx(present.std(ddof=1), rel=1e-9)
    counts, edges = np.histogram(present, bins=20)
    assert p["histogram"]["counts"] == counts.tolist() and p["histogram"]["edges"] == pytest.approx(edges)
    # Quantiles: the rank of each estimate is within 0.5% of the rows of its target rank.
    probs, values = np.array(p["quantiles"]["probs"]), np.array(p["quantiles"]["values"])
    lo = np.searchsorted(present, values, side="left")
    hi = np.searchsorted(present, values, side="right")
    target = probs * (present.size - 1)
    error = np.maximum(0, np.maximum(lo - target, target - hi)) / present.size
    assert error.max() < 0.005, error.max()
    assert values[probs <= 0.04] == pytest.approx(0.0)  # the 5% point mass at 0 is kept exactly


def test_text_in_a_numeric_column_is_an_error():
    builder = ProfileBuilder(["x"])
    builder.update({"x": np.array([1.0, 2.0])})
    with pytest.raises(ValueError, match=r"`x`.*data\.categorical"):
        builder.update({"x": np.array(["a", "b"], dtype=object)})


def test_json_and_deterministic():
    columns = {"x": np.arange(10.0), "c": np.array(list("aabbbccccd"), dtype=object), "y": np.ones(10)}
    profile = build_profile(columns, ["x", "c"], categorical=["c"])
    assert profile["format"] == PROFILE_FORMAT and profile["rows"] == 10 and set(profile["features"]) == {"x", "c"}
    assert json.dumps(profile, sort_keys=True) == json.dumps(build_profile(columns, ["x", "c"], categorical=["c"]),
                                                             sort_keys=True)


@pytest.mark.slow
def test_big_csv_streams_in_bounded_memory(tmp_path):
    """600,000 rows x 10 columns (about 60 MB of CSV; read whole, it takes over 300 MB): memory stays far below the file size."""
    path = tmp_path / "training.csv"
    rng = np.random.default_rng(3)
    names = [f"f{i}" for i in range(9)] + ["cat"]
    with path.open("w") as handle:
        handle.write(",".join(names) + "\n")
        for _ in range(6):
            block = rng.normal(size=(100_000, 9))
            cats = rng.choice(list("abcdefgh"), 100_000)
            handle.writelines(",".join(f"{v:.6f}" for v in row) + f",{c}\n" for row, c in zip(block, cats))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profile = profile_chunks(lambda: iter_table_chunks(path, names), names, categorical=["cat"])
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    assert profile["rows"] == 600_000 and profile["features"]["f0"]["approximate"]
    assert abs(profile["features"]["f0"]["quantiles"]["values"][500]) < 0.01  # the median
    assert grew < 60, f"grew {grew:.0f} MB for a {path.stat().st_size >> 20} MB file"


def test_table_chunks_csv_and_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from mlpipex.errors import InputError

    x = np.arange(10.0)
    x[3] = np.nan
    cats = np.array(list("abcabcabca"), dtype=object)
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("x,c,ignored\n" + "".join(f"{'' if np.isnan(v) else v},{c},z\n" for v, c in zip(x, cats)))
    pq_path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": x, "c": cats.astype(str), "ignored": np.zeros(10)}), pq_path)
    for path in (csv_path, pq_path):
        chunks = list(iter_table_chunks(path, ["x", "c"], rows=4))
        assert [len(c["x"]) for c in chunks] == [4, 4, 2] and set(chunks[0]) == {"x", "c"}
        profile = profile_chunks(lambda p=path: iter_table_chunks(p, ["x", "c"], rows=4), ["x", "c"],
                                 categorical=["c"])  # fmt: skip
        assert profile == build_profile({"x": x, "c": cats}, ["x", "c"], categorical=["c"])
        with pytest.raises(InputError, match="lacks feature columns: y"):
            list(iter_table_chunks(path, ["x", "y"]))
