"""Bad input fails at the right asset, with a message naming the column/node/table/file and
the fix, and leaves ici.ici_shares and ici.ici_shares_history exactly as they were."""

import shutil
import subprocess
import sys
import textwrap

import dagster as dg
import duckdb
import pytest

from ici_assets.demo.location import build_demo_definitions
from ici_assets.spec.model import IciMetaError
from tests.conftest import model_chain
from tests.variants import META_CASES

SMALL = {"ops": {"raw_marketing_tables": {"config": {"n_regions": 5, "n_days": 200}}}}
SCM = dg.AssetKey(["ici", "marketing_nodes", "scm"])
SHARES = dg.AssetKey(["ici", "marketing_nodes", "shares"])
VS = dg.AssetKey(["ici", "marketing_nodes", "ici_vs_last_click"])


@pytest.fixture
def base(small_base):
    return small_base


def snapshot(path):
    """The marketing model's published shares (the media model's assets are not what these tests break)."""
    mine = "WHERE asset_key LIKE '%marketing_nodes%'"
    with duckdb.connect(str(path), read_only=True) as con:
        return (
            con.execute(f"SELECT * FROM ici.ici_shares {mine} ORDER BY asset_key, node").fetchall(),
            con.execute(f"SELECT * FROM ici.ici_shares_history {mine} ORDER BY run_id, asset_key, node").fetchall(),
        )


def run_ici(base, tmp_path, mutate_sql, selection=(SCM, SHARES, VS), wait_seconds=None):
    """Copy the warehouse, apply the bad input, run the selected assets; return (result, path, before)."""

    project, warehouse = base
    path = tmp_path / "wh.duckdb"
    shutil.copy(warehouse, path)
    before = snapshot(path)
    if mutate_sql:
        with duckdb.connect(str(path)) as con:
            for sql in mutate_sql:
                con.execute(sql)
    defs = build_demo_definitions(project, path)
    if callable(selection):
        selection = selection(defs)
    run_config = {}
    if wait_seconds is not None:
        run_config = {"resources": {"warehouse": {"config": {"path": str(path), "wait_seconds": wait_seconds}}}}
    result = defs.resolve_job_def("ici_demo").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=list(selection),
        raise_on_error=False,
        run_config=run_config,
    )
    return result, path, before


def failure(result):
    """(step key, error message) of the single failed step."""
    fails = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(fails) == 1, [e.step_key for e in fails]
    err = fails[0].event_specific_data.error
    msgs = []
    while err is not None:
        msgs.append(err.message)
        err = err.cause
    return fails[0].step_key, "\n".join(msgs)


NODES = "main.marketing_nodes"


def unpartitioned_non_raw(defs):
    """dbt models and the marketing model's whole-period ICI assets (what a rerun after a change of its raw
    tables runs; the media model's fits are not needed here)."""
    graph = defs.resolve_asset_graph()
    dbt = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable and k.path[0] not in ("raw", "ici")]
    return sorted({*dbt, *(k for k in model_chain(defs, "marketing_nodes") if k.path[0] != "raw")})


@pytest.mark.parametrize(
    "name, sql, needles",
    [
        ("null", [f"UPDATE {NODES} SET revenue = NULL WHERE rowid < 3"], ["revenue", "3"]),
        ("nan", [f"UPDATE {NODES} SET social_spend = 'NaN'::DOUBLE WHERE rowid = 5"], ["social_spend"]),
        ("inf", [f"UPDATE {NODES} SET organic_clicks = 'inf'::DOUBLE WHERE rowid = 7"], ["organic_clicks"]),
        (
            "non_numeric",
            [f"ALTER TABLE {NODES} ALTER demand TYPE VARCHAR", f"UPDATE {NODES} SET demand = 'high' WHERE rowid = 1"],
            ["demand", "numeric"],
        ),
        ("constant", [f"UPDATE {NODES} SET tv_adstock = 1000"], ["tv_adstock", "constant"]),
        (
            "missing_column",
            [f"ALTER TABLE {NODES} DROP COLUMN social_clicks"],
            ["social_clicks", "main.marketing_nodes", "lacks column"],
        ),
        ("too_few_rows", [f"DELETE FROM {NODES} WHERE rowid >= 12"], ["12 rows", "at least"]),
        ("empty", [f"DELETE FROM {NODES}"], ["No rows", "marketing_nodes"]),
    ],
)
def test_bad_node_table_fails_at_scm_and_keeps_results(base, tmp_path, name, sql, needles):
    result, path, before = run_ici(base, tmp_path, sql)
    assert not result.success
    step, message = failure(result)
    assert step == "ici__marketing_nodes__scm", step
    for needle in needles:
        assert needle.lower() in message.lower(), (name, message)
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert SHARES not in done and VS not in done
    assert snapshot(path) == before
    print(f"\n{name}:", next(line for line in message.splitlines() if needles[0].lower() in line.lower()))


