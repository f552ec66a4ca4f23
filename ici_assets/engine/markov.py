"""Local Markov check of the graph against the data with partial correlations (Fisher z).

For each node X and each non-descendant Z that is not a parent: H0 "X independent of Z given
parents(X)". Linear-Gaussian test: it sees only linear dependence. One correlation matrix, then
small matrix inversions, so it is fast (milliseconds at 20,000 rows).
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

from .scm import ordered_parents
from .validation import GraphLike, validate_data


def local_markov_test(data: pd.DataFrame, graph: GraphLike, alpha: float = 0.01) -> pd.DataFrame:
    """One row per statement X _||_ Z | parents(X): partial correlation, Fisher-z p-value, and
    `rejected` (p < alpha) plus `rejected_bonferroni` (p * number of statements < alpha)."""
    g = validate_data(data, graph)
    nodes = list(nx.lexicographical_topological_sort(g, key=str))
    pos = {n: i for i, n in enumerate(nodes)}
    X = data[nodes].to_numpy(dtype=float)
    n = len(X)
    C = np.corrcoef(X, rowvar=False)
    rows: list[dict[str, Any]] = []
    for x in nodes:
        pars = ordered_parents(g, x)
        others = set(nodes) - nx.descendants(g, x) - set(pars) - {x}
        for z in sorted(others, key=lambda v: pos[v]):
            idx = [pos[x], pos[z]] + [pos[p] for p in pars]
            prec = np.linalg.pinv(C[np.ix_(idx, idx)])
            r = float(np.clip(-prec[0, 1] / np.sqrt(prec[0, 0] * prec[1, 1]), -0.999999, 0.999999))
            dof = n - len(pars) - 3
            zstat = np.arctanh(r) * np.sqrt(max(dof, 1))
            p = float(2 * stats.norm.sf(abs(zstat)))
            rows.append(
                {"node": x, "independent_of": z, "given": ", ".join(map(str, pars)), "partial_corr": r, "p_value": p}
            )
    out = pd.DataFrame(rows, columns=["node", "independent_of", "given", "partial_corr", "p_value"])
    m = max(len(out), 1)
    out["rejected"] = out["p_value"] < alpha
    out["rejected_bonferroni"] = out["p_value"] * m < alpha
    out.attrs["alpha"] = alpha
    return out
