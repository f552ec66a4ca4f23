"""channel_returns against known truth: linear (ROI = the true total effect) and saturating spend (exact sample ROI)."""

from __future__ import annotations

import numpy as np
import pytest

from ici_assets.demo.media import BASE as MEDIA
from ici_assets.engine import channel_returns, fit_scm
from ici_assets.engine.cases import ARTICLE
from ici_assets.engine.spendcases import SPEND_EDGES

TRUE_EFFECT = {"tv_spend": 0.5 + 0.5, "social_spend": 0.25 + 0.7}  # article: path sums of the true coefficients
NODES = ["tv_spend", "social_spend"]


@pytest.fixture(scope="module")
def linear():
    df = ARTICLE.simulate(5_000, 1)
    scm = fit_scm(df, ARTICLE.edges, mechanisms="linear")
    return df, channel_returns(scm, "revenue", NODES, n_bootstrap=60, seed=3)


@pytest.mark.parametrize("node", NODES)
def test_linear_roi_is_the_total_effect_inside_its_interval(linear, node: str) -> None:
    df, result = linear
    row = result.table.set_index("node").loc[node]
    assert row.roi_low < TRUE_EFFECT[node] < row.roi_high
    assert row.roi_low < row.roi < row.roi_high
    assert row.roi == pytest.approx(TRUE_EFFECT[node], rel=0.03)
    assert row.spend == pytest.approx(df[node].sum(), rel=1e-12)
    assert row.incremental_target == pytest.approx(row.roi * row.spend, rel=1e-12)
    assert row.contribution_share == pytest.approx(100 * row.incremental_target / df["revenue"].sum(), rel=1e-12)
    assert row.mc_se == 0 and row.method == "closed_form_linear"


def test_shares_and_facts(linear) -> None:
    df, result = linear
    table = result.table
    assert table.spend_share.sum() == pytest.approx(100.0)
    assert table.spend_share.iloc[0] == pytest.approx(100 * df.tv_spend.sum() / df[NODES].to_numpy().sum())
    assert result.facts.n_bootstrap == 60 and result.facts.seed == 3
    assert result.facts.target_total == pytest.approx(df.revenue.sum())


def test_same_seed_same_interval_other_seed_other_interval() -> None:
    df = ARTICLE.simulate(2_000, 2)
    scm = fit_scm(df, ARTICLE.edges, mechanisms="linear")
    a = channel_returns(scm, "revenue", ["tv_spend"], n_bootstrap=20, seed=5).table
    b = channel_returns(scm, "revenue", ["tv_spend"], n_bootstrap=20, seed=5).table
    c = channel_returns(scm, "revenue", ["tv_spend"], n_bootstrap=20, seed=6).table
    assert a.roi_low[0] == b.roi_low[0] and a.roi_high[0] == b.roi_high[0]
    assert a.roi_low[0] != c.roi_low[0]


def test_saturating_spend_sample_roi_inside_the_interval() -> None:
    """The media demo's case (log-normal spend with log-sd 0.7: days of low spend pin the curve near zero)."""
    case = MEDIA
    df = case.simulate(8_000, 4)
    splines = {"search_clicks": "spline", "social_clicks": "spline", "revenue": "linear"}
    scm = fit_scm(df, SPEND_EDGES, mechanisms=splines)
    table = channel_returns(scm, "revenue", NODES, n_bootstrap=40, seed=0).table.set_index("node")
    # the truth on these rows: revenue as observed minus with the node at zero, through the true mechanisms
    tv = case.revenue_per_search * case.search_cap * (1 - np.exp(-df.tv_spend / case.search_scale))
    social = case.revenue_per_social * case.social_cap * (1 - np.exp(-df.social_spend / case.social_scale))
    for node, inc in (("tv_spend", tv), ("social_spend", social)):
        truth = inc.sum() / df[node].sum()
        row = table.loc[node]
        assert row.method == "simulation"
        assert row.roi_low < truth < row.roi_high, (node, truth, row.roi_low, row.roi_high)
        assert row.roi == pytest.approx(truth, rel=0.1)


def test_zero_spend_node_is_refused() -> None:
    df = ARTICLE.simulate(500, 0)
    df["tv_spend"] = df["tv_spend"] - df["tv_spend"].mean()
    scm = fit_scm(df, ARTICLE.edges, mechanisms="linear")
    with pytest.raises(ValueError, match="tv_spend"):
        channel_returns(scm, "revenue", ["tv_spend"])
