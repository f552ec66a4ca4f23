"""Fitting additive noise models X_j = f_j(parents) + N_j and the FittedSCM container."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import scipy.linalg
from sklearn.linear_model import LinearRegression

from ._threads import serial
from .mechanisms import candidates_for, make_regressor, normalize_kind, select_kind
from .validation import GraphLike, relevant_nodes, validate_data

MechanismSpec = str | Mapping[Any, str]


def ordered_parents(graph: nx.DiGraph, node: Any) -> list[Any]:
    """Parents in DoWhy's order (sorted), so fitted regressors plug into dowhy.gcm unchanged."""
    preds = list(graph.predecessors(node))
    try:
        return sorted(preds)
    except TypeError:
        return sorted(preds, key=str)


@dataclass
class FittedSCM:
    """A fitted additive-noise SCM: graph, per-node mechanism kind and regressor, residual noise, R^2.

    Roots are their empirical distribution (noise = the column itself). Picklable.
    """

    graph: nx.DiGraph
    order: list[Any]
    parents: dict[Any, list[Any]]
    kinds: dict[Any, str]
    estimators: dict[Any, Any]
    noise: dict[Any, np.ndarray]
    r2: dict[Any, float]
    data: pd.DataFrame
    selection_mse: dict[Any, dict[str, float]] = field(default_factory=dict)
    seed: int = 0

    @property
    def roots(self) -> list[Any]:
        """Nodes without parents, in topological order."""
        return [n for n in self.order if not self.parents[n]]

    def is_linear(self, nodes: list[Any] | None = None) -> bool:
        """True if every non-root node among `nodes` (default: all) has a linear mechanism."""
        nodes = self.order if nodes is None else nodes
        return all(self.kinds[n] in ("root", "linear") for n in nodes)

    def linear_coefficients(self, node: Any) -> dict[Any, float]:
        """Fitted coefficient of each parent for a linear node."""
        if self.kinds[node] != "linear":
            raise ValueError(f"node {node!r} has a {self.kinds[node]!r} mechanism, not linear")
        est = self.estimators[node]
        return {p: float(c) for p, c in zip(self.parents[node], est.coef_)}

    def predict(self, node: Any, parent_values: np.ndarray) -> np.ndarray:
        """f_j(parents) for a 2-D array of parent values (columns in `parents[node]` order)."""
        est = self.estimators[node]
        if self.kinds[node] == "linear":
            return parent_values @ est.coef_ + est.intercept_
        return np.asarray(est.predict(parent_values), dtype=float)

    def noise_variance(self, node: Any) -> float:
        """Variance (ddof=0) of the node's noise: residuals for non-roots, the column for roots."""
        return float(np.var(self.noise[node]))

    def to_dowhy(self) -> Any:
        """Return a fitted dowhy.gcm.InvertibleStructuralCausalModel wrapping the same regressors."""
        from dowhy import gcm
        from dowhy.gcm.causal_models import PARENTS_DURING_FIT
        from dowhy.graph import get_ordered_predecessors

        model = gcm.InvertibleStructuralCausalModel(nx.DiGraph(self.graph))
        for node in self.order:
            if not self.parents[node]:
                mech = gcm.EmpiricalDistribution()
                mech.fit(self.noise[node].reshape(-1, 1))
            else:
                if get_ordered_predecessors(model.graph, node) != self.parents[node]:
                    raise ValueError(f"parent order of node {node!r} differs from DoWhy's sorted order")
                mech = gcm.AdditiveNoiseModel(
                    gcm.ml.SklearnRegressionModel(self.estimators[node]),
                    noise_model=gcm.EmpiricalDistribution(),
                )
                mech.noise_model.fit(self.noise[node].reshape(-1, 1))
            model.set_causal_mechanism(node, mech)
            model.graph.nodes[node][PARENTS_DURING_FIT] = get_ordered_predecessors(model.graph, node)
        return model


def _resolve_specs(graph: nx.DiGraph, mechanisms: MechanismSpec) -> dict[Any, str]:
    """Per-node mechanism spec ('auto', 'nonlinear' or a kind) from a string or a {node: kind} dict."""
    if isinstance(mechanisms, Mapping):
        unknown = [n for n in mechanisms if n not in graph]
        if unknown:
            raise ValueError(f"mechanisms given for node(s) {unknown!r} not in the graph: fix the names")
        return {n: normalize_kind(mechanisms.get(n, "auto")) for n in graph.nodes}
    spec = normalize_kind(mechanisms)
    return {n: spec for n in graph.nodes}


