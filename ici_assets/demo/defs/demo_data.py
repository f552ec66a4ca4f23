"""The demo's own assets: the generator of its raw tables (known causal truth) and the ``ici_demo`` job."""

from ici_assets.demo.raw_assets import demo_definitions
from ici_assets.paths import REPO_ROOT

defs = demo_definitions(REPO_ROOT / "dbt_project")
