"""Learned carryover and saturation of spend nodes, with intervals: ``fit_transforms`` (the public entry point) and
``learn_transforms`` (the point fit that ``fit_scm(transforms=...)`` uses).

How a spend node enters the SCM, and its ICI. The children of a spend node s see g(s) = saturation(carryover(s)),
computed per unit in time order. The fitted SCM holds s as the series g(s): the level its children respond to,
as the demo's truth treats the adstocked TV series as the TV node (``raw.ground_truth_ici``). A root spend node's
noise is then its transformed series, and when its children are linear in it the ICI stays closed form:
ICI_s = a_s^2 Var(g(s)), with a_s the total effect of g(s) on the target. Carryover is part of the node: a
week's revenue moves with the node's own spend of this and earlier weeks, all of it the node's noise, so a graph
on same-day spend with ``carryover: auto`` gets the share of the adstocked node. Transforms are declared on root
spend nodes only (a spend node with parents would mix its parents' lagged values into its own noise).

Intervals: the same block bootstrap as the shares (:mod:`resampling`: circular blocks of periods, block length
from the children's residuals), the families held and the parameters refitted on every resample (refinement from
the point estimate on the resample's profile, every resample at once as row weights: :mod:`batchfit`). Each
row's lag window is taken from the original series before resampling, so a resampled row keeps its own history.
A flagged node (flat profile, constant or collinear spend, see :mod:`profile`) gets the union of that interval
and its likelihood-ratio set: wide, never a confident value.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from . import intervals
from ._threads import serial
from .batchfit import BatchRefit
from .families import choose_families
from .profile import NodeFit, Problem, fit_nodes
from .resampling import Bootstrap, Plan, block_length_from_noise
from .result import EngineResult, TransformFacts
from .transforms import (
    CARRYOVER_KINDS,
    PARAMETERS,
    SATURATION_KINDS,
    Transform,
    TransformSpec,
    lag_matrix,
    time_positions,
)
from .validation import GraphLike, period_codes

COLUMNS = ["model", "node", "transform", "family", "parameter", "value", "low", "high", "identified"]
DOMAIN = {"decay": (0.0, 0.99), "shape": (0.0, np.inf), "scale": (0.0, np.inf), "half_saturation": (0.0, np.inf)}
DOMAIN["slope"] = (0.0, np.inf)
MIN_COMPLETE = 0.5  # fit on rows with a complete lag window when at least this fraction has one


@dataclass
class LearnedTransforms:
    """The point fit: per spend node its fit (transform, likelihood-ratio sets, flags, families' errors) and its
    transformed series (row-aligned with the data), plus the fitted problem (for the bootstrap)."""

    fits: dict[Any, NodeFit]
    columns: dict[Any, np.ndarray]
    problem: Problem
    rows: np.ndarray
    families: dict[Any, tuple[str, str]] = field(default_factory=dict)

    def refit(self, rows: np.ndarray) -> tuple[dict[Any, np.ndarray], dict[Any, Transform]]:
        """(transformed series of every row, transforms) with the parameters refitted on the data's rows ``rows``
        (repeats allowed; rows without a complete lag window left out when the point fit left them out), the
        families held and the refinement started from the point estimate."""
        fitted = np.zeros(self.problem.n, dtype=bool)
        fitted[self.rows] = True
        rows = np.asarray(rows)[fitted[np.asarray(rows)]]
        start = {n: f.transform.params for n, f in self.fits.items()}
        with serial():
            params = BatchRefit(self.problem, self.families, start).fit(np.bincount(rows, minlength=self.problem.n))[0]
        transforms = {
            n: Transform(n, *self.families[n], self.problem.specs[n].max_lag, params[n]) for n in self.families
        }
        return {n: t.apply(self.problem.lags[n]) for n, t in transforms.items()}, transforms

    @property
    def transforms(self) -> dict[Any, Transform]:
        return {n: f.transform for n, f in self.fits.items()}

    @property
    def flags(self) -> dict[Any, list[str]]:
        return {n: list(f.flags) for n, f in self.fits.items() if f.flags}


def _problem(
    data: pd.DataFrame,
    graph: nx.DiGraph,
    specs: Mapping[Any, TransformSpec],
    time_column: Any,
    unit_column: Any,
) -> tuple[Problem, np.ndarray]:
    """The row-aligned fitting problem and the rows to fit on (complete lag windows when most rows have one)."""
    if unit_column is not None and unit_column not in data.columns:
        raise ValueError(f"unit_column {unit_column!r} is not a column of the data: name the unit (region) column")
    if unit_column is not None and unit_column in graph:
        raise ValueError(f"unit_column {unit_column!r} is a node of the graph: name a column that is not a node")
    needs_time = any(s.needs_time for s in specs.values())
    if needs_time and time_column is None:
        nodes = [n for n, s in specs.items() if s.needs_time]
        raise ValueError(f"carryover of {nodes!r} needs time_column=<the period column> (and unit_column for panels)")
    positions = time_positions(data[time_column]) if time_column is not None else np.arange(len(data))
    units = None if unit_column is None else data[unit_column].to_numpy()
    lags, children = {}, {}
    for node, spec in specs.items():
        if node not in graph:
            raise ValueError(f"transforms declared for {node!r}, which is not a node of the graph")
        if list(graph.predecessors(node)):
            raise ValueError(
                f"transforms of {node!r}: only root spend nodes can carry learned transforms, and {node!r} has "
                f"parents {sorted(map(str, graph.predecessors(node)))}; drop its parents or its transforms"
            )
        kids = sorted(graph.successors(node), key=str)
        if not kids:
            raise ValueError(f"transforms of {node!r}: the node has no children in the graph, nothing to fit them on")
        x = data[node].to_numpy(dtype=float)
        if spec.saturation != "none" and (x < 0).any():
            raise ValueError(f"saturation of {node!r} needs spend >= 0; the column has negative values")
        max_lag = spec.max_lag if spec.needs_time else 0
        lags[node] = lag_matrix(x, units, positions, max_lag, node=node) if max_lag else x[:, None]
        children[node] = kids
    ys, fixed, spend_parents = {}, {}, {}
    for c in sorted({c for kids in children.values() for c in kids}, key=str):
        parents = sorted(graph.predecessors(c), key=str)
        ys[c] = data[c].to_numpy(dtype=float)
        fixed[c] = data[[p for p in parents if p not in specs]].to_numpy(dtype=float).reshape(len(data), -1)
        spend_parents[c] = [p for p in parents if p in specs]
    periods = period_codes(data[time_column])[0] if time_column is not None else None
    problem = Problem(lags, dict(specs), children, ys, fixed, spend_parents, periods)
    complete = np.ones(len(data), dtype=bool)
    for node, spec in specs.items():
        if spec.needs_time:
            complete &= ~np.isnan(lags[node]).any(axis=1)
    rows = np.flatnonzero(complete) if complete.mean() >= MIN_COMPLETE else np.arange(len(data))
    return problem, rows


def learn_transforms(
    data: pd.DataFrame,
    graph: GraphLike,
    transforms: Mapping[Any, TransformSpec | Mapping[str, Any]],
    *,
    time_column: Any = None,
    unit_column: Any = None,
) -> LearnedTransforms:
    """Choose the families ('auto') and fit the parameters of every declared spend node; flag what is not
    identified. ``transforms``: {node: {"carryover": kind or {"kind": ..., "max_lag": ...}, "saturation": ...}}."""
    g = nx.DiGraph(graph)
    specs = {n: TransformSpec.parse(n, s) for n, s in transforms.items()}
    problem, rows = _problem(data, g, specs, time_column, unit_column)
    sub = _restrict(problem, rows)
    with serial():
        families = {n: (s.carryover, s.saturation) for n, s in specs.items()}
        mse: dict[Any, dict[str, float]] = {}
        zs: dict[Any, dict[str, float]] = {}
        choice_flags: dict[Any, list[str]] = {}
        if any("auto" in fam for fam in families.values()):
            # others at their fit with the most flexible declared families, then each auto node chosen in turn
            flexible = {n: _most_flexible(s) for n, s in specs.items()}
            current = {n: f.transform.apply(sub.lags[n]) for n, f in fit_nodes(sub, flexible).items()}
            for n, s in specs.items():
                if "auto" in (s.carryover, s.saturation):
                    families[n], mse[n], zs[n], choice_flags[n] = choose_families(sub, n, current)
        fits = fit_nodes(sub, families, diagnose=True)
    for n, m in mse.items():
        fits[n].family_mse, fits[n].family_z = m, zs[n]
        fits[n].flags.extend(choice_flags[n])
    columns = {n: f.transform.apply(problem.lags[n]) for n, f in fits.items()}
    return LearnedTransforms(fits, columns, problem, rows, families)


def _most_flexible(spec: TransformSpec) -> tuple[str, str]:
    return (
        CARRYOVER_KINDS[-1] if spec.carryover == "auto" else spec.carryover,
        SATURATION_KINDS[-1] if spec.saturation == "auto" else spec.saturation,
    )


def _restrict(problem: Problem, rows: np.ndarray) -> Problem:
    """The problem on a subset of rows (lag windows already taken from the full series)."""
    return Problem(
        {n: v[rows] for n, v in problem.lags.items()},
        problem.specs,
        problem.children,
        {c: v[rows] for c, v in problem.y.items()},
        {c: v[rows] for c, v in problem.fixed.items()},
        problem.spend_parents,
        None if problem.periods is None else problem.periods[rows],
    )


def _residuals(learned: LearnedTransforms) -> np.ndarray:
    """(rows, children) OLS residuals of every child given its fitted transformed parents."""
    p = learned.problem
    out = []
    for c in p.y:
        A = np.column_stack([np.ones(len(p.y[c])), p.fixed[c], *[learned.columns[s] for s in p.spend_parents[c]]])
        beta = np.linalg.lstsq(A[learned.rows], p.y[c][learned.rows], rcond=None)[0]
        out.append(p.y[c] - A @ beta)
    return np.column_stack(out)


def _plan(learned: LearnedTransforms, settings: Bootstrap) -> Plan:
    """Rows, or circular blocks of periods with the block length from the children's residuals."""
    periods = learned.problem.periods
    n = len(learned.rows)
    if settings.resampling == "row" or periods is None:
        if settings.resampling == "block":
            raise ValueError("resampling='block' needs each row's period: pass time_column=<column>")
        return Plan(n)
    codes = np.unique(periods[learned.rows], return_inverse=True)[1]
    T = int(codes.max()) + 1
    if settings.block_length is None:
        L = block_length_from_noise(_residuals(learned)[learned.rows], codes, T)
    elif not 1 <= int(settings.block_length) <= T:
        raise ValueError(f"block_length={settings.block_length} must be between 1 and the number of periods ({T})")
    else:
        L = int(settings.block_length)
    return Plan(n, codes, T, L)


def _vector(fits: Mapping[Any, NodeFit]) -> tuple[list[tuple[Any, str, str, str]], np.ndarray]:
    """((node, transform, family, parameter) per learned parameter, values)."""
    keys, vals = [], []
    for n, f in fits.items():
        tr = f.transform
        for part, kind in (("carryover", tr.carryover), ("saturation", tr.saturation)):
            for p in PARAMETERS[kind]:
                keys.append((n, part, kind, p))
                vals.append(tr.params[p])
    return keys, np.array(vals, dtype=float)


def fit_transforms(
    data: pd.DataFrame,
    graph: GraphLike,
    transforms: Mapping[Any, TransformSpec | Mapping[str, Any]],
    *,
    time_column: Any = None,
    unit_column: Any = None,
    model: str | None = None,
    bootstrap: Bootstrap | None = None,
    **options: Any,
) -> EngineResult[TransformFacts]:
    """Learn the carryover and saturation of spend nodes from their children, with bootstrap intervals.

    ``transforms``: {node: {"carryover": {"kind": "geometric" | "weibull" | "none" | "auto", "max_lag": 8},
    "saturation": {"kind": "hill" | "logistic" | "michaelis_menten" | "exponential" | "none" | "auto"}}} (a kind
    string is enough).
    ``time_column`` (the period) and ``unit_column`` (e.g. region) order the carryover windows; ``model`` fills the
    table's model column. Intervals: the :class:`Bootstrap` keywords (``n_bootstrap=200`` ...).

    Table: one row per learned parameter (model, node, transform, family, parameter, value, low, high, identified);
    a family without parameters ('none') gets one row with no parameter, so the family that 'auto' chose shows.
    Facts: flags per node (why a node is not identified), the families' held-out errors, the fitted transforms.
    """
    start = time.perf_counter()
    settings = Bootstrap.of("fit_transforms", bootstrap, options)
    learned = learn_transforms(data, graph, transforms, time_column=time_column, unit_column=unit_column)
    return _with_intervals(learned, model, settings, start)


def transform_table(
    learned: LearnedTransforms,
    *,
    model: str | None = None,
    bootstrap: Bootstrap | None = None,
    **options: Any,
) -> EngineResult[TransformFacts]:
    """``fit_transforms``' table and facts from a point fit already made, e.g. a fitted SCM's
    ``transform_state`` (``fit_scm(transforms=...)``): the point estimates are that fit's, only the bootstrap
    refits the parameters (one per resample), so the SCM and the table never disagree on a value."""
    if not isinstance(learned, LearnedTransforms):
        raise TypeError(
            "transform_table needs the learned transforms of a fit (FittedSCM.transform_state of an SCM fitted with "
            f"transforms=...), got {type(learned).__name__}: fit the SCM with transforms= first"
        )
    settings = Bootstrap.of("transform_table", bootstrap, options)
    return _with_intervals(learned, model, settings, time.perf_counter())


def _with_intervals(
    learned: LearnedTransforms, model: str | None, settings: Bootstrap, start: float
) -> EngineResult[TransformFacts]:
    """The point fit's parameters with their bootstrap intervals, as the table and facts of ``fit_transforms``."""
    keys, est = _vector(learned.fits)
    low, high = np.full(len(est), np.nan), np.full(len(est), np.nan)
    boot_facts: dict[str, Any] = {}
    if settings.active and len(est):
        plan = _plan(learned, settings)
        rng = settings.rng(0x7F0)
        sub = _restrict(learned.problem, learned.rows)
        start_values = {n: f.transform.params for n, f in learned.fits.items()}
        # each resample as row weights (how often each row is drawn): the draws of plan.resamples, without the rows
        units = np.concatenate([plan.unit_counts(1, rng) for _ in range(settings.n_bootstrap)])
        counts = units if plan.periods is None else units[:, plan.periods]
        with serial():
            refits = BatchRefit(sub, learned.families, start_values).fit(counts)
        boot = np.array([[refit[n][p] for n, _, _, p in keys] for refit in refits])
        low, high = intervals.interval(
            boot,
            est,
            "percentile" if settings.interval == "bca" else settings.interval,
            level=settings.level,
            df=plan.df,
            bounds=None,
        )
        boot_facts = settings.facts(plan, 0)
    records: list[tuple[Any, ...]] = []
    for i, (n, part, kind, p) in enumerate(keys):
        fit = learned.fits[n]
        lo, hi = low[i], high[i]
        if fit.flags and p in fit.lr_sets:
            lo, hi = np.nanmin([lo, fit.lr_sets[p][0]]), np.nanmax([hi, fit.lr_sets[p][1]])
        d_lo, d_hi = DOMAIN[p]
        records.append(
            (model, n, part, kind, p, est[i], np.clip(lo, d_lo, d_hi), np.clip(hi, d_lo, d_hi), not fit.flags)
        )
    for n, fit in learned.fits.items():
        tr = fit.transform
        for part, kind in (("carryover", tr.carryover), ("saturation", tr.saturation)):
            if not PARAMETERS[kind]:
                records.append((model, n, part, kind, None, np.nan, np.nan, np.nan, not fit.flags))
    table = pd.DataFrame(records, columns=COLUMNS)
    table["_order"] = table["node"].map({n: i for i, n in enumerate(learned.fits)})
    table = table.sort_values(["_order", "transform"], kind="stable").drop(columns="_order").reset_index(drop=True)
    problem = learned.problem
    facts = TransformFacts(
        method="profile_least_squares",
        target=", ".join(str(c) for c in problem.y),
        n_rows=len(learned.rows),
        seed=settings.seed,
        n_periods=None if problem.periods is None else len(np.unique(problem.periods[learned.rows])),
        seconds=time.perf_counter() - start,
        not_identified=tuple(str(n) for n in learned.flags),
        flags={str(n): v for n, v in learned.flags.items()},
        family_mse={str(n): f.family_mse for n, f in learned.fits.items() if f.family_mse},
        family_z={str(n): f.family_z for n, f in learned.fits.items() if f.family_z},
        summary=tuple(summarise(table)),
        transforms=learned.transforms,
        **boot_facts,
    )
    return EngineResult(table, facts)


def summarise(table: pd.DataFrame) -> list[str]:
    """One line per node: ``tv_spend: geometric decay 0.71 [0.64, 0.77]; hill half_saturation 41,000 [...]``."""
    out = []
    for node, rows in table.groupby("node", sort=False):
        parts = []
        for (part, kind), r in rows.groupby(["transform", "family"], sort=False):
            vals = [
                f"{p} {_num(v)}" + ("" if np.isnan(lo) else f" [{_num(lo)}, {_num(hi)}]")
                for p, v, lo, hi in zip(r["parameter"], r["value"], r["low"], r["high"])
                if not pd.isna(p)
            ]
            parts.append(f"{part} {kind}" + (" " + " ".join(vals) if vals else ""))
        flag = "" if rows["identified"].all() else " (not identified)"
        out.append(f"{node}: {'; '.join(parts)}{flag}")
    return out


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
