"""Fitting additive noise models X_j = f_j(parents) + N_j: the FittedSCM holds one mechanism per node."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ._threads import serial
from .categorical import CategoricalParents, check_levels, encode, is_categorical, levels_of
from .mechanisms import KINDS, NONLINEAR_KINDS, LinearMechanism, Mechanism, make_mechanism, normalize_kind
from .selection import Selection, choose_kind
from .validation import (
    GraphLike,
    categorical_with_parents,
    period_codes,
    relevant_nodes,
    validate_data,
    validate_time_column,
)

MechanismSpec = str | Mapping[Any, str]


def ordered_parents(graph: nx.DiGraph, node: Any) -> list[Any]:
    """Parents in DoWhy's order (sorted), so fitted mechanisms plug into dowhy.gcm unchanged."""
    preds = list(graph.predecessors(node))
    try:
        return sorted(preds)
    except TypeError:
        return sorted(preds, key=str)


@dataclass
class FittedSCM:
    """A fitted additive-noise SCM: graph, one mechanism per node, residual noises, R^2. Picklable.

    Roots are their empirical distribution (noise = the column itself). A categorical root (a string or boolean
    column) is held in ``data`` as codes 0..K-1 of its levels, ``categories[node]``; its children see it as dummies
    (:mod:`categorical`). `calibration` is set on a model
    calibrated to lift tests (:func:`calibration.calibrate_scm`): which coefficients moved, and by how much.
    `periods` holds each row's period code (0..n_periods-1, in time order) when the model was fitted with a
    time column, so the bootstrap can resample blocks of consecutive periods; `period_values` the matching time values.
    """

    graph: nx.DiGraph
    order: list[Any]
    parents: dict[Any, list[Any]]
    mechanisms: dict[Any, Mechanism]
    noise: dict[Any, np.ndarray]
    r2: dict[Any, float]
    data: pd.DataFrame
    selection: dict[Any, Selection] = field(default_factory=dict)
    seed: int = 0
    periods: np.ndarray | None = None
    period_values: np.ndarray | None = None
    time_column: Any = None
    transforms: dict[Any, Any] = field(default_factory=dict)
    transform_flags: dict[Any, list[str]] = field(default_factory=dict)
    transform_state: Any = field(default=None, repr=False)
    calibration: Any = field(default=None, repr=False)
    categories: dict[Any, tuple[Any, ...]] = field(default_factory=dict)
    #: learned-transform node -> its spend lag matrix (rows x lags 0..max_lag, row-aligned with ``data``; column 0
    #: the spend itself): what an intervention on its spend needs (:meth:`spend`, :meth:`carried`)
    spend_lags: dict[Any, np.ndarray] = field(default_factory=dict, repr=False)
    #: each row's unit (the values of ``unit_column``, row-aligned with ``data``) when fitted with one: where a lift
    #: test on one unit ran, and whose carryover window a spend change reaches (:mod:`calibration`)
    row_units: np.ndarray | None = field(default=None, repr=False)

    @property
    def kinds(self) -> dict[Any, str]:
        """Mechanism kind per node: root, linear, poly2, spline or hgb."""
        return {n: m.kind for n, m in self.mechanisms.items()}

    @property
    def roots(self) -> list[Any]:
        """Nodes without parents, in topological order."""
        return [n for n in self.order if not self.parents[n]]

    @property
    def n_periods(self) -> int | None:
        return None if self.period_values is None else len(self.period_values)

    def is_linear(self, nodes: list[Any] | None = None) -> bool:
        """True if every non-root node among `nodes` (default: all) has a linear mechanism of numeric parents (a
        categorical root and its children have no single coefficient per edge: see :meth:`is_linear_in_levels`)."""
        return all(
            isinstance(self.mechanisms[n], LinearMechanism) or (self.kinds[n] == "root" and n not in self.categories)
            for n in (self.order if nodes is None else nodes)
        )

    def is_linear_in_levels(self, nodes: list[Any] | None = None) -> bool:
        """True if every non-root node among `nodes` (default: all) is linear in its numeric parents and in the
        dummies of its categorical parents: the ICI is closed form (:func:`effects.linear_ici`)."""
        return all(
            self.kinds[n] == "root"
            or isinstance(self.mechanisms[n], LinearMechanism)
            or (isinstance(self.mechanisms[n], CategoricalParents) and self.kinds[n] == "linear")
            for n in (self.order if nodes is None else nodes)
        )

    def linear_coefficients(self, node: Any) -> dict[Any, float]:
        """Fitted coefficient of each parent for a linear node."""
        mech = self.mechanisms[node]
        if isinstance(mech, CategoricalParents):
            coded = [p for p in self.parents[node] if p in self.categories]
            raise ValueError(
                f"node {node!r} has categorical parent(s) {coded!r}: their effect is one coefficient per level, not "
                "per edge (see effects.level_effects); this use needs numeric parents"
            )
        if not isinstance(mech, LinearMechanism):
            raise ValueError(f"node {node!r} has a {mech.kind!r} mechanism, not linear")
        return {p: float(c) for p, c in zip(self.parents[node], mech.coef_)}

    def spend(self, node: Any) -> np.ndarray:
        """The node's observed values per row: its spend for a node with learned transforms (whose ``data`` column
        holds the transformed series), else its column."""
        if node in self.spend_lags:
            return np.asarray(self.spend_lags[node][:, 0], dtype=float)
        return self.data[node].to_numpy(dtype=float)

    def transform_identified(self, node: Any) -> bool | None:
        """Whether the data identify the node's learned carryover and saturation (False: flagged in
        ``transform_flags``, its decisions extrapolate a fit the data cannot pin down); None without learned ones."""
        if node not in self.transforms:
            return None
        return not self.transform_flags.get(node)

    def carried(self, node: Any) -> np.ndarray:
        """The carryover level of a learned-transform node per row (spend units; linear in the spend, so scaling
        every period's spend by f scales it by f): ``data[node]`` is the saturation of it."""
        if node not in self.spend_lags:
            raise ValueError(f"node {node!r} has no learned transforms: fit_scm(transforms={{{node!r}: ...}}) first")
        return np.asarray(self.transforms[node].level(self.spend_lags[node]), dtype=float)

    def predict(self, node: Any, parent_values: np.ndarray) -> np.ndarray:
        """f_j(parents) for a 2-D array of parent values (columns in `parents[node]` order)."""
        return self.mechanisms[node].predict(parent_values)

    def encode_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` of the node table with each categorical node as the codes of its levels (an unseen level
        raises, naming it): the form the mechanisms take."""
        if not self.categories:
            return rows
        out = rows.copy()
        for node, levels in self.categories.items():
            if node in out.columns:
                unseen = sorted(set(map(str, out[node].dropna())) - set(map(str, levels)))
                if unseen:
                    raise ValueError(
                        f"categorical node {node!r} has level(s) {unseen!r} the model was not fitted on "
                        f"(its levels: {list(levels)}): refit the model on data holding them"
                    )
                out[node] = encode(out[node], levels)
        return out

    def noise_variance(self, node: Any) -> float:
        """Variance (ddof=0) of the node's noise: residuals for non-roots, the column for roots."""
        return float(np.var(self.noise[node]))

    def restricted(self, nodes: list[Any]) -> FittedSCM:
        """The sub-model on `nodes` (a topological order closed under parents), e.g. a target's ancestors."""
        if list(nodes) == self.order:
            return self
        keep = set(nodes)
        return replace(
            self,
            graph=nx.DiGraph(self.graph.subgraph(keep)),
            order=list(nodes),
            parents={n: self.parents[n] for n in nodes},
            mechanisms={n: self.mechanisms[n] for n in nodes},
            noise={n: self.noise[n] for n in nodes},
            r2={n: self.r2[n] for n in nodes},
            data=self.data[list(nodes)],
            selection={n: s for n, s in self.selection.items() if n in keep},
            categories={n: levels for n, levels in self.categories.items() if n in keep},
            spend_lags={n: v for n, v in self.spend_lags.items() if n in keep},
        )

    def refit(self, rows: np.ndarray) -> FittedSCM:
        """The same kinds refitted on the given rows (with repeats): one bootstrap resample. Learned transforms
        keep their families and refit their parameters on the same rows (each row's lag window from the original
        series), so the resample's transformed series carry the parameters' uncertainty. A model calibrated to lift
        tests is calibrated again on the resample (``Calibration.reapply``)."""
        data, transforms = self.data, self.transforms
        if self.transform_state is not None:  # learned transforms: their parameters refitted on the resample too
            columns, transforms = self.transform_state.refit(rows)
            data = data.copy()
            for node, column in columns.items():
                if node in data.columns:
                    data[node] = column
        sample = data.iloc[rows].reset_index(drop=True)
        mechs = {n: m.clone() for n, m in self.mechanisms.items()}
        with serial():
            noise, r2 = _fit_all(sample.to_numpy(dtype=float), self.order, self.parents, mechs)
        periods = None if self.periods is None else self.periods[rows]
        out = replace(
            self,
            mechanisms=mechs,
            noise=noise,
            r2=r2,
            data=sample,
            selection={},
            periods=periods,
            transforms=transforms,
            transform_state=None,
            spend_lags={n: v[rows] for n, v in self.spend_lags.items()},
            row_units=None if self.row_units is None else self.row_units[rows],
        )
        # calibrated to lift tests: calibrate the resample again, each lift redrawn within its standard error
        return out if self.calibration is None else self.calibration.reapply(out, rows)

    def to_dowhy(self) -> Any:
        """Return a fitted dowhy.gcm.InvertibleStructuralCausalModel wrapping the same mechanisms."""
        from .interop import to_dowhy

        return to_dowhy(self)


def _resolve_specs(graph: nx.DiGraph, mechanisms: MechanismSpec) -> dict[Any, str]:
    """Per-node mechanism spec ('auto', 'nonlinear' or a kind) from a string or a {node: kind} dict."""
    if isinstance(mechanisms, Mapping):
        unknown = [n for n in mechanisms if n not in graph]
        if unknown:
            raise ValueError(f"mechanisms given for node(s) {unknown!r} not in the graph: fix the names")
        return {n: normalize_kind(mechanisms.get(n, "auto")) for n in graph.nodes}
    spec = normalize_kind(mechanisms)
    return {n: spec for n in graph.nodes}


def _candidates(spec: str) -> tuple[str, ...]:
    return KINDS if spec == "auto" else NONLINEAR_KINDS if spec == "nonlinear" else (spec,)


def _fit_all(
    X: np.ndarray, order: list[Any], parents: dict[Any, list[Any]], mechs: dict[Any, Mechanism]
) -> tuple[dict[Any, np.ndarray], dict[Any, float]]:
    """Fit every node's mechanism on X (columns in `order`); return noises and R^2.

    Linear nodes are fitted from one covariance matrix of all columns (one pass over the data)."""
    col = {n: i for i, n in enumerate(order)}
    linear = [i for i, n in enumerate(order) if isinstance(mechs[n], LinearMechanism)]
    mean, cov = _moments(X, linear + [col[p] for i in linear for p in parents[order[i]]])
    noise: dict[Any, np.ndarray] = {}
    r2: dict[Any, float] = {}
    for i, n in enumerate(order):
        y = X[:, i]
        P = [col[p] for p in parents[n]]
        Xp = X[:, P]
        mech = mechs[n]
        if isinstance(mech, LinearMechanism):
            mech.fit_moments(mean[P], cov[np.ix_(P, P)], mean[i], cov[P, i])
        else:
            mech.fit(Xp, y)
        noise[n] = mech.noise(Xp, y)
        var = y.var()
        r2[n] = float("nan") if not parents[n] else float(1.0 - noise[n].var() / var) if var > 0 else 0.0
    return noise, r2


def _moments(X: np.ndarray, cols: list[int], chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """Column means and covariance (ddof=0) of X, in chunks of rows; only `cols` are needed (others 0)."""
    d = X.shape[1]
    keep = sorted(set(cols))
    mean, cov = X.mean(axis=0), np.zeros((d, d))
    if keep:
        acc = np.zeros((len(keep), len(keep)))
        for s in range(0, len(X), chunk):
            Z = X[s : s + chunk, keep] - mean[keep]
            acc += Z.T @ Z
        cov[np.ix_(keep, keep)] = acc / max(len(X), 1)
    return mean, cov


def fit_scm(
    data: pd.DataFrame,
    graph: GraphLike,
    *,
    mechanisms: MechanismSpec = "auto",
    seed: int = 0,
    nodes: list[Any] | None = None,
    validate: bool = True,
    time_column: Any = None,
    transforms: Mapping[Any, Any] | None = None,
    unit_column: Any = None,
    levels: Mapping[Any, Any] | None = None,
) -> FittedSCM:
    """Fit an additive noise model for every non-root node (roots: empirical distribution).

    `mechanisms`: "linear", "nonlinear", "auto" or {node: kind}; "auto"/"nonlinear" pick the kind per
    node by held-out error (see `selection`). `nodes` restricts fitting to a set closed under taking
    parents. `time_column`: a column of `data` (not a node) holding each row's period (date, week,
    month...); it is recorded so the bootstrap resamples blocks of consecutive periods. Columns that
    are not graph nodes are ignored.

    `transforms`: learned carryover and saturation of root spend nodes, {node: {"carryover": kind, "saturation":
    kind}} (see :func:`transformfit.fit_transforms`; `unit_column` names the unit, e.g. region, so windows stay
    within a unit). Their parameters are fitted first, jointly with the children's linear parts; the fitted SCM
    then holds each such node as its transformed series (what its children respond to: its ICI is that series'
    influence), and records the transforms in ``transforms`` and what is not identified in ``transform_flags``.
    The bootstrap of the shares refits the parameters on every resample (see ``refit``), so their intervals
    include the parameters' uncertainty.

    A string or boolean node column is a categorical root (see :mod:`categorical`); `levels`: {node: levels} fixes
    a categorical node's levels (a superset of the data's, sorted), so that two fits compared (a change
    attribution) code the levels alike.
    """
    g = validate_data(data, graph) if validate else nx.DiGraph(graph)
    periods, period_values = None, None
    if time_column is not None:
        validate_time_column(data, time_column, g)
        periods, period_values = period_codes(data[time_column])
    specs = _resolve_specs(g, mechanisms)
    if nodes is not None:
        keep = set(nodes)
        missing = {p for n in keep for p in g.predecessors(n)} - keep
        if missing:
            raise ValueError(f"nodes must include all their parents; missing {sorted(map(str, missing))}")
        g = nx.DiGraph(g.subgraph(keep))
    order = relevant_nodes_all(g)
    frame = data[order]
    categories = _categories(data, g, order, periods, levels or {})
    if categories:
        if transforms:
            _refuse_transforms_with_categories(g, transforms, categories)
        frame = frame.copy()
        for node, node_levels in categories.items():
            frame[node] = encode(data[node], node_levels)
    learned_transforms: dict[Any, Any] = {}
    flags: dict[Any, list[str]] = {}
    state = None
    if transforms:
        from .transformfit import learn_transforms

        learned = learn_transforms(data, g, transforms, time_column=time_column, unit_column=unit_column)
        frame = frame.copy()
        for node, column in learned.columns.items():
            frame[node] = column
        learned_transforms, flags, state = learned.transforms, learned.flags, learned
    X = frame.to_numpy(dtype=float)
    col = {n: i for i, n in enumerate(order)}
    parents = {n: ordered_parents(g, n) for n in order}
    mechs: dict[Any, Mechanism] = {}
    selection: dict[Any, Selection] = {}
    with serial():
        for i, n in enumerate(order):
            if not parents[n]:
                mechs[n] = make_mechanism("root")
                continue
            Xp = X[:, [col[p] for p in parents[n]]]
            coded = tuple(j for j, p in enumerate(parents[n]) if p in categories)
            wrap = CategoricalParents(
                make_mechanism("linear"), coded, tuple(len(categories[parents[n][j]]) for j in coded)
            )
            sel = choose_kind(
                wrap.expand(Xp) if coded else Xp, X[:, i], _candidates(specs[n]), seed=seed + i, periods=periods
            )
            if sel.mse:
                selection[n] = sel
            mechs[n] = make_mechanism(sel.kind, seed)
            if coded:
                mechs[n] = wrap.set_params(inner=mechs[n])
        noise, r2 = _fit_all(X, order, parents, mechs)
    return FittedSCM(
        g,
        order,
        parents,
        mechs,
        noise,
        r2,
        frame,
        selection,
        seed,
        periods,
        period_values,
        time_column,
        learned_transforms,
        flags,
        state,
        categories=categories,
        spend_lags={} if state is None else {n: state.problem.lags[n] for n in learned_transforms if n in col},
        row_units=data[unit_column].to_numpy() if unit_column is not None and unit_column in data.columns else None,
    )


def _categories(
    data: pd.DataFrame, g: nx.DiGraph, order: list[Any], periods: np.ndarray | None, given: Mapping[Any, Any]
) -> dict[Any, tuple]:
    """The levels of each categorical node (a root: :func:`validation.validate_data` refuses one with parents),
    after checking every level is seen in enough periods."""
    out: dict[Any, tuple] = {}
    for node in order:
        if is_categorical(data[node]):
            if g.in_degree(node):
                raise categorical_with_parents(node, list(g.predecessors(node)))
            out[node] = tuple(given[node]) if node in given else levels_of(data[node])
            unknown = sorted(set(map(str, levels_of(data[node]))) - set(map(str, out[node])))
            if unknown:
                raise ValueError(f"categorical node {node!r} has level(s) {unknown!r} not among the levels given")
            check_levels(data[node], node, periods, levels=out[node])  # a given level must be seen too
    return out


def _refuse_transforms_with_categories(g: nx.DiGraph, transforms: Mapping[Any, Any], categories: Mapping) -> None:
    """Learned transforms fit their children's linear parts on numeric parents: refuse a categorical co-parent."""
    for node in transforms:
        for child in g.successors(node) if node in g else ():
            shared = [p for p in g.predecessors(child) if p in categories]
            if shared:
                raise ValueError(
                    f"node {child!r} has learned transforms on its parent {node!r} and categorical parent(s) "
                    f"{shared!r}: learned carryover/saturation does not yet fit beside a categorical parent; "
                    f"declare {node!r}'s adstock in the dbt model instead, or drop the categorical edge"
                )


def relevant_nodes_all(graph: nx.DiGraph) -> list[Any]:
    """All nodes in a deterministic topological order (ties broken by name)."""
    return list(nx.lexicographical_topological_sort(graph, key=str))


__all__ = ["FittedSCM", "fit_scm", "ordered_parents", "relevant_nodes"]
