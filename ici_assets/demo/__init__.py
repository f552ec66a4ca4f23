"""Demo data with a known truth: the article's marketing case as raw warehouse tables."""

from ici_assets.demo.raw_data import (
    NODE_UNITS,
    NODES,
    TARGET,
    TV_ADSTOCK_DECAY,
    TV_ADSTOCK_MAX_LAG,
    adstock_weights,
    generate_raw_tables,
    ground_truth_ici,
    simulate_nodes,
    simulate_spend_history,
    structural_coefficients,
    tv_node,
    write_raw_tables,
)

__all__ = [
    "NODES",
    "NODE_UNITS",
    "TARGET",
    "TV_ADSTOCK_DECAY",
    "TV_ADSTOCK_MAX_LAG",
    "adstock_weights",
    "generate_raw_tables",
    "ground_truth_ici",
    "simulate_nodes",
    "simulate_spend_history",
    "structural_coefficients",
    "tv_node",
    "write_raw_tables",
]
