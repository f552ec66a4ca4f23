"""The demo end to end on PostgreSQL through the dbt target (raw tables, dbt-postgres build, SCM, shares,
comparison, partitions), against the same demo on DuckDB: same data, same engine, same numbers."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from ici_assets.warehouse import ICI_SCHEMA
from ici_assets.warehouse.layout import ICI_TABLES, ICI_VIEWS
from tests.postgres_fixtures import CHANGE_MONTHS, MONTHS, run_partitions

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SHARES_COLUMNS = (
    "node, ici, share, share_low, share_high, mechanism, r2, n_rows, period_start, period_end, data_version"
)
FLOATS = ["ici", "share", "share_low", "share_high", "r2"]


def pg_frame(pg_server, db: str, query: str) -> pd.DataFrame:
    with pg_server.admin(db) as con:
        cur = con.execute(query)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def duck_frame(path, query: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        cur = con.execute(query)
        return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])


def assert_same_results(pg: pd.DataFrame, duck: pd.DataFrame, floats: list[str], tol: float = 1e-9) -> None:
    """Same rows (text, dates and counts equal), floats within ``tol``."""
    assert len(pg) == len(duck) > 0
    others = [c for c in pg.columns if c not in floats]
    pd.testing.assert_frame_equal(pg[others].astype(str), duck[others].astype(str))
    for c in floats:
        assert np.allclose(pg[c].astype(float), duck[c].astype(float), rtol=0, atol=tol, equal_nan=True), c


@pytest.fixture(scope="module")
def duck_partitions(small_base, tmp_path_factory):
    """The same partitions on a copy of the DuckDB demo of the same size (``small_base``)."""
    from ici_assets.component.build import build_definitions

    project, base = small_base
    path = tmp_path_factory.mktemp("duck_parts") / "w.duckdb"
    shutil.copy(base, path)
    defs = build_definitions(project, path)
    instance = dg.DagsterInstance.ephemeral()
    regions = duck_frame(path, "SELECT DISTINCT region FROM main.marketing_nodes ORDER BY 1")["region"].tolist()
    instance.add_dynamic_partitions("marketing_nodes__region", regions)  # as the scm asset does
    runs = run_partitions(defs, instance)
    assert all(r.success for _, r in runs.values())
    return path


def test_every_asset_materialised_with_no_pool(pg_demo):
    result = pg_demo["result"]
    assert result.success
    keys = {e.asset_key for e in result.get_asset_materialization_events()}
    for path in (["raw", "orders"], ["stg_orders"], ["marketing_nodes"], ["last_click_revenue"]):
        assert dg.AssetKey(path) in keys
    for name in ("scm", "shares", "ici_vs_last_click"):
        assert dg.AssetKey(["ici", "marketing_nodes", name]) in keys
    reports = pg_demo["reports"]
    assert reports.success  # reports_dir set by the demo on a server
    assert {e.asset_key.path[1] for e in reports.get_asset_materialization_events()} == {
        "marketing_nodes",
        "media_nodes",
        "weekly_nodes",
    }
    graph = pg_demo["defs"].resolve_asset_graph()
    writers = [k for k in graph.get_all_asset_keys() if k.path[0] in ("raw", "ici") or len(k.path) == 1]
    assert writers and all(graph.get(k).assets_def.op.pool is None for k in writers)  # a server: no one-slot pool
    assert "postgres" in graph.get(dg.AssetKey(["ici", "marketing_nodes", "shares"])).kinds
    assert len(result.get_asset_check_evaluations()) >= 10 and all(
        e.passed for e in result.get_asset_check_evaluations()
    )


def test_shares_identical_to_the_duckdb_demo(pg_demo, pg_server, small_base):
    query = (
        f"SELECT model, calibrated, {SHARES_COLUMNS} FROM ici.ici_shares WHERE partition_key IS NULL "
        "ORDER BY model, calibrated, node"
    )
    pg = pg_frame(pg_server, pg_demo["db"], query)
    duck = duck_frame(small_base[1], query)
    assert (pg["model"] == "marketing_nodes").sum() == 6 and (pg["model"] == "media_nodes").sum() > 0
    # the model calibrated to its lift test publishes both fits' shares; the others the least-squares ones only
    assert pg.groupby("model")["calibrated"].agg(lambda c: sorted(set(c))).to_dict() == {
        "marketing_nodes": [False],
        "media_nodes": [False],
        "weekly_nodes": [False, True],
    }
    assert_same_results(pg, duck, FLOATS)  # same node table (same data_version) -> same shares to 1e-9
    history = pg_frame(
        pg_server,
        pg_demo["db"],
        f"SELECT model, calibrated, {SHARES_COLUMNS} FROM ici.ici_shares_history WHERE partition_key IS NULL "
        "ORDER BY model, calibrated, node",
    )
    assert_same_results(history, pg, FLOATS, tol=0.0)
    query = (  # the media model's learned saturation (column meta): the same parameters and intervals
        "SELECT model, node, transform, family, parameter, value, low, high, identified, data_version "
        "FROM ici.transforms ORDER BY model, node, transform, parameter"
    )
    pg = pg_frame(pg_server, pg_demo["db"], query)
    learned = pg[pg["model"].eq("media_nodes") & pg["parameter"].notna()]
    assert len(learned) == 2 and learned["low"].notna().all() and (learned["low"] < learned["high"]).all()
    assert_same_results(pg, duck_frame(small_base[1], query), ["value", "low", "high"])


def test_contributions_and_comparison_identical_to_duckdb(pg_demo, pg_server, small_base):
    q = "SELECT model, period, node, contribution FROM ici.ici_contributions ORDER BY model, period, node"
    assert_same_results(pg_frame(pg_server, pg_demo["db"], q), duck_frame(small_base[1], q), ["contribution"], 1e-6)
    q = (
        "SELECT model, node, ici_share, share_low, share_high, last_click_share FROM ici.ici_vs_last_click "
        "ORDER BY model, node"
    )
    floats = ["ici_share", "share_low", "share_high", "last_click_share"]
    assert_same_results(pg_frame(pg_server, pg_demo["db"], q), duck_frame(small_base[1], q), floats)
    # every spend edge's sensitivity to hidden confounding: the linear demo's six edges; the media model's children
    # are linear in the learned saturation (closed form), a spline child would get an average slope
    q = (
        "SELECT model, node, child, mechanism, method, available, reason, robustness_value, robustness_value_interval "
        "FROM ici.sensitivity ORDER BY model, node, child"
    )
    pg = pg_frame(pg_server, pg_demo["db"], q)
    assert_same_results(pg, duck_frame(small_base[1], q), ["robustness_value", "robustness_value_interval"])
    assert pg["available"].all() and (pg["robustness_value_interval"] < pg["robustness_value"]).all()
    linear = pg[pg["model"] == "marketing_nodes"]
    assert set(linear["node"]) == {"demand", "tv_adstock", "social_spend"} and len(linear) == 6
    assert (linear["method"] == "linear").all()
    media = pg[pg["model"] == "media_nodes"]
    assert set(media["node"]) == {"tv_spend", "social_spend"}
    assert (media["method"] == media["mechanism"].map(lambda m: "linear" if m == "linear" else "average_slope")).all()
    assert media.loc[media["method"] == "average_slope", "reason"].str.startswith("approximate: ").all()


def _normalised(rows: pd.DataFrame) -> pd.DataFrame:
    names = {"varchar": "character varying", "double": "double precision", "decimal": "numeric"}
    out = rows.copy()
    out["data_type"] = out["data_type"].str.lower().map(lambda t: names.get(t, t))
    return out


def test_ici_outputs_have_identical_columns_and_types(pg_demo, pg_server, duck_partitions):
    query = (
        "SELECT table_name, column_name, ordinal_position, data_type, is_nullable FROM information_schema.columns "
        f"WHERE table_schema = '{ICI_SCHEMA}' ORDER BY table_name, ordinal_position"
    )
    pg, duck = pg_frame(pg_server, pg_demo["db"], query), duck_frame(duck_partitions, query)
    assert set(pg["table_name"]) == {t.relation.name for t in (*ICI_TABLES, *ICI_VIEWS)}  # every output, decisions too
    pd.testing.assert_frame_equal(_normalised(pg).astype(str), _normalised(duck).astype(str))


def test_partitions_once_each_and_identical_to_duckdb(pg_demo, pg_server, duck_partitions):
    runs = pg_demo["runs"]
    assert len(runs) >= 3 and all(r.success for _, r in runs.values())  # regions, months, change attribution
    for keys, result in runs.values():
        assert sorted(e.partition for e in result.get_asset_materialization_events()) == sorted(keys)
    query = (
        f"SELECT asset_key, partition_key, {SHARES_COLUMNS} FROM ici.ici_shares WHERE partition_key IS NOT NULL "
        "ORDER BY asset_key, partition_key, node"
    )
    pg = pg_frame(pg_server, pg_demo["db"], query)
    assert (pg["asset_key"].str.startswith("ici/marketing_nodes/")).sum() == 6 * (5 + len(MONTHS))
    assert_same_results(pg, duck_frame(duck_partitions, query), FLOATS)
    series = pg_frame(pg_server, pg_demo["db"], "SELECT DISTINCT month FROM ici.ici_shares_over_time ORDER BY 1")
    assert [str(m) for m in series["month"]] == list(MONTHS)


DECISIONS = {
    "spend_response": (
        "SELECT model, calibrated, node, level, expected_target, low, high, marginal_return, incremental_return, "
        "extrapolated, method FROM ici.spend_response ORDER BY model, calibrated, node, level",
        ["level", "expected_target", "low", "high", "marginal_return", "incremental_return"],
    ),
    "budget_allocation": (
        "SELECT model, calibrated, node, total, current, recommended, expected_uplift, uplift_low, uplift_high, "
        "at_bound, binding, fixed FROM ici.budget_allocation ORDER BY model, calibrated, node",
        ["total", "current", "recommended", "expected_uplift", "uplift_low", "uplift_high"],
    ),
    "channel_returns": (
        "SELECT model, calibrated, node, spend, incremental_target, roi, roi_low, roi_high, marginal_roi, "
        "spend_share, contribution_share FROM ici.channel_returns ORDER BY model, calibrated, node",
        ["spend", "incremental_target", "roi", "roi_low", "roi_high", "marginal_roi", "spend_share"],
    ),
    "anomalies": (
        "SELECT period, unit, node, contribution, deviation, expected, score, flagged, rank, sentence "
        "FROM ici.anomalies ORDER BY period, unit, node",
        ["contribution", "deviation", "expected", "score"],
    ),
    "change_attribution": (
        "SELECT period, node, part, contribution, low, high, observed_change, sentence "
        "FROM ici.change_attribution ORDER BY period, node, part",
        ["contribution", "low", "high", "observed_change"],
    ),
}


@pytest.mark.parametrize("table", sorted(DECISIONS))
def test_decision_tables_identical_to_duckdb(pg_demo, pg_server, duck_partitions, table):
    query, floats = DECISIONS[table]
    pg = pg_frame(pg_server, pg_demo["db"], query)
    assert_same_results(pg, duck_frame(duck_partitions, query), floats)  # same node table -> same decisions
    history = pg_frame(pg_server, pg_demo["db"], query.replace(f"ici.{table}", f"ici.{table}_history"))
    assert_same_results(history, pg, floats, tol=0.0)  # one publish each: the history holds the same rows
    if table == "change_attribution":
        assert {str(p) for p in pg["period"]} == set(CHANGE_MONTHS)


def test_raw_tables_and_marts_equal_duckdbs(pg_demo, pg_server, small_base):
    for table, floats in (("raw.orders", ["revenue"]), ("public.marketing_nodes", ["demand", "tv_adstock", "revenue"])):
        agg = ", ".join(f"sum({c}) AS {c}" for c in floats)
        q = f"SELECT count(*) AS n, {agg} FROM {table}"
        duck_q = q.replace("public.", "main.")
        assert_same_results(pg_frame(pg_server, pg_demo["db"], q), duck_frame(small_base[1], duck_q), floats, 1e-6)
