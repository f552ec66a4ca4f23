"""Blocking asset checks: each fails on purpose and keeps downstream assets from running."""

import textwrap

import dagster as dg
import duckdb
import pandas as pd
import pytest

from ici_assets import checks
from tests.conftest import copy_dbt_project

SMALL = {"ops": {"raw_marketing_tables": {"config": {"n_regions": 5, "n_days": 200}}}}
MART_YML = "models/marts/_marts.yml"


def run_variant(tmp_path, edit_yml=None, edit_sql=None):
    """Materialise the demo with an edited copy of the dbt project; return result and warehouse."""
    from ici_assets.dbt import prepare_manifest
    from ici_assets.definitions import build_definitions

    project = copy_dbt_project(tmp_path / "dbt_project")
    if edit_yml:
        path = project / MART_YML
        path.write_text(edit_yml(path.read_text()))
    if edit_sql:
        path = project / "models" / "marts" / "marketing_nodes.sql"
        path.write_text(edit_sql(path.read_text()))
    prepare_manifest(project)
    warehouse = tmp_path / "wh.duckdb"
    defs = build_definitions(project, warehouse)
    result = defs.resolve_job_def("ici_demo").execute_in_process(
        run_config=SMALL, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    return result, warehouse


def evaluations(result, asset):
    return {e.check_name: e for e in result.get_asset_check_evaluations()
            if e.asset_key == dg.AssetKey(["ici", "marketing_nodes", asset])}


def materialised(result):
    return {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}


def assert_blocked(result, warehouse):
    """The SCM materialised with a failed check; shares and the last-click comparison did not run."""
    done = materialised(result)
    assert "scm" in done and "shares" not in done and "ici_vs_last_click" not in done
    with duckdb.connect(str(warehouse), read_only=True) as con:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ici'").fetchone()[0]
    assert exists == 0  # nothing published


def test_wrong_graph_fails_graph_check_and_blocks(tmp_path):
    # drop the edge demand -> social_clicks: the data say social_clicks depends on demand
    def edit(text):
        old = "- name: social_clicks\n        description: Sessions from clicks on social ads (medium paid_social).\n        config: {meta: {ici: {parents: [demand, tv_spend, social_spend]}}}"
        assert old in text
        return text.replace(old, old.replace("[demand, tv_spend, social_spend]", "[tv_spend, social_spend]"))

    result, warehouse = run_variant(tmp_path, edit_yml=edit)
    ev = evaluations(result, "scm")
    assert not ev["graph_not_contradicted"].passed
    assert "social_clicks _||_ demand" in ev["graph_not_contradicted"].description
    assert ev["mechanisms_explain_variance"].passed and ev["node_table_coverage"].passed
    assert_blocked(result, warehouse)


def test_weak_mechanism_fails_r2_check_and_blocks(tmp_path):
    # a mechanism that explains too little: demand the impossible R^2 of social_clicks (about 0.45)
    def edit(text):
        return text.replace("          mechanisms: auto\n", "          mechanisms: auto\n          checks: {min_r2: 0.9}\n", 1)

    result, warehouse = run_variant(tmp_path, edit_yml=edit)
    ev = evaluations(result, "scm")
    assert not ev["mechanisms_explain_variance"].passed
    assert "social_clicks" in ev["mechanisms_explain_variance"].description
    assert ev["mechanisms_explain_variance"].metadata["r2/social_clicks"].value < 0.9
    assert_blocked(result, warehouse)


def test_missing_days_fail_coverage_check_and_block(tmp_path):
    # the node model loses three days (a broken upstream load)
    def edit(sql):
        return sql.replace("order by spine.\"date\", spine.region",
                           "where spine.\"date\" not between date '2024-03-01' and date '2024-03-03'\norder by spine.\"date\", spine.region")

    result, warehouse = run_variant(tmp_path, edit_sql=edit)
    ev = evaluations(result, "scm")
    assert not ev["node_table_coverage"].passed
    assert "3 day(s) missing" in ev["node_table_coverage"].description
    assert ev["node_table_coverage"].metadata["missing_days"].value == 3
    assert_blocked(result, warehouse)


def test_shares_checks_on_bad_shares():
    ok = checks.shares_check_results(pd.Series([60.0, 40.0]))
    assert all(r.passed for r in ok)
    bad_sum, bad_neg = checks.shares_check_results(pd.Series([70.0, 32.0, -2.0]))
    assert bad_sum.passed and not bad_neg.passed
    bad_sum, _ = checks.shares_check_results(pd.Series([50.0, 49.0]))
    assert not bad_sum.passed and bad_sum.metadata["total"].value == pytest.approx(99.0)
