"""TV carryover: the dbt macro rebuilds the generator's adstock exactly, and only the adstocked
graph recovers the TV share of the demo's data-generating process.

The demo DGP lets the clicks respond to the geometric adstock of daily TV spend (decay 0.6 over
7 days). A graph that uses the same day's TV spend in its place credits TV only with the
same-day part of the effect (w_0^2 / sum w_l^2 = 64 % of it) and hands the rest to the clicks'
noise, so its TV share lands about 6 points below the truth.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import duckdb
import numpy as np
import pandas as pd
import pytest

from ici_assets.demo import (
    TV_ADSTOCK_DECAY,
    TV_ADSTOCK_MAX_LAG,
    adstock_settings,
    generate_raw_tables,
    ground_truth_ici,
    simulate_nodes,
    write_raw_tables,
)
from ici_assets.warehouse import DuckDBWarehouse
from tests.conftest import copy_dbt_project

pytestmark = pytest.mark.slow  # dbt builds of its own

# 7,300 date x regions: the adstocked TV share is within about 0.5 points of the truth here.
DEMO = {"seed": 0, "n_regions": 20, "n_days": 365, "start_date": "2024-01-01"}
TOLERANCE = 1.5  # points: what the adstocked graph must meet
MIN_GAP = 3.0  # points: how far the same-day graph must miss at least
NODES = ["demand", "tv_spend", "tv_adstock", "social_spend", "organic_clicks", "social_clicks", "revenue"]


def dbt(project, warehouse, *args: str) -> subprocess.CompletedProcess:
    from ici_assets.component.dbt_cli import dbt_executable

    env = {**os.environ, "ICI_WAREHOUSE": str(warehouse)}
    cmd = [dbt_executable(), *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=project)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Demo raw tables with carryover -> temporary DuckDB -> `dbt build` on a copy of the project."""
    tmp = tmp_path_factory.mktemp("carryover")
    tables = generate_raw_tables(**DEMO)
    warehouse = tmp / "warehouse.duckdb"
    write_raw_tables(DuckDBWarehouse(warehouse), tables)
    project = copy_dbt_project(tmp / "dbt_project")
    dbt(project, warehouse, "build", "--quiet", "--select", "+marketing_nodes+")  # the media model has its own raw
    with duckdb.connect(str(warehouse), read_only=True) as con:
        mart = con.execute("SELECT * FROM main.marketing_nodes ORDER BY date, region").df()
        truth = con.execute("SELECT node, share FROM raw.ground_truth_ici").df().set_index("node")["share"]
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    return {
        "tables": tables,
        "mart": mart,
        "truth": truth,
        "manifest": manifest,
        "project": project,
        "warehouse": warehouse,
        "tmp": tmp,
    }


def test_generator_reads_the_carryover_from_the_dbt_vars(dbt_project_copy, tmp_path):
    """One home for decay and lags: the raw asset generates with the vars of the dbt project it feeds."""
    import dagster as dg

    from ici_assets.demo.location import build_demo_definitions
    from ici_assets.demo.raw_assets import RAW_TABLES

    assert (TV_ADSTOCK_DECAY, TV_ADSTOCK_MAX_LAG) == (0.6, 7)  # the demo project's vars
    project = tmp_path / "dbt_project"
    shutil.copytree(dbt_project_copy, project)  # parsed: the manifest comes along
    yml = project / "dbt_project.yml"
    text = yml.read_text()
    assert "tv_adstock_decay: 0.6\n  tv_adstock_max_lag: 7" in text
    yml.write_text(
        text.replace("tv_adstock_decay: 0.6\n  tv_adstock_max_lag: 7", "tv_adstock_decay: 0.5\n  tv_adstock_max_lag: 3")
    )
    assert adstock_settings(project) == (0.5, 3)
    warehouse = tmp_path / "wh.duckdb"
    defs = build_demo_definitions(project, warehouse)
    raw = {"ops": {"raw_marketing_tables": {"config": {"n_regions": 2, "n_days": 10}}}}
    result = defs.resolve_job_def("ici_demo").execute_in_process(
        run_config=raw,
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[dg.AssetKey(["raw", t]) for t in RAW_TABLES],
    )
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        first = con.execute("SELECT min(date) FROM raw.ad_spend").fetchone()[0]
        truth = dict(con.execute("SELECT node, share FROM raw.ground_truth_ici").fetchall())
    assert pd.Timestamp(first) == pd.Timestamp("2024-01-01") - pd.Timedelta(days=3)  # 3 burn-in days
    assert truth == pytest.approx(ground_truth_ici(0.5, 3).set_index("node")["share"].to_dict())


