"""Budget split: the allocation of a total over spend nodes that maximises E[target | do(spend = allocation)].

Units: a node's allocation is its value in every row of the node table (spend per unit-period, e.g.
per region-day), and `total` is their sum in the same units; the current allocation is each node's
mean. Bounds default to the range each node takes in the data (the fitted mechanisms are not
trusted outside it). Linear mechanisms on the paths to the target: the objective is linear, so the
budget goes to the highest total effect first, up to its bound (exact; the model has no diminishing
returns and says so). Otherwise SLSQP over forward simulations (same noise rows at every allocation,
so the objective is smooth for smooth mechanisms) from three starts, best kept. The uplift's interval
refits the model on resamples (the shares' plan) with the recommended allocation held fixed.
Planners' constraints (:mod:`.budget_constraints`): `max_change` and `fixed` narrow each channel's box, and
`target_marginal_return` frees the total (each channel spent until its marginal return falls to the target);
the `binding` column names the constraint that holds each channel where it is.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from .budget_constraints import NOT_IDENTIFIED, Box, MaxChange, constraint_box, spend_to_target
from .interventions import DEFAULT_SAMPLES, Interventional
from .montecarlo import DEFAULT_MAX_SAMPLES, DEFAULT_TOLERANCE, MonteCarlo, refine
from .resampling import Bootstrap
from .result import BudgetFacts, EngineResult
from .scm import FittedSCM
from .uncertainty import bootstrap_interval

BUDGET_COLUMNS = [
    "node",
    "total",
    "current",
    "recommended",
    "change",
    "lower_bound",
    "upper_bound",
    "at_bound",
    "binding",
    "max_change",
    "fixed",
    "target_marginal_return",
    "marginal_return_current",
    "marginal_return_recommended",
    "expected_current",
    "expected_recommended",
    "expected_uplift",
    "uplift_low",
    "uplift_high",
    "uplift_pct",
    "no_diminishing_returns",
    "note",
    "transform_identified",
]


def _bounds(
    nodes: list[Any], bounds: Mapping[Any, tuple[float | None, float | None]] | None, observed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-node (low, high) from the user's bounds, missing ends taken from the observed range."""
    bounds = dict(bounds or {})
    unknown = [n for n in bounds if n not in nodes]
    if unknown:
        raise ValueError(f"bounds given for {unknown!r}, which are not spend nodes {nodes!r}: fix the names")
    lo, hi = observed[:, 0].copy(), observed[:, 1].copy()
    for j, n in enumerate(nodes):
        b_lo, b_hi = bounds.get(n, (None, None))
        lo[j] = lo[j] if b_lo is None else float(b_lo)
        hi[j] = hi[j] if b_hi is None else float(b_hi)
        if not lo[j] <= hi[j]:
            raise ValueError(
                f"bounds for spend node {n!r} are ({lo[j]:g}, {hi[j]:g}): the lower bound must not exceed the upper"
            )
    return lo, hi


