"""Engine: sparse event dummies and singular resamples never crash; dummies are flagged; intervals stay honest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.engine import estimate_ici, fit_scm, flag_sparse_nodes, sparse_columns
from ici_assets.engine.leastsq import stable_solve
from ici_assets.engine.timecases import WEEKLY_EVENTS_EDGES, weekly_events_case


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("resampling", ["auto", "row"])
def test_weekly_event_dummies_200_resamples(seed: int, resampling: str) -> None:
    """180 weekly rows, one-week and two-week dummies (about a third of resamples miss an event)."""
    df = weekly_events_case(seed=seed)
    scm = fit_scm(df, WEEKLY_EVENTS_EDGES, mechanisms="auto", seed=seed, time_column="week")
    assert scm.is_linear()
    res = estimate_ici(scm, "revenue", n_bootstrap=200, seed=seed, resampling=resampling)
    t = res.table.set_index("node")
    assert np.isfinite(t[["share", "share_low", "share_high"]].to_numpy()).all()
    assert ((t.share_low <= t.share) & (t.share <= t.share_high)).all()
    assert t.share.sum() == pytest.approx(100.0)
    # a resample without an event week has a singular design: solved, kept and counted
    assert 40 <= res.facts.n_degenerate_resamples <= 160, res.facts.n_degenerate_resamples
    assert res.facts.as_dict()["n_degenerate_resamples"] == res.facts.n_degenerate_resamples
    assert {s.node for s in res.facts.sparse_nodes} == {"event_1", "event_2"}
    assert set(res.facts.as_dict()["sparse_nodes"]) == {"event_1", "event_2"}
    # the dummies' intervals reach zero (no event in the resample) and are not a degenerate [0, 0]
    for event in ("event_1", "event_2"):
        assert t.loc[event, "share_low"] == 0.0 and t.loc[event, "share_high"] > t.loc[event, "share"] > 0.0


def test_sparse_flags_name_the_node_and_count_periods() -> None:
    df = weekly_events_case(seed=0)
    flags = sparse_columns(df[["tv_spend", "event_1", "event_2"]])
    assert [f.node for f in flags] == ["event_1", "event_2"]
    assert (flags[0].n_support, flags[0].n_units, flags[0].n_distinct) == (1, 180, 2)
    assert "'event_1'" in flags[0].reason and "1 of 180 rows" in flags[0].reason
    # with a time column, support counts periods: a dummy set on 2 days of one week is 1 week
    daily = pd.DataFrame({"day": np.arange(70) // 7, "x": np.r_[np.ones(2), np.zeros(68)]})
    (flag,) = sparse_columns(daily[["x"]], daily["day"].to_numpy())
    assert (flag.n_support, flag.n_units) == (1, 10) and "1 of 10 periods" in flag.reason
    scm = fit_scm(df, WEEKLY_EVENTS_EDGES, mechanisms="linear", time_column="week")
    assert [f.node for f in flag_sparse_nodes(scm)] == ["event_1", "event_2"]
    assert flag_sparse_nodes(scm, ["revenue", "tv_spend"]) == []


def test_stable_solve_drops_constant_and_collinear_columns() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    X[:, 2] = 0.0  # constant in this resample (an event that never happens)
    y = X @ [2.0, -1.0, 5.0] + 0.1 * rng.normal(size=500)
    C = np.cov(np.column_stack([X, y]), rowvar=False, bias=True)
    beta, rank = stable_solve(C[:3, :3], C[:3, 3])
    assert rank == 2 and beta[2] == 0.0
    np.testing.assert_allclose(beta[:2], [2.0, -1.0], atol=0.02)
    # two identical columns: the minimum-norm solution splits the effect
    Z = np.column_stack([X[:, 0], X[:, 0], X[:, 1]])
    C = np.cov(np.column_stack([Z, y]), rowvar=False, bias=True)
    beta, rank = stable_solve(C[:3, :3], C[:3, 3])
    assert rank == 2
    np.testing.assert_allclose(beta, [1.0, 1.0, -1.0], atol=0.02)
    # batched: one regular and one singular system
    A = np.stack([np.eye(2), np.array([[1.0, 1.0], [1.0, 1.0]])])
    x, ranks = stable_solve(A, np.array([[1.0, 2.0], [2.0, 2.0]]))
    assert list(ranks) == [2, 1]
    np.testing.assert_allclose(x, [[1.0, 2.0], [1.0, 1.0]])
