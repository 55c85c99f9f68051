"""LightGBM's trees read as arrays (leadgate/model/trees.py) give LightGBM's own log-odds, to the bit."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from leadgate.model.estimators import LGB_PARAMS, fit_trees
from leadgate.model.trees import Forest

ROWS = 3000


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Numeric columns with NaN, with many exact zeros and negatives; categorical codes with NaN (the last two)."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.normal(size=ROWS),
            np.where(rng.random(ROWS) < 0.5, 0.0, rng.exponential(3, ROWS)),  # half zeros
            np.where(rng.random(ROWS) < 0.2, np.nan, rng.normal(2, 1, ROWS)),  # a fifth missing
            rng.integers(0, 12, ROWS).astype(float),  # category codes
            np.where(rng.random(ROWS) < 0.15, np.nan, rng.integers(0, 5, ROWS)),  # codes, some missing
        ]
    )
    cat = x[:, 3]
    logit = 0.8 * x[:, 0] + 0.3 * x[:, 1] - np.nan_to_num(x[:, 2]) * 0.5 + np.where(cat % 3 == 0, 1.2, -0.4)
    logit += np.where(np.isnan(x[:, 4]), 0.7, x[:, 4] * 0.3) + np.where(np.isnan(x[:, 2]), 1.0, 0.0)
    y = (rng.random(ROWS) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def _boosters():
    x, y = _data(3)
    yield "leadgate's training", fit_trees(x, y, n_categorical=2, rounds=60), x
    # zero as missing: LightGBM's third missing type
    params = LGB_PARAMS | {"zero_as_missing": True, "num_leaves": 31, "min_data_in_leaf": 5}
    data = lgb.Dataset(x, label=y, categorical_feature=[3, 4], free_raw_data=False)
    yield "zero as missing", lgb.train(params, data, num_boost_round=40), x


@pytest.mark.parametrize("name,booster,x", list(_boosters()), ids=lambda v: v if isinstance(v, str) else "")
def test_forest_log_odds_are_lightgbms_own(name, booster, x):
    forest = Forest(booster.dump_model())
    leaves = booster.predict(x, pred_leaf=True).astype(np.int64)
    assert np.array_equal(forest.raw(leaves), booster.predict(x, raw_score=True)), name


@pytest.mark.parametrize("name,booster,x", list(_boosters()), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize(
    "columns,values",
    [
        (
            [3],
            [[0.0], [3.0], [7.0], [11.0], [np.nan], [40.0], [-1.0], [-2.0], [-11.0]],
        ),  # a category, missing, unseen, negative
        ([2], [[-5.0], [0.0], [2.0], [np.nan], [9.0]]),  # numeric with missing
        ([1, 4], [[0.0, 1.0], [5.0, np.nan], [1e-40, 4.0]]),  # two columns at once, a zero-ish value
    ],
)
def test_changed_columns_give_what_lightgbm_predicts_with_them_set(name, booster, x, columns, values):
    forest = Forest(booster.dump_model())
    rows = x[::7]  # a subset of rows, as the range rule passes only the leads with an unknown field
    leaves = booster.predict(rows, pred_leaf=True).astype(np.int64)
    values = np.asarray(values, dtype=float)
    got = forest.raw_with(rows, leaves, columns, values)
    assert got.shape == (len(rows), len(values))
    for k in range(len(values)):
        changed = rows.copy()
        changed[:, columns] = values[k]
        assert np.array_equal(got[:, k], booster.predict(changed, raw_score=True)), (name, columns, values[k])
    # the leads themselves are not changed
    assert np.array_equal(forest.raw(leaves), booster.predict(x[::7], raw_score=True))


def _hostile(x: np.ndarray) -> np.ndarray:
    """The rows again with values training never had: infinities, zero-ish, NaN everywhere, odd category codes."""
    odd = x.copy()
    n = len(odd)
    odd[::5, 0] = np.inf
    odd[1::5, 0] = -np.inf
    odd[2::5, 1] = 1e-40  # reads as zero under the Zero missing type, not under the others
    odd[3::5, 1] = -0.0
    odd[4::5, :2] = np.nan  # columns trained without NaN: it reads as 0
    odd[::3, 2] = np.nan
    # category codes negative, to truncate, unseen, beyond any int32
    odd[:, 3] = np.resize([-1.0, -0.5, 2.7, 11.0, 12.0, 40.0, 2.0**40, np.nan, -7.0, 0.0], n)
    odd[::4, 4] = np.inf
    return np.vstack([x, odd])


@pytest.mark.parametrize("name,booster,x", list(_boosters()), ids=lambda v: v if isinstance(v, str) else "")
def test_leaves_found_from_the_tables_are_lightgbms_own(name, booster, x):
    forest = Forest(booster.dump_model())
    rows = _hostile(x)
    assert forest.finds_leaves
    got = forest.leaves(rows)
    assert got.dtype == np.uint8 and got.shape == (len(rows), booster.num_trees())  # a byte per leaf: 64 leaves at most
    assert np.array_equal(got, booster.predict(rows, pred_leaf=True)), name
    assert np.array_equal(forest.leaves(rows[:1]), booster.predict(rows[:1], pred_leaf=True))  # one row
    assert forest.leaves(rows[:0]).shape == (0, booster.num_trees())


def test_trees_of_over_16_and_over_64_leaves():
    """Wider words for bigger trees; beyond 64 leaves the model asks LightGBM (same leaves either way)."""
    from leadgate.model.artifact import LeadModel

    x, y = _data(7)
    spec = {"numeric": [{"name": f"n{i}"} for i in range(3)], "categorical": [{"name": "c0"}, {"name": "c1"}]}
    for leaves, word_fits in ((40, True), (100, False)):
        params = LGB_PARAMS | {"num_leaves": leaves, "max_depth": -1, "min_data_in_leaf": 2, "min_data_per_group": 2}
        booster = lgb.train(params, lgb.Dataset(x, label=y, categorical_feature=[3, 4]), num_boost_round=5)
        assert max(t["num_leaves"] for t in booster.dump_model()["tree_info"]) > (32 if word_fits else 64)
        model = LeadModel({"family": "lightgbm", "spec": spec}, booster)
        assert model.forest.finds_leaves is word_fits
        rows = _hostile(x)
        assert np.array_equal(model.leaves(rows), booster.predict(rows, pred_leaf=True))
        values = np.array([[0.0, 3.0], [np.nan, 11.0], [2.5, np.nan]])
        got = model.raw_with(rows, model.leaves(rows), [2, 3], values)
        for k, value in enumerate(values):
            changed = rows.copy()
            changed[:, [2, 3]] = value
            assert np.array_equal(got[:, k], booster.predict(changed, raw_score=True))


def test_a_multiclass_model_is_refused():
    x, y = _data(5)
    data = lgb.Dataset(x, label=np.minimum(y + (x[:, 0] > 1), 2))
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, data, num_boost_round=2)
    with pytest.raises(ValueError, match="binary"):
        Forest(booster.dump_model())


def test_a_big_batch_split_over_threads_gets_lightgbms_own_leaves_and_contributions(monkeypatch):
    """Over 10,000 rows the leaves are predicted in row blocks on several threads: same leaves, same order."""
    from leadgate.model.artifact import LeadModel
    from leadgate.shared import compute

    x, y = _data(5)
    booster = fit_trees(x, y, n_categorical=2, rounds=30)
    spec = {"numeric": [{"name": f"n{i}"} for i in range(3)], "categorical": [{"name": "c0"}, {"name": "c1"}]}
    model = LeadModel({"family": "lightgbm", "spec": spec}, booster)
    big = np.vstack([x[::-1], x, x[::2], x, x[::-1], x, x, x])  # 22,500 rows in no sorted order
    calls = []
    real = compute.into_rows

    def counted(fn, rows, out, min_rows=compute.MIN_ROWS_PER_THREAD):
        return real(lambda block, into: calls.append(len(block)) or fn(block, into), rows, out, min_rows)

    monkeypatch.setattr(compute, "cores", lambda: 2)  # as on the 2-core machine, wherever the test runs
    monkeypatch.setattr(compute, "into_rows", counted)
    leaves = model.leaves(big)
    assert calls == [11_250, 11_250]  # two blocks of rows
    assert np.array_equal(leaves, booster.predict(big, pred_leaf=True).astype(np.int64))
    contrib, base = model._path_contributions(big, leaves)
    assert np.allclose(base + contrib.sum(axis=1), booster.predict(big, raw_score=True), rtol=0, atol=1e-9)
    assert calls[2:] == [11_250, 11_250]  # the path credits too, each block in chunks of CREDIT_ROWS leads
