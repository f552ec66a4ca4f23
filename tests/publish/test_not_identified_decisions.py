"""Decisions through a learned transform the data do not identify say so (issue 21, item 2): on the weekly case of
seed 3 social's logistic half-saturation is fitted at about 624k against a truth of 25k (always-on spend never
reaches it) and flagged; its spend response, channel returns and budget rows carry ``transform_identified =
false`` into the warehouse, their summaries name it, and the budget holds it at its current level unless
``move_not_identified``."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest

from ici_assets.checks.decisions import constraints_check
from ici_assets.demo.transform_cases import GRAPH_EDGES, simulate_transform_case
from ici_assets.engine import channel_returns, fit_scm, optimise_budget, spend_response
from ici_assets.engine.cases import ARTICLE
from ici_assets.publish.decision_rows import budget_items, response_items, returns_items, stamp, with_marginal
from ici_assets.publish.rows import ResultKey
from ici_assets.publish.summaries import budget_summary, returns_summary
from ici_assets.spec.meta import ModelMeta
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import (
    BUDGET_ALLOCATION,
    CHANNEL_RETURNS,
    SPEND_RESPONSE,
    DuckDBWarehouse,
    Read,
)

NODES = ["tv_spend", "social_spend"]
SPEC = {
    "tv_spend": {"carryover": "geometric", "saturation": "hill"},
    "social_spend": {"carryover": "weibull", "saturation": "logistic"},
}


def weekly_scm():
    """The weekly case of seed 3 fitted with the true families (social's half-saturation flagged)."""
    data = simulate_transform_case(3)
    return fit_scm(data, nx.DiGraph(list(GRAPH_EDGES)), time_column="period", transforms=SPEC)


@pytest.fixture(scope="module")
def weekly():
    return weekly_scm()


def ici_spec() -> IciSpec:
    parents = {"demand": (), "tv_spend": (), "social_spend": (), "visits": tuple(NODES) + ("demand",)}
    return IciSpec(
        model="weekly",
        unique_id="model.p.weekly",
        parents={**parents, "revenue": ("visits",)},
        meta=ModelMeta(target="revenue"),
    )


def test_the_flag_reaches_the_rows_and_the_summaries(weekly, tmp_path) -> None:
    assert weekly.transforms["social_spend"].params["half_saturation"] > 10 * 25_000.0  # the colleague's case
    assert weekly.transform_identified("social_spend") is False and weekly.transform_identified("tv_spend") is True
    levels = [10_000.0, 20_000.0, 30_000.0]
    response = pd.concat(
        [spend_response(weekly, "revenue", n, levels, n_bootstrap=0).table for n in NODES], ignore_index=True
    )
    returns = with_marginal(channel_returns(weekly, "revenue", NODES, n_bootstrap=0).table, response)
    budget = optimise_budget(weekly, "revenue", NODES, n_bootstrap=0).table

    spec, key = ici_spec(), ResultKey("ici/weekly/x", "c1", "r1")
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.publish(response_items(stamp(response, SPEND_RESPONSE, spec, key, "d1")))
    warehouse.publish(returns_items(stamp(returns, CHANNEL_RETURNS, spec, key, "d1")))
    warehouse.publish(budget_items(stamp(budget, BUDGET_ALLOCATION, spec, key, "d1")))
    for layout, n in ((SPEND_RESPONSE, 3), (CHANNEL_RETURNS, 1), (BUDGET_ALLOCATION, 1)):
        rows = warehouse.read(Read(layout.relation, ("node", "transform_identified")))
        flags = rows.groupby("node")["transform_identified"].agg(lambda s: set(map(bool, s)))
        assert flags.to_dict() == {"tv_spend": {True}, "social_spend": {False}}, layout.relation
        assert (rows["node"] == "social_spend").sum() == n

    text = returns_summary(response, "revenue", {})
    assert "Not identified from the data: the learned carryover or saturation of **social_spend**" in text
    assert "**tv_spend**" not in text.split("Not identified")[1]

    by = budget.set_index("node")
    assert by.loc["social_spend", "binding"] == "not identified"
    assert by.loc["social_spend", "recommended"] == by.loc["social_spend", "current"]
    assert constraints_check(budget).passed
    text = budget_summary(budget, "revenue", "EUR", "per week")
    assert "Held at the current level: **social_spend**, whose learned response is not identified" in text
    moved = budget.copy()
    moved.loc[moved["node"] == "social_spend", "recommended"] *= 1.1
    check = constraints_check(moved)
    assert not check.passed and "social_spend is held (not identified) but moved" in check.description


def test_move_not_identified_lets_the_flagged_channel_move_and_says_it_extrapolates(weekly) -> None:
    budget = optimise_budget(weekly, "revenue", NODES, n_bootstrap=0, move_not_identified=True).table
    by = budget.set_index("node")
    assert by.loc["social_spend", "binding"] != "not identified"
    assert abs(by.loc["social_spend", "change"]) > 0.01 * by.loc["social_spend", "current"]
    assert not by.loc["social_spend", "transform_identified"]
    text = budget_summary(budget, "revenue", "EUR", "per week")
    assert "the learned response of **social_spend** (flagged on the SCM asset); its recommended move" in text
    assert "Held at the current level" not in text


def test_nodes_without_learned_transforms_have_no_flag_and_no_sentence() -> None:
    scm = fit_scm(ARTICLE.simulate(1_000, 0), ARTICLE.edges, mechanisms="linear")
    nodes = ["tv_spend", "social_spend"]
    returns = channel_returns(scm, "revenue", nodes, n_bootstrap=0).table
    budget = optimise_budget(scm, "revenue", nodes, n_bootstrap=0).table
    assert returns["transform_identified"].isna().all() and budget["transform_identified"].isna().all()
    assert "not identified" not in budget_summary(budget, "revenue", "EUR", "per day").lower()
    assert "not identified" not in set(budget["binding"])
