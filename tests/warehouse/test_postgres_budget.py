"""``ici.budget_allocation`` with the planners' constraints (binding, max_change, fixed, target_marginal_return)
reads back the same from PostgreSQL and DuckDB: text, nulls for an absent constraint, booleans."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from ici_assets.engine import fit_scm, optimise_budget
from ici_assets.engine.cases import ARTICLE
from ici_assets.publish.decision_rows import budget_items
from ici_assets.warehouse import BUDGET_ALLOCATION, BUDGET_ALLOCATION_HISTORY, DuckDBWarehouse, Read

pytestmark = pytest.mark.postgres


def rows(table: pd.DataFrame, model: str) -> pd.DataFrame:
    """The engine table as the budget asset publishes it (asset, model, versions, run)."""
    stamped = table.assign(
        asset_key=f"ici/{model}/budget",
        model=model,
        target="revenue",
        code_version="c1",
        data_version="d1",
        materialized_at=datetime.now(UTC),
        run_id="r1",
    )
    return stamped[[c for c in BUDGET_ALLOCATION.column_names if c in stamped.columns]]  # added columns: NULL


def test_budget_constraint_columns_read_back_the_same_from_postgres_and_duckdb(pg_server, tmp_path) -> None:
    scm = fit_scm(ARTICLE.simulate(2_000, 0), ARTICLE.edges, mechanisms="linear")
    nodes = ["tv_spend", "social_spend"]
    split = optimise_budget(scm, "revenue", nodes, max_change={"tv_spend": 0.2}, fixed=["social_spend"]).table
    target = optimise_budget(scm, "revenue", nodes, target_marginal_return=0.8).table
    pg, duck = pg_server.warehouse(pg_server.fresh_database("wh_budget")), DuckDBWarehouse(tmp_path / "w.duckdb")
    for warehouse in (pg, duck):
        warehouse.publish(budget_items(rows(split, "split")))
        warehouse.publish(budget_items(rows(target, "target")))
        warehouse.publish(budget_items(rows(target, "target")))  # replaced, not doubled; the history keeps both
    columns = ("model", "node", "recommended", "binding", "max_change", "fixed", "target_marginal_return", "at_bound")
    a, b = (w.read(Read(BUDGET_ALLOCATION.relation, columns, order_by=("model", "node"))) for w in (pg, duck))
    pd.testing.assert_frame_equal(a, b)
    by = a.set_index(["model", "node"])
    assert by.loc[("split", "social_spend"), "binding"] == "fixed" and by.loc[("split", "social_spend"), "fixed"]
    assert by.loc[("split", "tv_spend"), "binding"] == "" and by.loc[("split", "tv_spend"), "max_change"] == 0.2
    assert pd.isna(by.loc[("split", "social_spend"), "max_change"])
    assert by.loc["split", "target_marginal_return"].isna().all()
    assert (by.loc["target", "target_marginal_return"] == 0.8).all()
    assert sorted(by.loc["target", "binding"]) == ["upper bound", "upper bound"]
    for w in (pg, duck):
        assert len(w.read(Read(BUDGET_ALLOCATION_HISTORY.relation, ("node",)))) == 6


def test_transform_identified_reads_back_the_same_and_older_tables_gain_it(pg_server, tmp_path) -> None:
    """``transform_identified`` (true, false, null) in the budget and the channel returns, on tables an older
    version created without it (the publish adds the column) and on fresh ones, alike on both warehouses."""
    from ici_assets.engine import channel_returns
    from ici_assets.publish.decision_rows import returns_items, stamp
    from ici_assets.publish.rows import ResultKey
    from ici_assets.warehouse import CHANNEL_RETURNS
    from ici_assets.warehouse.layout import ADDED_COLUMNS, TableLayout
    from ici_assets.warehouse.requests import Append
    from tests.publish.test_not_identified_decisions import NODES, ici_spec, weekly_scm

    scm = weekly_scm()
    linear = fit_scm(ARTICLE.simulate(1_000, 0), ARTICLE.edges, mechanisms="linear")
    budgets = {
        "weekly": optimise_budget(scm, "revenue", NODES, n_bootstrap=0).table,
        "linear": optimise_budget(linear, "revenue", NODES, n_bootstrap=0).table,
    }
    returns = channel_returns(scm, "revenue", NODES, n_bootstrap=0).table.assign(
        marginal_roi=1.0, marginal_roi_low=0.5, marginal_roi_high=1.5
    )
    returns_rows = stamp(returns, CHANNEL_RETURNS, ici_spec(), ResultKey("ici/weekly/spend_response", "c", "r"), "d")
    pg, duck = pg_server.warehouse(pg_server.fresh_database("wh_identified")), DuckDBWarehouse(tmp_path / "w.duckdb")
    old = TableLayout(
        BUDGET_ALLOCATION.relation, tuple(c for c in BUDGET_ALLOCATION.columns if c.name not in ADDED_COLUMNS)
    )
    for warehouse in (pg, duck):
        warehouse.publish([Append(old, rows(budgets["linear"], "old").drop(columns=["transform_identified"]))])
        for model, table in budgets.items():
            warehouse.publish(budget_items(rows(table, model)))
        warehouse.publish(returns_items(returns_rows))
    columns = ("model", "node", "binding", "transform_identified")
    a, b = (w.read(Read(BUDGET_ALLOCATION.relation, columns, order_by=("model", "node"))) for w in (pg, duck))
    pd.testing.assert_frame_equal(a, b)
    by = a.set_index(["model", "node"])["transform_identified"]
    assert by.loc["weekly"].astype(object).to_dict() == {"social_spend": False, "tv_spend": True}
    assert by["linear"].isna().all() and by["old"].isna().all()
    assert a.set_index(["model", "node"]).loc[("weekly", "social_spend"), "binding"] == "not identified"
    ret = [
        w.read(Read(CHANNEL_RETURNS.relation, ("node", "transform_identified"), order_by=("node",))) for w in (pg, duck)
    ]
    pd.testing.assert_frame_equal(*ret)
    assert ret[0]["transform_identified"].tolist() == [False, True]  # social_spend, tv_spend