def test_duplicate_rows_fail_at_dbt_and_block_ici(base, tmp_path):
    result, path, before = run_ici(
        base,
        tmp_path,
        ["INSERT INTO raw.demand_index SELECT * FROM raw.demand_index LIMIT 1"],
        selection=unpartitioned_non_raw,
    )
    assert not result.success
    failed_checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert any("unique" in c and "demand_index" in c for c in failed_checks), failed_checks
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert SCM not in done and SHARES not in done
    assert snapshot(path) == before
    print(f"\nduplicate rows: failed dbt checks {failed_checks}")


def test_empty_raw_tables_fail_with_named_table(base, tmp_path):
    result, path, before = run_ici(
        base,
        tmp_path,
        [f"DELETE FROM raw.{t}" for t in ("ad_spend", "web_sessions", "orders", "demand_index")],
        selection=unpartitioned_non_raw,
    )
    assert not result.success
    step, message = failure(result)
    assert step == "ici__marketing_nodes__scm" and "No rows" in message and "marketing_nodes" in message
    assert snapshot(path) == before
    print(f"\nempty raw tables: {message.strip().splitlines()[-1]}")


def test_warehouse_held_by_another_writer(base, tmp_path):
    project, warehouse = base
    path = tmp_path / "wh.duckdb"
    shutil.copy(warehouse, path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(path)!r})
            print("holding", flush=True)
            time.sleep(120)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"

        defs = build_demo_definitions(project, path)
        result = defs.resolve_job_def("ici_demo").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            asset_selection=[SCM, SHARES],
            raise_on_error=False,
            run_config={"resources": {"warehouse": {"config": {"path": str(path), "wait_seconds": 2}}}},
        )
    finally:
        holder.kill()
        holder.wait()
    assert not result.success
    step, message = failure(result)
    assert step == "ici__marketing_nodes__scm"
    assert str(path) in message and "another process holds it" in message and "re-run" in message
    print("\nwarehouse held:", next(line for line in message.splitlines() if "another process holds it" in line))
    shutil.copy(warehouse, tmp_path / "before.duckdb")
    assert snapshot(path) == snapshot(tmp_path / "before.duckdb")


@pytest.fixture(scope="module")
def malformed(parsed_variants):
    """The manifest nodes of the malformed project's ``bad_<case>`` models, as dbt parsed them."""
    import json

    project = parsed_variants["malformed"]
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    return project, {p["name"]: p for p in manifest["nodes"].values() if p["name"].startswith("bad_")}


@pytest.mark.parametrize("name, edit, needle", META_CASES)
def test_malformed_meta_is_refused_naming_model_and_key(malformed, name, edit, needle):
    from ici_assets.spec.parse import parse_model_spec

    _, models = malformed
    with pytest.raises(IciMetaError) as err:
        parse_model_spec(models[f"bad_{name}"])
    assert needle in str(err.value) and f"bad_{name}" in str(err.value)
    print(f"\n{name}: {err.value}")


def test_malformed_meta_fails_when_the_definitions_load(malformed, tmp_path):
    from ici_assets.component.build import build_definitions

    project, models = malformed
    assert len(models) == len(META_CASES)
    with pytest.raises(IciMetaError, match="dbt model 'bad_"):
        build_definitions(project, tmp_path / "wh.duckdb")


def test_partition_that_cannot_be_fitted_is_named_and_the_others_published(base, tmp_path):
    """One region's TV spend is constant: the engine refuses that partition; the run publishes the
    other regions, reports the checks it could evaluate, and fails naming the region and the column."""
    from ici_assets.component.build import build_definitions
    from ici_assets.dev.runner import range_tags

    project, warehouse = base
    path = tmp_path / "wh.duckdb"
    shutil.copy(warehouse, path)
    with duckdb.connect(str(path)) as con:
        con.execute("DROP SCHEMA IF EXISTS ici CASCADE")
        con.execute(f"UPDATE {NODES} SET tv_adstock = 1000 WHERE region = 'region_03'")
        regions = [r for (r,) in con.execute(f"SELECT DISTINCT region FROM {NODES} ORDER BY 1").fetchall()]
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("marketing_nodes__region", regions)
    job = build_definitions(project, path).resolve_job_def("ici__marketing_nodes__shares_by_region_job")
    result = job.execute_in_process(instance=instance, tags=range_tags(regions), raise_on_error=False)

    assert not result.success
    step, message = failure(result)
    assert step == "ici__marketing_nodes__shares_by_region"
    assert "region_03" in message and "tv_adstock" in message
    assert {e.partition for e in result.get_asset_materialization_events()} == set(regions) - {"region_03"}
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert all(c.passed for c in checks.values()) and len(checks) == 6  # with shares_stable
    assert checks["shares_sum_to_100"].metadata["not_evaluated"].value == ["region_03"]
    with duckdb.connect(str(path), read_only=True) as con:
        stored = {r for (r,) in con.execute("SELECT DISTINCT partition_key FROM ici.ici_shares").fetchall()}
    assert stored == set(regions) - {"region_03"}
    print("\nunfittable partition:", next(line for line in message.splitlines() if "region_03" in line))