def _linear_fits(
    X: np.ndarray, col: dict[Any, int], targets: list[tuple[Any, list[Any]]]
) -> dict[Any, LinearRegression]:
    """OLS for several nodes from one standardized Gram matrix (one pass over the data)."""
    if not targets:
        return {}
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    Z = (X - mu) / sd
    G = (Z.T @ Z) / len(Z)
    del Z
    out = {}
    for node, pars in targets:
        j = col[node]
        P = [col[p] for p in pars]
        A, b = G[np.ix_(P, P)], G[P, j]
        try:
            beta_s = scipy.linalg.solve(A, b, assume_a="pos")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            beta_s = np.linalg.lstsq(A, b, rcond=None)[0]
        coef = beta_s * sd[j] / sd[P]
        est = LinearRegression()
        est.coef_ = coef
        est.intercept_ = float(mu[j] - coef @ mu[P])
        est.n_features_in_ = len(P)
        est.rank_ = len(P)
        est.singular_ = np.ones(len(P))
        out[node] = est
    return out


def fit_scm(
    data: pd.DataFrame,
    graph: GraphLike,
    *,
    mechanisms: MechanismSpec = "auto",
    seed: int = 0,
    nodes: list[Any] | None = None,
    validate: bool = True,
) -> FittedSCM:
    """Fit an additive noise model for every non-root node (roots: empirical distribution).

    `mechanisms`: "linear", "nonlinear", "auto" or {node: kind}; "auto"/"nonlinear" pick the kind per
    node by held-out error. `nodes` restricts fitting to a set closed under taking parents.
    """
    g = validate_data(data, graph) if validate else nx.DiGraph(graph)
    specs = _resolve_specs(g, mechanisms)
    if nodes is None:
        order = relevant_nodes_all(g)
    else:
        keep = set(nodes)
        missing = {p for n in keep for p in g.predecessors(n)} - keep
        if missing:
            raise ValueError(f"nodes must include all their parents; missing {sorted(map(str, missing))}")
        g = nx.DiGraph(g.subgraph(keep))
        order = relevant_nodes_all(g)
    frame = data[order]
    X = frame.to_numpy(dtype=float)
    col = {n: i for i, n in enumerate(order)}
    parents = {n: ordered_parents(g, n) for n in order}
    kinds: dict[Any, str] = {}
    estimators: dict[Any, Any] = {}
    noise: dict[Any, np.ndarray] = {}
    r2: dict[Any, float] = {}
    selection: dict[Any, dict[str, float]] = {}
    linear_nodes = []
    with serial():
        _fit_nonlinear(X, order, col, parents, specs, seed, kinds, estimators, noise, r2, selection, linear_nodes)
    estimators.update(_linear_fits(X, col, linear_nodes))
    scm = FittedSCM(g, order, parents, kinds, estimators, noise, r2, frame, selection, seed)
    with serial():
        for i, n in enumerate(order):
            if kinds[n] == "root":
                continue
            y = X[:, i]
            resid = y - scm.predict(n, X[:, [col[p] for p in parents[n]]])
            noise[n] = resid
            r2[n] = float(1.0 - resid.var() / y.var())
    return scm


def _fit_nonlinear(X, order, col, parents, specs, seed, kinds, estimators, noise, r2, selection, linear_nodes) -> None:
    """Choose each node's kind and fit the nonlinear ones; linear ones are queued for one Gram pass."""
    for i, n in enumerate(order):
        pars = parents[n]
        if not pars:
            kinds[n], estimators[n], noise[n], r2[n] = "root", None, X[:, i].copy(), float("nan")
            continue
        Xp, y = X[:, [col[p] for p in pars]], X[:, i]
        kind, mse = select_kind(Xp, y, candidates_for(specs[n]), seed=seed + i)
        kinds[n] = kind
        if mse:
            selection[n] = mse
        if kind == "linear":
            linear_nodes.append((n, pars))
        else:
            estimators[n] = make_regressor(kind, seed).fit(Xp, y)


def relevant_nodes_all(graph: nx.DiGraph) -> list[Any]:
    """All nodes in a deterministic topological order (ties broken by name)."""
    return list(nx.lexicographical_topological_sort(graph, key=str))


__all__ = ["FittedSCM", "fit_scm", "ordered_parents", "relevant_nodes"]
