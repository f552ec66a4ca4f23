"""Flag node columns whose variation rests on very few periods (event dummies, one-off promotions).

Such a node's coefficient and share are estimated from a handful of observations: the fit is still
defined (resamples that miss the event are solved by the pseudo-inverse and counted), but its
interval is wide and its share fragile. Periods count when the model has a time column: a
resample keeps or drops a whole period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MIN_SUPPORT = 10  # periods (or rows) in which the column differs from its most common value
MIN_DISTINCT = 3


@dataclass(frozen=True)
class SparseNode:
    """A node whose column varies in only `n_support` of `n_units` periods (or rows), with the reason."""

    node: Any
    n_support: int
    n_units: int
    n_distinct: int
    reason: str


def sparse_columns(
    frame: pd.DataFrame, periods: np.ndarray | None = None, *, min_support: int = MIN_SUPPORT
) -> list[SparseNode]:
    """Columns of `frame` that differ from their most common value in fewer than `min_support` periods
    (rows if `periods` is None), e.g. an event dummy that is 1 in one or two weeks."""
    unit = "periods" if periods is not None else "rows"
    # one row from each of the first periods (or the first rows): if they already hold more than
    # min_support distinct values, at least min_support of those periods differ from the mode
    probe = np.arange(min(len(frame), 4 * min_support + 4))
    if periods is not None:
        probe = np.unique(periods, return_index=True)[1][: len(probe)]
    out = []
    for node in frame.columns:
        x = frame[node].to_numpy(dtype=float)
        if len(np.unique(x[probe])) > min_support:
            continue
        values, counts = np.unique(x, return_counts=True)
        mode = values[np.argmax(counts)]
        off = x != mode
        if periods is None:
            n_support, n_units = int(off.sum()), len(x)
        else:
            n_support, n_units = len(np.unique(periods[off])), len(np.unique(periods))
        if n_support >= min_support:
            continue
        few = f", {len(values)} distinct values" if len(values) < MIN_DISTINCT else ""
        out.append(
            SparseNode(
                node,
                n_support,
                n_units,
                len(values),
                f"node {node!r} differs from its most common value ({mode:g}) in only {n_support} of {n_units} "
                f"{unit}{few}: its share and interval rest on those {unit} (expect a wide interval); "
                "consider merging it into a broader variable or dropping it",
            )
        )
    return out


def flag_sparse_nodes(scm: Any, nodes: list[Any] | None = None, *, min_support: int = MIN_SUPPORT) -> list[SparseNode]:
    """Sparse node columns of a FittedSCM (all nodes, or `nodes`), counted in periods when it has a time column."""
    cols = scm.order if nodes is None else [n for n in scm.order if n in set(nodes)]
    return sparse_columns(scm.data[cols], scm.periods, min_support=min_support)
