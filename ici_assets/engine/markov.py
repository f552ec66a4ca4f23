"""Local Markov check of the graph against the data with partial correlations (Fisher z).

For each node X and each non-descendant Z that is not a parent: H0 "X independent of Z given
parents(X)". Linear-Gaussian test: it sees only linear dependence. One correlation matrix, then
small matrix inversions, so it is fast (milliseconds at 20,000 rows). A categorical root enters as its treatment
dummies: in a conditioning set all of them; as X or Z each one, the statement's p-value the smallest of its
dummies' times their number (Bonferroni), its partial correlation the largest in size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

from .categorical import is_categorical, levels_of
from .scm import ordered_parents
from .validation import GraphLike, validate_data


def local_markov_test(data: pd.DataFrame, graph: GraphLike, alpha: float = 0.01) -> pd.DataFrame:
    """One row per statement X _||_ Z | parents(X): partial correlation, Fisher-z p-value, and
    `rejected` (p < alpha) plus `rejected_bonferroni` (p * number of statements < alpha)."""
    g = validate_data(data, graph)
    nodes = list(nx.lexicographical_topological_sort(g, key=str))
    pos = {n: i for i, n in enumerate(nodes)}
    X, cols = _columns(data, nodes)
    n = len(X)
    C = np.corrcoef(X, rowvar=False)
    rows: list[dict[str, Any]] = []
    for x in nodes:
        pars = ordered_parents(g, x)
        others = set(nodes) - nx.descendants(g, x) - set(pars) - {x}
        given = [c for q in pars for c in cols[q]]
        for z in sorted(others, key=lambda v: pos[v]):
            tests = [(i, j) for i in cols[x] for j in cols[z]]
            p, r = 1.0, 0.0
            for i, j in tests:
                idx = [i, j] + given
                prec = np.linalg.pinv(C[np.ix_(idx, idx)])
                r_ij = float(np.clip(-prec[0, 1] / np.sqrt(prec[0, 0] * prec[1, 1]), -0.999999, 0.999999))
                dof = n - len(given) - 3
                zstat = np.arctanh(r_ij) * np.sqrt(max(dof, 1))
                p = min(p, float(2 * stats.norm.sf(abs(zstat))) * len(tests))
                r = r_ij if abs(r_ij) > abs(r) else r
            rows.append(
                {"node": x, "independent_of": z, "given": ", ".join(map(str, pars)), "partial_corr": r, "p_value": p}
            )
    out = pd.DataFrame(rows, columns=["node", "independent_of", "given", "partial_corr", "p_value"])
    m = max(len(out), 1)
    out["rejected"] = out["p_value"] < alpha
    out["rejected_bonferroni"] = out["p_value"] * m < alpha
    out.attrs["alpha"] = alpha
    return out


def _columns(data: pd.DataFrame, nodes: list[Any]) -> tuple[np.ndarray, dict[Any, list[int]]]:
    """The numeric matrix of the test (a categorical node as its dummies) and each node's columns in it."""
    parts: list[np.ndarray] = []
    cols: dict[Any, list[int]] = {}
    for node in nodes:
        column = data[node]
        if is_categorical(column):
            values = column.to_numpy(dtype=object)
            block = np.column_stack([values == level for level in levels_of(column)[1:]]).astype(float)
        else:
            block = column.to_numpy(dtype=float)[:, None]
        cols[node] = list(range(sum(b.shape[1] for b in parts), sum(b.shape[1] for b in parts) + block.shape[1]))
        parts.append(block)
    return np.hstack(parts), cols


def _rejection(data: pd.DataFrame, graph: nx.DiGraph, alpha: float, min_abs_corr: float) -> tuple[int, float]:
    """(statements rejected at family-wise `alpha` with |partial corr| >= min_abs_corr, the sum of their z^2)."""
    table = local_markov_test(data, graph, alpha=alpha)
    if table.empty:
        return 0, 0.0
    bad = table["rejected_bonferroni"] & (table["partial_corr"].abs() >= min_abs_corr)
    n = len(data)
    given = table["node"].map(lambda x: graph.in_degree(x))
    z2 = np.arctanh(table["partial_corr"].to_numpy(float)) ** 2 * np.maximum(n - given.to_numpy() - 3, 1)
    return int(bad.sum()), float(z2[bad.to_numpy()].sum())


EDIT_COLUMNS = [
    "rank",
    "parent",
    "child",
    "statement",
    "p_value",
    "partial_corr",
    "rejected_before",
    "rejected_after",
    "z2_before",
    "z2_after",
]


def suggest_edits(
    data: pd.DataFrame,
    graph: GraphLike,
    alpha: float = 0.01,
    min_abs_corr: float = 0.0,
    *,
    roots: Iterable[Any] = (),
) -> pd.DataFrame:
    """Which edge the data contradict: for every statement X _||_ Z | parents(X) the local Markov test rejects (at
    family-wise `alpha`, Bonferroni, and |partial corr| >= `min_abs_corr`, as the graph check), the edges Z -> X and
    X -> Z that keep the graph acyclic, each re-tested: one row per edit, ranked by the rejection left after it
    (statements still rejected, then their sum of squared Fisher z), best first. Empty when nothing is rejected.
    `roots`: nodes the time order keeps without causes in the data (spend set before the period): no edit adds a
    parent to them."""
    g = validate_data(data, graph)
    fixed = set(roots)
    unknown = sorted(map(str, fixed - set(g.nodes)))
    if unknown:
        raise ValueError(f"roots {unknown!r} are not nodes of the graph: fix the names")
    table = local_markov_test(data, g, alpha=alpha)
    bad = table[table["rejected_bonferroni"] & (table["partial_corr"].abs() >= min_abs_corr)]
    n_before, z2_before = _rejection(data, g, alpha, min_abs_corr)
    rows: list[dict[str, Any]] = []
    seen: set[tuple[Any, Any]] = set()
    for _, st in bad.iterrows():
        x, z = st["node"], st["independent_of"]
        for parent, child in ((z, x), (x, z)):
            if (parent, child) in seen or child in fixed or g.has_edge(parent, child) or nx.has_path(g, child, parent):
                continue
            seen.add((parent, child))
            edited = nx.DiGraph(g)
            edited.add_edge(parent, child)
            n_after, z2_after = _rejection(data, edited, alpha, min_abs_corr)
            rows.append(
                {
                    "parent": parent,
                    "child": child,
                    "statement": f"{x} _||_ {z} | {st['given'] or '{}'}",
                    "p_value": float(st["p_value"]),
                    "partial_corr": float(st["partial_corr"]),
                    "rejected_before": n_before,
                    "rejected_after": n_after,
                    "z2_before": z2_before,
                    "z2_after": z2_after,
                }
            )
    out = pd.DataFrame(rows, columns=EDIT_COLUMNS[1:])
    out = out.sort_values(["rejected_after", "z2_after"], kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
