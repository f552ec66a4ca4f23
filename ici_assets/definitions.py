"""The demo's code location: the components of ``ici_assets/demo/defs`` (``dg dev``, ``dagster dev -w workspace.yaml``).

``defs/marketing/defs.yaml`` declares the demo dbt project as an ``ici_assets.IciDbtProjectComponent``;
``defs/demo_data.py`` adds the demo generator and the ``ici_demo`` job. The warehouse is the demo profile
target's: ``$ICI_WAREHOUSE``, default ``data/warehouse.duckdb``.
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)
