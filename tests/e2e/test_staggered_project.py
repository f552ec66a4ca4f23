"""A user's dbt project whose daily node table is not a rectangle, end to end through the assets (issue 23, item 4).

The raw table is the STAGGERED generator's (tests/user_data.py): 12 regions x 540 days, region_07 opening 90 days
late, region_03 missing three days. Two dbt models read it, one with the default coverage (a rectangle) and one
with ``coverage: {staggered_units: true, max_missing_share: 0.02}``; one run materialises both chains. The first is
refused at ``scm`` naming the region and the days, and publishes nothing; the second publishes shares within a point
of the generator's truth, equal to the engine's on the same rows.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import model_chain
from tests.user_data import MEDIA, STAGGERED, staggered_table
from tests.user_project import DBT_PROJECT, PROFILES, model_sql, model_yaml, sources_yaml

STRICT, RAGGED = "media_strict", "media_ragged"
COVERAGE = "          coverage: {staggered_units: true, max_missing_share: 0.02}\n"


def write_project(root: Path, warehouse: Path) -> Path:
    """Two models over one raw table (its source named ``media_daily``), the second accepting the ragged panel."""
    dbt = root / "dbt"
    (dbt / "models").mkdir(parents=True)
    (dbt / "dbt_project.yml").write_text(DBT_PROJECT)
    (dbt / "profiles.yml").write_text(PROFILES.format(warehouse=warehouse))
    (dbt / "models" / "sources.yml").write_text(sources_yaml(["media_daily"]))
    for name in (STRICT, RAGGED):
        sql = model_sql("media_daily", "date", ("region",), MEDIA)
        yaml = model_yaml(name, "date", "day", ("region",), MEDIA)
        if name == RAGGED:
            yaml = yaml.replace("          n_bootstrap: 100\n", "          n_bootstrap: 100\n" + COVERAGE)
            assert COVERAGE in yaml
        (dbt / "models" / f"{name}.sql").write_text(sql)
        (dbt / "models" / f"{name}.yml").write_text(yaml)
    return dbt


@pytest.fixture(scope="module")
def staggered_run(tmp_path_factory):
    from ici_assets.component.build import build_definitions
    from ici_assets.component.manifest import prepare_manifest

    root = tmp_path_factory.mktemp("staggered")
    warehouse = root / "warehouse.duckdb"
    table, truth = staggered_table(MEDIA, STAGGERED, seed=0)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA raw")
        con.register("generated", table)
        con.execute("CREATE TABLE raw.media_daily AS SELECT * FROM generated")
        con.unregister("generated")
    dbt = write_project(root, warehouse)
    prepare_manifest(dbt)
    defs = build_definitions(dbt, profiles_dir=dbt)
    chain = model_chain(defs, STRICT, RAGGED)
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=chain, raise_on_error=False
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT model, node, share FROM ici.ici_shares WHERE partition_key IS NULL").fetchall()
    shares: dict[str, dict[str, float]] = {}
    for model, node, share in rows:
        shares.setdefault(model, {})[node] = share
    return {"result": result, "shares": shares, "truth": truth, "table": table}


def coverage_of(result, model: str):
    key = dg.AssetKey(["ici", model, "scm"])
    (ev,) = [
        e for e in result.get_asset_check_evaluations() if e.asset_key == key and e.check_name == "node_table_coverage"
    ]
    return ev


@pytest.mark.slow
def test_without_the_setting_scm_names_the_region_and_the_days_and_nothing_is_published(staggered_run):
    ev = coverage_of(staggered_run["result"], STRICT)
    assert not ev.passed
    text = ev.description or ""
    assert "region region_07 starts on 2024-03-31, 90 day(s) after the table's first day" in text
    assert "region region_03 misses 3 of its 540 days" in text and "2024-07-19, 2024-07-20, 2024-07-21" in text
    assert STRICT not in staggered_run["shares"]


@pytest.mark.slow
def test_with_the_setting_the_shares_are_published_near_the_truth(staggered_run):
    from ici_assets.engine import compute_ici

    ev = coverage_of(staggered_run["result"], RAGGED)
    assert ev.passed and "region region_07 starts on 2024-03-31" in (ev.description or "")
    got, truth = staggered_run["shares"][RAGGED], staggered_run["truth"]
    direct = compute_ici(staggered_run["table"], MEDIA.edges, MEDIA.target, time_column="period", n_bootstrap=0, seed=0)
    assert got == pytest.approx(dict(zip(direct["node"], direct["share"])), abs=1e-6)
    assert set(got) == set(truth)
    for node, share in got.items():
        assert abs(share - truth[node]) <= 1.0, (node, share, truth[node])
