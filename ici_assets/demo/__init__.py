"""Demo data with a known truth: the article's marketing case as raw warehouse tables."""

from ici_assets.demo.raw_data import (
    NODE_UNITS,
    NODES,
    TARGET,
    generate_raw_tables,
    ground_truth_ici,
    simulate_nodes,
    structural_coefficients,
    write_raw_tables,
)

__all__ = [
    "NODES",
    "NODE_UNITS",
    "TARGET",
    "generate_raw_tables",
    "ground_truth_ici",
    "simulate_nodes",
    "structural_coefficients",
    "write_raw_tables",
]
