"""Input checks at the engine boundary: every error names the node or column at fault and the fix."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import networkx as nx
    import numpy as np
    import pandas as pd

GraphLike: TypeAlias = "nx.DiGraph | Iterable[tuple[Any, Any]]"


def as_digraph(graph: GraphLike) -> nx.DiGraph:
    """Return a networkx DiGraph from a DiGraph or an iterable of (parent, child) edges."""
    import networkx as nx

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
    import networkx as nx

    keep = nx.ancestors(graph, target) | {target}
    sub = graph.subgraph(keep)
    return list(nx.lexicographical_topological_sort(sub, key=str))


def check_dag(parents: Mapping[Any, Iterable[Any]]) -> None:
    """Check the graph given as ``{node: its parents}`` is a non-empty DAG; raise ValueError naming a self-loop or
    a cycle's nodes otherwise. Plain Python: the meta parser runs it when the definitions load, without networkx."""
    graph = {node: tuple(ps) for node, ps in parents.items()}
    for ps in list(graph.values()):
        for p in ps:
            graph.setdefault(p, ())
    if not graph:
        raise ValueError("graph has no nodes: give at least one (parent, child) edge")
    for node, ps in graph.items():
        if node in ps:
            raise ValueError(f"graph has a self-loop on node {node!r}: remove the edge {node!r} -> {node!r}")
    state: dict[Any, int] = {}  # 1: on the current path, 2: done
    for start in graph:
        if start in state:
            continue
        path: list[Any] = [start]
        todo: list[Iterable[Any]] = [iter(graph[start])]
        state[start] = 1
        while todo:
            parent = next(iter(todo[-1]), _DONE)  # walk towards the roots: a cycle is one either way
            if parent is _DONE:
                state[path.pop()] = 2
                todo.pop()
            elif state.get(parent) == 1:
                names = path[path.index(parent) :][::-1]  # parent -> ... -> child order
                route = " -> ".join(map(repr, names + [names[0]]))
                raise ValueError(
                    f"graph has a cycle through nodes {', '.join(map(repr, names))} ({route}): "
                    "the causal graph must be acyclic; remove or reverse one of these edges"
                )
            elif parent not in state:
                state[parent] = 1
                path.append(parent)
                todo.append(iter(graph[parent]))


_DONE = object()


def ancestors_of(parents: Mapping[Any, Iterable[Any]], node: Any) -> set[Any]:
    """Every node with a directed path into ``node`` (``parents``: ``{node: its parents}``)."""
    seen: set[Any] = set()
    todo = list(parents.get(node, ()))
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo.extend(parents.get(p, ()))
    return seen


def check_target(parents: Mapping[Any, Iterable[Any]], target: Any) -> None:
    """Check the graph (``{node: its parents}``) is a DAG holding ``target`` with at least one ancestor.

    The one graph check shared by the engine (:func:`validate_target`) and the plugin's meta parser."""
    check_dag(parents)
    nodes = set(parents) | {p for ps in parents.values() for p in ps}
    if target not in nodes:
        raise ValueError(
            f"target {target!r} is not a node of the graph (nodes: {sorted(map(str, nodes))}): "
            "add edges into the target or fix its name"
        )
    if not ancestors_of(parents, target):
        raise ValueError(
            f"target {target!r} has no ancestors in the graph: add edges from its causes "
            "into it (ICI attributes the target's variance to upstream nodes)"
        )


def _parents(g: nx.DiGraph) -> dict[Any, tuple[Any, ...]]:
    return {node: tuple(g.predecessors(node)) for node in g.nodes}


def validate_graph(graph: GraphLike) -> nx.DiGraph:
    """Check the graph is a DAG; raise ValueError naming a cycle's nodes otherwise."""
    g = as_digraph(graph)
    check_dag(_parents(g))
    return g


def validate_inputs(data: pd.DataFrame, graph: GraphLike, target: Any) -> nx.DiGraph:
    """Raise ValueError naming the offending node/column if data, graph or target cannot be used.

    Checks: DAG, target in graph with ancestors, every graph node a numeric, finite, non-constant
    column, and enough rows. Returns the graph as a DiGraph.
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    g = validate_target(graph, target)
    if target in data.columns:  # before validate_data: its error for a categorical non-root would be misleading
        check_numeric_target(data[target], target)
    validate_data(data, g)
    return g


def check_numeric_target(column: pd.Series, target: Any) -> None:
    """Refuse a categorical target: ICI splits the target's variance, which a string or boolean column has not."""
    from .categorical import is_categorical

    if is_categorical(column):
        raise ValueError(
            f"target {target!r} is categorical (dtype {column.dtype}): ICI splits the variance of a numeric target; "
            "choose a numeric target (e.g. revenue, or the 0/1 rate of the level you care about as a float column)"
        )


def categorical_with_parents(node: Any, parents: list[Any]) -> ValueError:
    """The error for a categorical node with parents: say what to do."""
    return ValueError(
        f"node {node!r} is categorical (a string or boolean column) but has parents {sorted(map(str, parents))}: "
        "a categorical node must be a root (its share is the variance its levels explain downstream). Remove its "
        "parents in the graph, or give the node as a number (a 0/1 float column for one level, or a score) if "
        "other nodes cause it"
    )


def validate_target(graph: GraphLike, target: Any) -> nx.DiGraph:
    """Check the graph is a DAG holding ``target`` with at least one ancestor; return it as a DiGraph."""
    g = as_digraph(graph)
    check_target(_parents(g), target)
    return g


def validate_data(data: pd.DataFrame, graph: GraphLike) -> nx.DiGraph:
    """Check every graph node is a numeric, finite, non-constant column, or a categorical root (a string or boolean
    column without missing values and with at least two levels), and there are enough rows."""
    import numpy as np
    import pandas as pd

    from .categorical import is_categorical

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
        if is_categorical(col):
            _check_categorical(col, n, list(g.predecessors(n)))
            continue
        if not pd.api.types.is_numeric_dtype(col.dtype):
            raise ValueError(
                f"column {n!r} has non-numeric dtype {col.dtype}: cast it to a float or integer column, or to "
                "text for a categorical root (e.g. in the dbt model), before computing ICI"
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


def _check_categorical(col: pd.Series, node: Any, parents: list[Any]) -> None:
    """A categorical node: a root, no missing values, at least two levels, each in enough rows (the fit counts
    periods when it has a time column)."""
    from .categorical import check_levels

    if parents:
        raise categorical_with_parents(node, parents)
    n_missing = int(col.isna().sum())
    if n_missing:
        raise ValueError(
            f"categorical column {node!r} has {n_missing} missing value(s) out of {len(col)} rows: fill them with "
            "a level of their own (e.g. 'none') or drop those rows before computing ICI"
        )
    if col.nunique() < 2:
        raise ValueError(
            f"categorical column {node!r} has a single level in every row: a constant node "
            "carries no variance; drop it from the graph or supply varying data"
        )
    check_levels(col, node, None)


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
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(times, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)
