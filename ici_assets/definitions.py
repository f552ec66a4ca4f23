"""The code location loaded by ``dagster dev -w workspace.yaml``: the demo dbt project's definitions.

Paths come from ``$ICI_DBT_PROJECT_DIR`` and ``$ICI_WAREHOUSE`` (defaults: ``dbt_project/`` and
``data/warehouse.duckdb``). Needs ``dbt_project/target/manifest.json`` (``make parse``).
"""

from ici_assets.build import build_definitions

defs = build_definitions()
