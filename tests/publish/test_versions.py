"""Versions: unchanged data gives identical shares, a second history set and a fresh asset;
one changed raw row gives a new data version and a stale asset."""

import dagster as dg
import duckdb
import pytest
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from tests.conftest import model_chain

SMALL = {"ops": {"raw_marketing_tables": {"config": {"n_regions": 5, "n_days": 200}}}}
SCM = dg.AssetKey(["ici", "marketing_nodes", "scm"])
SHARES = dg.AssetKey(["ici", "marketing_nodes", "shares"])
COLS = "node, ici, share, share_low, share_high, code_version, data_version, model, partition_key"


@pytest.fixture(scope="module")
def setup(tmp_path_factory, dbt_project_copy):
    from ici_assets.demo.location import build_demo_definitions

    warehouse = tmp_path_factory.mktemp("versions") / "wh.duckdb"
    defs = build_demo_definitions(dbt_project_copy, warehouse)
    return defs, dg.DagsterInstance.ephemeral(), warehouse


def shares(warehouse, table="ici_shares"):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            f"SELECT {COLS} FROM ici.{table} WHERE asset_key = ? ORDER BY node", [SHARES.to_user_string()]
        ).fetchall()


def resolver(defs, instance):
    """What the UI uses to show an asset as stale (internal API, pinned by uv.lock)."""
    return CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))


def stability(result):
    """The shares_stable evaluation of a run that materialised the shares."""
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "shares_stable"]
    return evaluation


def status(defs, instance, key):
    return resolver(defs, instance).get_status(key)


def test_rematerialising_unchanged_data_is_recognisably_the_same(setup):
    from ici_assets.demo.raw_assets import RAW_TABLES

    defs, instance, warehouse = setup
    job = defs.resolve_job_def("ici_demo")
    chain = model_chain(defs, "marketing_nodes")  # raw tables, dbt models, the marketing model's ICI assets
    assert job.execute_in_process(run_config=SMALL, instance=instance, asset_selection=chain).success
    first = shares(warehouse)
    # the raw tables regenerated identically: the same data versions, so nothing downstream is stale
    raw = [dg.AssetKey(["raw", t]) for t in RAW_TABLES]
    assert job.execute_in_process(run_config=SMALL, instance=instance, asset_selection=raw).success
    assert status(defs, instance, dg.AssetKey(["stg_orders"])) == StaleStatus.FRESH
    assert status(defs, instance, SCM) == StaleStatus.FRESH
    assert status(defs, instance, SHARES) == StaleStatus.FRESH
    # and refitting them gives the same shares, a second history set with the same versions
    refit = job.execute_in_process(instance=instance, asset_selection=[SCM, SHARES])
    assert refit.success
    stable = stability(refit)
    assert stable.passed and stable.severity == dg.AssetCheckSeverity.WARN
    assert stable.description.startswith("No share moved beyond its interval since the run of ")
    assert stable.description.endswith("; data unchanged, code unchanged.")  # identical shares: no largest move
    second = shares(warehouse)
    assert first == second and len(first) == 6

    history = shares(warehouse, "ici_shares_history")
    assert len(history) == 12  # two identical sets, nothing deleted
    assert history[0::2] == history[1::2] == first
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute(
            "SELECT count(DISTINCT run_id), count(DISTINCT data_version) FROM ici.ici_shares_history "
            "WHERE asset_key = ?",
            [SHARES.to_user_string()],
        ).fetchone()
    assert runs == (2, 1)
    assert status(defs, instance, SHARES) == StaleStatus.FRESH
    assert status(defs, instance, SCM) == StaleStatus.FRESH


def test_one_changed_raw_row_changes_data_version_and_marks_stale(setup):
    defs, instance, warehouse = setup
    old_version = shares(warehouse)[0][6]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE raw.orders SET revenue = revenue + 100 WHERE order_id = (SELECT min(order_id) FROM raw.orders)"
        )
    # dbt and the SCM see the change; the shares asset is not rerun yet.
    dbt_keys = [k for k in model_chain(defs, "marketing_nodes") if k.path[0] not in ("raw", "ici")]
    job = defs.resolve_job_def("ici_demo")
    result = job.execute_in_process(instance=instance, asset_selection=[*dbt_keys, SCM])
    assert result.success
    mats = [e for e in result.get_asset_materialization_events() if e.asset_key == SCM]
    new_version = mats[0].materialization.metadata["data_version"].value
    assert new_version != old_version
    assert status(defs, instance, SHARES) == StaleStatus.STALE
    causes = resolver(defs, instance).get_stale_causes(SHARES)
    assert any(c.dependency and c.dependency.asset_key == SCM for c in causes), causes
    # rerunning the shares picks up the new data version and is fresh again; one order moves no share
    rerun = job.execute_in_process(instance=instance, asset_selection=[SHARES])
    assert rerun.success
    assert stability(rerun).passed
    assert stability(rerun).description.endswith("data changed, code unchanged.")
    assert shares(warehouse)[0][6] == new_version
    assert status(defs, instance, SHARES) == StaleStatus.FRESH
