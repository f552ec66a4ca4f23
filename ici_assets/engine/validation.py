"""Input checks at the engine boundary: every error names the node or column at fault and the fix."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

import networkx as nx
import numpy as np
import pandas as pd

GraphLike: TypeAlias = nx.DiGraph | Iterable[tuple[Any, Any]]


def as_digraph(graph: GraphLike) -> nx.DiGraph:
    """Return a networkx DiGraph from a DiGraph or an iterable of (parent, child) edges."""
    if isinstance(graph, nx.DiGraph):
        return nx.DiGraph(graph)
    if isinstance(graph, nx.Graph):
        raise ValueError("graph must be directed: pass a networkx DiGraph or (parent, child) edges")
    g = nx.DiGraph()
    for edge in graph:
        try:
            parent, child = edge
        except (TypeError, ValueError):
            raise ValueError(
                f"graph edge {edge!r} is not a (parent, child) pair: pass a DiGraph or an iterable of 2-tuples"
            ) from None
        g.add_edge(parent, child)
    return g


def min_rows(graph: nx.DiGraph, nodes: Iterable[Any] | None = None) -> int:
    """Minimum number of rows we accept: max(30, 5 * (max number of parents + 1))."""
    nodes = list(graph.nodes) if nodes is None else list(nodes)
    max_par = max((graph.in_degree(n) for n in nodes), default=0)
    return max(30, 5 * (max_par + 1))


def relevant_nodes(graph: nx.DiGraph, target: Any) -> list[Any]:
    """Target and its ancestors in a deterministic topological order (ties broken by name)."""
    keep = nx.ancestors(graph, target) | {target}
    sub = graph.subgraph(keep)
    return list(nx.lexicographical_topological_sort(sub, key=str))


def validate_graph(graph: GraphLike) -> nx.DiGraph:
    """Check the graph is a DAG; raise ValueError naming a cycle's nodes otherwise."""
    g = as_digraph(graph)
    if g.number_of_nodes() == 0:
        raise ValueError("graph has no nodes: give at least one (parent, child) edge")
    selfloops = list(nx.selfloop_edges(g))
    if selfloops:
        node = selfloops[0][0]
        raise ValueError(f"graph has a self-loop on node {node!r}: remove the edge {node!r} -> {node!r}")
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return g
    names = [u for u, _ in cycle]
    path = " -> ".join(map(repr, names + [names[0]]))
    raise ValueError(
        f"graph has a cycle through nodes {', '.join(map(repr, names))} ({path}): "
        "the causal graph must be acyclic; remove or reverse one of these edges"
    )


def validate_inputs(data: pd.DataFrame, graph: GraphLike, target: Any) -> nx.DiGraph:
    """Raise ValueError naming the offending node/column if data, graph or target cannot be used.

    Checks: DAG, target in graph with ancestors, every graph node a numeric, finite, non-constant
    column, and enough rows. Returns the graph as a DiGraph.
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    g = validate_target(graph, target)
    validate_data(data, g)
    return g


def validate_target(graph: GraphLike, target: Any) -> nx.DiGraph:
    """Check the graph is a DAG holding ``target`` with at least one ancestor; return it as a DiGraph.

    The one graph check shared by the engine and the plugin's meta parser (no data needed).
    """
    g = validate_graph(graph)
    if target not in g:
        raise ValueError(
            f"target {target!r} is not a node of the graph (nodes: {sorted(map(str, g.nodes))}): "
            "add edges into the target or fix its name"
        )
    if not nx.ancestors(g, target):
        raise ValueError(
            f"target {target!r} has no ancestors in the graph: add edges from its causes "
            "into it (ICI attributes the target's variance to upstream nodes)"
        )
    return g


def validate_data(data: pd.DataFrame, graph: GraphLike) -> nx.DiGraph:
    """Check every graph node is a numeric, finite, non-constant column and there are enough rows."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    g = validate_graph(graph)
    missing = [n for n in g.nodes if n not in data.columns]
    if missing:
        raise ValueError(
            f"column(s) {', '.join(map(repr, missing))} missing from data for graph node(s) of the same "
            f"name: add the column(s) or remove the node(s) from the graph (data has {list(data.columns)})"
        )
    for n in g.nodes:
        col = data[n]
        if isinstance(col, pd.DataFrame):
            raise ValueError(f"column {n!r} appears more than once in data: make column names unique")
        if pd.api.types.is_bool_dtype(col.dtype) or not pd.api.types.is_numeric_dtype(col.dtype):
            raise ValueError(
                f"column {n!r} has non-numeric dtype {col.dtype}: cast it to a float or integer "
                "column (e.g. in the dbt model) before computing ICI"
            )
        values = col.to_numpy(dtype=float, na_value=np.nan)
        n_nan = int(np.isnan(values).sum())
        if n_nan:
            raise ValueError(
                f"column {n!r} has {n_nan} NaN/NULL value(s) out of {len(values)} rows: drop or impute "
                "those rows before computing ICI"
            )
        n_inf = int(np.isinf(values).sum())
        if n_inf:
            raise ValueError(
                f"column {n!r} has {n_inf} infinite value(s) out of {len(values)} rows: drop or fix "
                "those rows before computing ICI"
            )
        if len(values) and np.ptp(values) == 0:
            raise ValueError(
                f"column {n!r} is constant ({float(values[0]):g} in every row): a constant node carries no "
                "variance; drop it from the graph or supply varying data"
            )
    need = min_rows(g)
    if len(data) < need:
        raise ValueError(
            f"data has {len(data)} rows but at least {need} are needed for this graph "
            f"(max(30, 5 x (max parents + 1))); the node with most parents is "
            f"{max(g.nodes, key=lambda n: g.in_degree(n))!r}: add rows or simplify the graph"
        )
    return g


def validate_time_column(data: pd.DataFrame, time_column: Any, graph: nx.DiGraph) -> None:
    """Check the time column exists, is not a graph node and has no missing values."""
    if time_column not in data.columns:
        raise ValueError(
            f"time column {time_column!r} is not a column of data (columns: {list(data.columns)}): "
            "pass the name of the column holding each row's period, or time_column=None"
        )
    if time_column in graph:
        raise ValueError(f"time column {time_column!r} is also a node of the graph: a period cannot be a cause")
    n_missing = int(data[time_column].isna().sum())
    if n_missing:
        raise ValueError(
            f"time column {time_column!r} has {n_missing} missing value(s) out of {len(data)} rows: "
            "every row needs its period for the block bootstrap"
        )


def period_codes(times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row: index of its period among the sorted distinct periods, the sorted distinct periods)."""
    codes, uniques = pd.factorize(times, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)
