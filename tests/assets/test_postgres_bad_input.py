"""Bad input at the ICI assets on PostgreSQL: each failure names the table, column or dbt target and what to do,
and nothing already published changes."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from ici_assets.assets.ici import scm_asset
from ici_assets.assets.resources import WarehouseResource, asset_resources
from ici_assets.spec.parse import specs_from_manifest
from ici_assets.warehouse import Relation
from tests.postgres_fixtures import environment

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def materialise_scm(pg_demo, env: dict[str, str]) -> str:
    """Materialise the SCM asset with the dbt target rendered from ``env``; the failure's message."""
    manifest = json.loads((pg_demo["project"] / "target" / "manifest.json").read_text())
    (spec,) = [s for s in specs_from_manifest(manifest) if s.model == "marketing_nodes"]
    assets_def = scm_asset(spec, dg.AssetKey(["marketing_nodes"]), Relation("public", "marketing_nodes"))
    with environment(env):
        resource = WarehouseResource.for_dbt_target(pg_demo["project"], target="postgres")
        result = dg.materialize([assets_def], resources=asset_resources(resource), raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = failure.step_failure_data.error
    return error.to_string() if error else ""  # with its cause: the asset's own message


def current_shares(pg_server, db: str) -> list:
    with pg_server.admin(db) as con:
        return con.execute("SELECT node, share, run_id FROM ici.ici_shares ORDER BY 1, 3").fetchall()


def test_missing_node_column_named(pg_server, pg_demo, pg_clone):
    before = current_shares(pg_server, pg_clone)
    with pg_server.admin(pg_clone) as con:
        con.execute("ALTER TABLE public.marketing_nodes DROP COLUMN organic_clicks")
    message = materialise_scm(pg_demo, pg_server.env(pg_clone))
    assert "Table public.marketing_nodes (dbt model 'marketing_nodes') lacks column(s) ['organic_clicks']" in message
    assert "add them to the model's SQL" in message
    assert current_shares(pg_server, pg_clone) == before


def test_absent_schema_says_build_the_dbt_models(pg_server, pg_demo):
    db = pg_server.fresh_database("bad_empty")
    message = materialise_scm(pg_demo, pg_server.env(db))
    assert (
        "Table public.marketing_nodes of dbt model 'marketing_nodes' does not exist in warehouse postgresql://ici@"
        in message
    )
    assert "dbt target 'postgres' of profile 'ici_marketing'" in message and "build the dbt models first" in message


def test_no_privilege_names_the_role_and_the_grant(pg_server, pg_demo, pg_clone):
    from psycopg import sql

    with pg_server.admin(pg_clone) as con:
        con.execute("DROP ROLE IF EXISTS ici_reader")
        con.execute(sql.SQL("CREATE ROLE ici_reader LOGIN PASSWORD {}").format("r"))
    env = {**pg_server.env(pg_clone), "PGUSER": "ici_reader", "PGPASSWORD": "r"}
    message = materialise_scm(pg_demo, env)
    assert "role 'ici_reader' may not read public.marketing_nodes (permission denied for table" in message
    assert "GRANT USAGE, CREATE ON SCHEMA" in message and "user ($PGUSER)" in message


def test_wrong_credentials_name_the_target_and_the_variables(pg_server, pg_demo, pg_clone):
    before = current_shares(pg_server, pg_clone)
    message = materialise_scm(pg_demo, {**pg_server.env(pg_clone), "PGPASSWORD": "wrong-password"})
    assert "Could not connect to PostgreSQL warehouse postgresql://ici@" in message
    assert "dbt target 'postgres' of profile 'ici_marketing'" in message and "password ($PGPASSWORD)" in message
    assert "wrong-password" not in message
    assert current_shares(pg_server, pg_clone) == before
