"""Demo data with a known truth: the article's marketing case as raw warehouse tables.

``truth`` (the causal model and its analytic ICI), ``adstock`` (TV carryover, from the dbt vars),
``simulation`` (node values per date x region), ``exports`` (the raw tables), ``tables`` (the write).

A lazy package, as :mod:`ici_assets.engine` is: the demo's code location imports it to declare the generator
asset, and numpy, pandas and the engine load only when a name below is first used.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .adstock import adstock_settings, adstock_weights
    from .exports import AVERAGE_ORDER_VALUE, generate_raw_tables
    from .simulation import DemoShape, simulate, simulate_nodes, simulate_spend_history
    from .tables import RAW_LAYOUTS, write_raw_tables
    from .truth import (
        ARTICLE_EQUATIONS,
        ARTICLE_ROOTS,
        NODE_UNITS,
        NODES,
        TARGET,
        ground_truth_ici,
        structural_coefficients,
        tv_node,
    )

#: Where each public name lives. No public name may be a submodule's name (tests/test_lazy_imports.py).
_LAZY = {
    "TV_ADSTOCK_DECAY": "adstock",
    "TV_ADSTOCK_MAX_LAG": "adstock",
    "adstock_settings": "adstock",
    "adstock_weights": "adstock",
    "AVERAGE_ORDER_VALUE": "exports",
    "generate_raw_tables": "exports",
    "DemoShape": "simulation",
    "simulate": "simulation",
    "simulate_nodes": "simulation",
    "simulate_spend_history": "simulation",
    "RAW_LAYOUTS": "tables",
    "write_raw_tables": "tables",
    "ARTICLE_EQUATIONS": "truth",
    "ARTICLE_ROOTS": "truth",
    "NODE_UNITS": "truth",
    "NODES": "truth",
    "TARGET": "truth",
    "ground_truth_ici": "truth",
    "structural_coefficients": "truth",
    "tv_node": "truth",
}

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


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    if not name.startswith("TV_ADSTOCK_"):  # read from the dbt vars on each use (adstock.__getattr__)
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
