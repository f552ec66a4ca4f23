"""The code location loaded by ``dagster dev -w workspace.yaml``: the demo dbt project's definitions.

The project comes from ``$ICI_DBT_PROJECT_DIR`` (default ``dbt_project/``), the warehouse from its dbt
profile target (``$DBT_TARGET``: the DuckDB file ``$ICI_WAREHOUSE`` by default, ``postgres`` for
PostgreSQL). Needs ``dbt_project/target/manifest.json`` parsed for that target (``make parse``).
"""

from ici_assets.build import build_definitions

defs = build_definitions()
