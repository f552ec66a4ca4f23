"""The demo's own assets: the generator of its raw tables (known causal truth) and the ``ici_demo`` job."""

import dagster as dg

from ici_assets.demo.raw_assets import demo_definitions


@dg.definitions
def defs(context: dg.ComponentLoadContext) -> dg.Definitions:
    return demo_definitions(context.project_root / "dbt_project")
