"""Demo data with a known truth: the article's marketing case as raw warehouse tables.

``truth`` (the causal model and its analytic ICI), ``adstock`` (TV carryover, from the dbt vars),
``simulate`` (node values per date x region), ``exports`` (the raw tables), ``tables`` (the write).
"""

from ici_assets.demo import adstock as _adstock
from ici_assets.demo.adstock import adstock_settings, adstock_weights
from ici_assets.demo.exports import AVERAGE_ORDER_VALUE, generate_raw_tables
from ici_assets.demo.simulate import DemoShape, simulate, simulate_nodes, simulate_spend_history
from ici_assets.demo.tables import RAW_LAYOUTS, write_raw_tables
from ici_assets.demo.truth import (
    ARTICLE_EQUATIONS,
    ARTICLE_ROOTS,
    NODE_UNITS,
    NODES,
    TARGET,
    ground_truth_ici,
    structural_coefficients,
    tv_node,
)

__all__ = [
    "ARTICLE_EQUATIONS",
    "ARTICLE_ROOTS",
    "AVERAGE_ORDER_VALUE",
    "DemoShape",
    "NODES",
    "NODE_UNITS",
    "RAW_LAYOUTS",
    "TARGET",
    "TV_ADSTOCK_DECAY",
    "TV_ADSTOCK_MAX_LAG",
    "adstock_settings",
    "adstock_weights",
    "generate_raw_tables",
    "ground_truth_ici",
    "simulate",
    "simulate_nodes",
    "simulate_spend_history",
    "structural_coefficients",
    "tv_node",
    "write_raw_tables",
]


def __getattr__(name: str) -> object:
    """``TV_ADSTOCK_DECAY`` and ``TV_ADSTOCK_MAX_LAG``, read from the demo's dbt vars on first use."""
    if name in ("TV_ADSTOCK_DECAY", "TV_ADSTOCK_MAX_LAG"):
        return getattr(_adstock, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
