"""The result of an ICI estimate: the table plus the facts a caller reports (method, resampling, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .sparse import SparseNode

COLUMNS = ["node", "ici", "share", "share_low", "share_high", "mechanism", "r2"]


@dataclass(frozen=True)
class IciResult:
    """ICI table (one row per node: COLUMNS) and how it was obtained.

    method: closed_form_linear, shapley_exact or shapley_permutation. resampling: none, row or block;
    block_length in periods (block only). n_degenerate: resamples in which some regression was
    rank-deficient or some node constant (solved by pseudo-inverse, kept). share_mc_se: Monte Carlo
    standard error of each share in points (Shapley methods; None for the exact closed form).
    """

    table: pd.DataFrame
    target: Any
    method: str
    n_rows: int
    seed: int
    var_target_data: float
    ici_total: float
    n_bootstrap: int = 0
    resampling: str = "none"
    block_length: int | None = None
    n_periods: int | None = None
    interval: str | None = None
    n_degenerate: int = 0
    sparse_nodes: tuple[SparseNode, ...] = ()
    var_y_model: float | None = None
    n_samples: int | None = None
    n_permutations: int | None = None
    share_mc_se: np.ndarray | None = field(default=None, repr=False)

    def facts(self) -> dict[str, Any]:
        """JSON-friendly facts for metadata (numbers, strings, lists; no None values)."""
        out: dict[str, Any] = {
            "method": self.method,
            "n_rows": self.n_rows,
            "seed": self.seed,
            "n_bootstrap": self.n_bootstrap,
            "resampling": self.resampling,
            "n_degenerate_resamples": self.n_degenerate,
            "sparse_nodes": [str(s.node) for s in self.sparse_nodes],
        }
        optional = {
            "block_length": self.block_length,
            "n_periods": self.n_periods,
            "interval": self.interval,
            "n_samples": self.n_samples,
            "n_permutations": self.n_permutations,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.share_mc_se is not None:
            out["max_share_mc_se"] = float(np.max(self.share_mc_se))
        return out