def test_macro_equals_the_generators_adstock(built):
    mart, nodes = built["mart"], simulate_nodes(**DEMO)
    # The burn-in spend before start_date feeds the adstock but adds no rows: same grid.
    assert len(mart) == len(nodes) == DEMO["n_regions"] * DEMO["n_days"]
    assert (mart["date"].to_numpy() == nodes["date"].to_numpy()).all()
    assert (mart["region"].to_numpy() == nodes["region"].to_numpy()).all()
    assert built["tables"]["ad_spend"]["date"].min() == pd.Timestamp(DEMO["start_date"]) - pd.Timedelta(
        days=TV_ADSTOCK_MAX_LAG
    )
    diff = np.abs(mart["tv_adstock"].to_numpy() - nodes["tv_adstock"].to_numpy())
    print(f"\nmax |dbt tv_adstock - generator tv_adstock| = {diff.max():.3g} EUR")
    np.testing.assert_allclose(mart["tv_adstock"], nodes["tv_adstock"], rtol=1e-12, atol=0)
    for col in NODES:
        np.testing.assert_allclose(
            mart[col].to_numpy(float), nodes[col].to_numpy(float), rtol=1e-12, atol=0, err_msg=col
        )
    # Adstock is a weighted mean of daily spend: same mean, smaller spread.
    assert mart["tv_adstock"].mean() == pytest.approx(mart["tv_spend"].mean(), rel=0.01)
    assert mart["tv_adstock"].std() < 0.6 * mart["tv_spend"].std()


def test_adstocked_graph_recovers_tv_share_and_same_day_spend_misses_it(built):
    from ici_assets.engine import compute_ici
    from ici_assets.spec.parse import specs_from_manifest

    specs = {s.model: s for s in specs_from_manifest(built["manifest"])}
    spec = specs["marketing_nodes"]
    graph = spec.graph()
    assert "tv_adstock" in graph and "tv_spend" not in graph
    assert set(graph.successors("tv_adstock")) == {"organic_clicks", "social_clicks"}
    same_day = [("tv_spend" if p == "tv_adstock" else p, c) for p, c in graph.edges]

    truth = built["truth"]
    assert set(truth.index) == set(graph.nodes)
    shares = {}
    for name, g in (("adstocked", graph), ("same-day", same_day)):
        result = compute_ici(built["mart"], g, spec.target, mechanisms=spec.mechanisms, n_bootstrap=0, seed=0)
        shares[name] = result.set_index("node")["share"]
    tv_truth = truth["tv_adstock"]
    tv_adstocked, tv_same_day = shares["adstocked"]["tv_adstock"], shares["same-day"]["tv_spend"]
    print(
        f"\nTV share: truth {tv_truth:.2f}, adstocked graph {tv_adstocked:.2f} "
        f"(gap {tv_adstocked - tv_truth:+.2f}), same-day tv_spend graph {tv_same_day:.2f} "
        f"(gap {tv_same_day - tv_truth:+.2f})"
    )
    assert abs(tv_adstocked - tv_truth) <= TOLERANCE
    assert tv_truth - tv_same_day > MIN_GAP  # same-day spend under-credits TV
    # The adstocked graph gets every node right; the same-day one gives TV's lost part to the clicks.
    worst = (shares["adstocked"] - truth.reindex(shares["adstocked"].index)).abs().max()
    assert worst <= TOLERANCE, shares["adstocked"]
    clicks = ["organic_clicks", "social_clicks"]
    assert shares["same-day"][clicks].sum() > truth[clicks].sum() + MIN_GAP / 2


def test_short_spend_history_drops_shop_days_and_warns(built):
    """Without spend before the shop data, the first max_lag days have no full adstock window:
    they leave the mart (no shortened sums) and the history test warns."""
    warehouse = built["tmp"] / "short_history.duckdb"
    shutil.copy(built["warehouse"], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM raw.ad_spend WHERE date < ?", [pd.Timestamp(DEMO["start_date"]).date()])
    dbt(
        built["project"],
        warehouse,
        "build",
        "--quiet",
        "--select",
        "marketing_nodes",
        "marketing_nodes_adstock_history",
    )
    results = json.loads((built["project"] / "target" / "run_results.json").read_text())["results"]
    status = {r["unique_id"].split(".")[2]: (r["status"], r.get("failures")) for r in results}
    assert status["marketing_nodes_adstock_history"] == ("warn", TV_ADSTOCK_MAX_LAG)
    assert all(s == "pass" for n, (s, _) in status.items() if n.startswith(("not_null", "unique", "accepted")))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        first, n_days = con.execute("SELECT min(date), count(DISTINCT date) FROM main.marketing_nodes").fetchone()
        kept = con.execute("SELECT tv_adstock FROM main.marketing_nodes ORDER BY date, region").df()
    assert pd.Timestamp(first) == pd.Timestamp(DEMO["start_date"]) + pd.Timedelta(days=TV_ADSTOCK_MAX_LAG)
    assert n_days == DEMO["n_days"] - TV_ADSTOCK_MAX_LAG
    # The days kept have their complete window: the same values as with the full history.
    full = built["mart"]["tv_adstock"].to_numpy()[TV_ADSTOCK_MAX_LAG * DEMO["n_regions"] :]
    np.testing.assert_array_equal(kept["tv_adstock"].to_numpy(), full)


def test_no_carryover_is_the_same_day_model():
    truth = ground_truth_ici(0.0, 0).set_index("node")
    assert "tv_spend" in truth.index and "tv_adstock" not in truth.index
    assert truth["share"].to_numpy() == pytest.approx(ground_truth_ici()["share"].to_numpy())
    tables = generate_raw_tables(seed=1, n_regions=2, n_days=10, tv_adstock_decay=0.0, tv_adstock_max_lag=0)
    assert tables["ad_spend"]["date"].min() == pd.Timestamp("2024-01-01")  # no burn-in
