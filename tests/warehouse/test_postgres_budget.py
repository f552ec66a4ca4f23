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
    return stamped[BUDGET_ALLOCATION.column_names]


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