def project(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """The point clip(x + t, lo, hi) summing to `total` (t by bisection): x moved onto the feasible set."""
    a, b = float(lo.min() - x.max()), float(hi.max() - x.min())
    for _ in range(200):
        t = (a + b) / 2
        a, b = (t, b) if np.clip(x + t, lo, hi).sum() < total else (a, t)
    return np.clip(x + (a + b) / 2, lo, hi)


def greedy(returns: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """Linear objective: start at the lower bounds, fill the highest return first up to its bound."""
    x, left = lo.copy(), total - lo.sum()
    for j in np.argsort(-returns, kind="stable"):
        step = min(left, hi[j] - lo[j])
        x[j] += step
        left -= step
    return x


def _maximise(ev: Interventional, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """SLSQP on E[target | do(x)] subject to sum(x) = total and the bounds, from three starts."""
    scale = float(max(np.max(hi - lo), 1e-12))

    def negative(z: np.ndarray) -> float:
        return -ev.expected(z * scale)[0] / scale

    def gradient(z: np.ndarray) -> np.ndarray:
        return -ev.gradient(z * scale)[0]

    starts = [
        project(ev.current, lo, hi, total),
        project(lo + (hi - lo) / 2, lo, hi, total),
        greedy(ev.gradient(project(ev.current, lo, hi, total))[0], lo, hi, total),
    ]
    best, best_value = starts[0], -np.inf
    for x0 in starts:
        with warnings.catch_warnings():  # SLSQP may step outside the bounds in a line search; it clips
            warnings.simplefilter("ignore", RuntimeWarning)
            res = _slsqp(negative, gradient, x0 / scale, lo / scale, hi / scale, total / scale)
        x = project(np.asarray(res.x) * scale, lo, hi, total)
        value = ev.expected(x)[0]
        if value > best_value:
            best, best_value = x, value
    return best


def _recommend(ev: Interventional, box: Box, total: float | None, marginal_target: float | None) -> np.ndarray:
    """The recommended levels: spend to the target marginal return, or the best split of `total` in the box."""
    if marginal_target is not None:
        return spend_to_target(ev, box, float(marginal_target))
    assert total is not None
    if ev.linear:
        return greedy(ev.slope, box.lo, box.hi, total)
    free = box.hi > box.lo
    if not free.any():
        return box.lo.copy()
    return _maximise(ev, box.lo, box.hi, total)


def _slsqp(fun: Any, jac: Any, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> Any:
    return minimize(
        fun,
        x0,
        jac=jac,
        method="SLSQP",
        bounds=list(zip(lo, hi)),
        constraints=[{"type": "eq", "fun": lambda z: z.sum() - total, "jac": lambda z: np.ones_like(z)}],
        options={"maxiter": 200, "ftol": 1e-10},
    )


def _binding_note(nodes: list[Any], binding: list[str]) -> str:
    """' Binding: tv_spend (max_change), ...' for the channels a constraint holds; '' when none does."""
    held = [f"{n} ({b})" for n, b in zip(nodes, binding) if b and b != "target_marginal_return"]
    return f" Binding: {', '.join(held)}." if held else ""


def _note(
    ev: Interventional,
    target: Any,
    nodes: list[Any],
    grad: np.ndarray,
    interior: np.ndarray,
    marginal_target: float | None = None,
) -> str:
    """One plain sentence on what the model can and cannot say about the split."""
    returns = ", ".join(f"{n} {g:.3g}" for n, g in zip(nodes, grad))
    if marginal_target is not None and not ev.linear:
        return (
            f"Target marginal return {marginal_target:.3g} {target} per unit: each channel inside its limits is "
            f"spent until its marginal return falls to it (marginal returns at the recommendation: {returns})."
        )
    if ev.linear:
        return (
            f"The fitted mechanisms from {', '.join(map(str, nodes))} to {target} are linear: every extra unit of "
            f"spend returns the same ({returns} {target} per unit), so the model has no diminishing returns and the "
            "optimum puts spend at a bound, highest return first. Fit nonlinear mechanisms or widen the data before "
            "trusting this split."
        )
    if interior.sum() == 1:
        (free,) = np.flatnonzero(interior)
        return (
            f"Only {nodes[free]} moves freely within its limits: it takes what the total leaves the others "
            f"(marginal returns at the recommendation: {returns} {target} per unit)."
        )
    if interior.any():
        common = float(np.mean(grad[interior]))
        return (
            f"Diminishing returns: the recommended split equalises the marginal return of the channels inside their "
            f"bounds at about {common:.3g} {target} per unit (marginal returns there: {returns})."
        )
    return f"Every channel sits at a bound; marginal returns at the recommendation: {returns} {target} per unit."


def optimise_budget(
    scm: FittedSCM,
    target: Any,
    spend_nodes: Sequence[Any],
    total: float | None = None,
    *,
    bounds: Mapping[Any, tuple[float | None, float | None]] | None = None,
    max_change: MaxChange = None,
    fixed: Sequence[Any] = (),
    target_marginal_return: float | None = None,
    move_not_identified: bool = False,
    n_samples: int = DEFAULT_SAMPLES,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    mc_tolerance: float = DEFAULT_TOLERANCE,
    bootstrap: Bootstrap | None = None,
    **options: Any,
) -> EngineResult[BudgetFacts]:
    """One row per spend node: current and recommended allocation of `total` (default: the current total),
    bounds, marginal returns, the expected target at both, the uplift with its interval, and whether the model
    has no diminishing returns (linear mechanisms: the optimum then sits at a bound, said in `note`).
    Constraints besides `bounds`: `max_change` (relative move from the current level, one number or per node),
    `fixed` (nodes held at their current level); `target_marginal_return` instead of a total spends each node
    until its marginal return falls to it (the total is then the recommendation's sum). `binding` names the
    constraint holding each node ('fixed', 'max_change', 'lower bound', 'upper bound', 'target_marginal_return',
    'not identified'). A node whose learned carryover or saturation the data do not identify
    (``scm.transform_identified``) is held at its current level (binding 'not identified': its response away from
    the data extrapolates a fit the data cannot pin down) unless `move_not_identified`; ``transform_identified``
    says which nodes those are.
    Simulated objectives start from `n_samples` rows and add rows (up to `max_samples`, logged) until the current
    split's expected target has a Monte Carlo error within `mc_tolerance` of it; then the split is optimised on
    those rows (the same rows at every allocation). The uplift's interval and the seed: the :class:`Bootstrap`
    keywords, or ``bootstrap=Bootstrap(...)``.
    Returns the table and its :class:`BudgetFacts`."""
    start = time.perf_counter()
    settings = Bootstrap.of("optimise_budget", bootstrap, options)
    seed = settings.seed
    nodes = list(spend_nodes)
    if not nodes:
        raise ValueError("no spend nodes given: name at least one node to allocate the budget over")
    if total is not None and target_marginal_return is not None:
        raise ValueError(
            f"both a total ({total:g}) and target_marginal_return ({target_marginal_return:g}) given: the target "
            "mode chooses the total, drop one"
        )
    ev = Interventional(scm, target, nodes, n_samples=n_samples, seed=seed)
    lower, upper = _bounds(nodes, bounds, ev.observed)
    box = constraint_box(nodes, ev.current, lower, upper, max_change, fixed, bounded=list(bounds or {}))
    identified = [scm.transform_identified(n) for n in nodes]
    held = np.array([i is False and not move_not_identified for i in identified], dtype=bool)
    if held.any():
        box = dataclasses.replace(box, lo=np.where(held, ev.current, box.lo), hi=np.where(held, ev.current, box.hi))
    lo, hi = box.lo, box.hi
    if target_marginal_return is None:
        total = float(ev.current.sum()) if total is None else float(total)
        if not lo.sum() - 1e-9 * abs(total) <= total <= hi.sum() + 1e-9 * abs(total):
            raise ValueError(
                f"total {total:g} cannot be split over {nodes!r} within their bounds, max_change and fixed nodes "
                f"(smallest total {lo.sum():g}, largest {hi.sum():g})"
                + (f", with {[n for n, h in zip(nodes, held) if h]!r} held (not identified)" if held.any() else "")
                + ": change the total or the constraints"
            )
    current = ev.current
    mc_settings = MonteCarlo(tolerance=mc_tolerance, max_samples=max_samples, n_samples=n_samples)

    def level() -> tuple[np.ndarray, np.ndarray]:
        value, se = ev.expected(current)
        return np.array([value]), np.array([se])

    _, _, precision = refine(ev, level, mc_settings, f"budget of {target}")
    rec = _recommend(ev, box, total, target_marginal_return)
    total = float(rec.sum()) if target_marginal_return is not None else total
    assert total is not None
    (e_cur, _), (e_rec, _) = ev.expected(current), ev.expected(rec)
    uplift_se = 0.0 if ev.linear else ev.mc_se(ev.per_row(rec) - ev.per_row(current))
    grad_cur, grad_rec = ev.gradient(current)[0], ev.gradient(rec)[0]
    uplift = e_rec - e_cur

    def statistic(refit: FittedSCM, _: int) -> np.ndarray:
        sim = Interventional(refit, target, nodes, n_samples=n_samples, seed=seed)
        return np.array([sim.expected(rec)[0] - sim.expected(current)[0]])

    (low,), (high,), boot_facts = bootstrap_interval(
        scm,
        ev.order,
        np.array([uplift]),
        statistic,
        settings,
        stream=0xB6,
    )
    binding = box.binding(rec, target_mode=target_marginal_return is not None)
    binding = [NOT_IDENTIFIED if h else b for b, h in zip(binding, held)]
    at_bound = np.array([b in ("lower bound", "upper bound") for b in binding])
    interior = np.array([b in ("", "target_marginal_return") for b in binding])
    note = _note(ev, target, nodes, grad_rec, interior, target_marginal_return) + _binding_note(nodes, binding)
    table = pd.DataFrame(
        {
            "node": nodes,
            "total": total,
            "current": current,
            "recommended": rec,
            "change": rec - current,
            "lower_bound": box.lower,
            "upper_bound": box.upper,
            "at_bound": at_bound,
            "binding": binding,
            "max_change": box.max_change,
            "fixed": box.fixed,
            "target_marginal_return": np.nan if target_marginal_return is None else float(target_marginal_return),
            "marginal_return_current": grad_cur,
            "marginal_return_recommended": grad_rec,
            "expected_current": e_cur,
            "expected_recommended": e_rec,
            "expected_uplift": uplift,
            "uplift_low": low,
            "uplift_high": high,
            "uplift_pct": 100.0 * uplift / e_cur if e_cur != 0 else np.nan,
            "no_diminishing_returns": ev.linear,
            "note": note,
            "transform_identified": pd.array(identified, dtype="boolean"),
        },
        columns=BUDGET_COLUMNS,
    )
    facts = BudgetFacts(
        **ev.facts_fields(),
        total=total,
        expected_uplift=float(uplift),
        no_diminishing_returns=bool(ev.linear),
        note=note,
        max_mc_se=None if ev.linear else uplift_se,
        max_relative_mc_se=precision.max_relative_se,
        mc_capped=precision.capped,
        seconds=time.perf_counter() - start,
        **boot_facts,
    )
    return EngineResult(table, facts)
