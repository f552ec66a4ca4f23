"""The constraints planners put on a budget split, as one box per channel, and the target-marginal-return solver.

Per channel: its bounds (the user's, else the observed range), `max_change` (relative: the channel stays within
that fraction of its current level, 0.2 = +-20 %), `fixed` (held at its current level). Intersected they give the
optimiser's box; a channel whose box is empty is an error naming it. `binding` says per channel which constraint
holds the recommendation where it is. In the target-marginal-return mode the total is free: each channel is spent
until its marginal return falls to the target (within TARGET_TOLERANCE), or to the end of its box.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import minimize

from .interventions import STEP, Interventional

if TYPE_CHECKING:
    import pandas as pd

MaxChange = float | Mapping[Any, float] | None
#: A channel stops where its marginal return is within this fraction of the target (the spend-to-target mode).
TARGET_TOLERANCE = 0.02
_SOLVE_TOLERANCE = TARGET_TOLERANCE / 8  # the solver aims well inside it: the reported return is re-simulated
_ROUNDS = 12  # coordinate rounds (a channel's return can depend on another's level)


@dataclass(frozen=True)
class Box:
    """Per channel: its bounds, max_change (relative; NaN: none), whether fixed, and the resulting box [lo, hi]."""

    nodes: list[Any]
    current: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    max_change: np.ndarray
    fixed: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @property
    def tolerance(self) -> float:
        """How close to an end of its box a channel counts as at it."""
        return 1e-6 * max(float(np.max(self.upper - self.lower)), float(np.max(np.abs(self.current))), 1e-12)

    def binding(self, x: np.ndarray, target_mode: bool = False) -> list[str]:
        """Per channel, the constraint holding `x` where it is: 'fixed', 'max_change', 'lower bound', 'upper bound',
        in the target mode 'target_marginal_return' for a channel inside its box, else ''."""
        tol, out = self.tolerance, []
        for j in range(len(self.nodes)):
            if self.fixed[j]:
                out.append("fixed")
            elif x[j] >= self.hi[j] - tol:
                out.append("max_change" if self.hi[j] < self.upper[j] - tol else "upper bound")
            elif x[j] <= self.lo[j] + tol:
                out.append("max_change" if self.lo[j] > self.lower[j] + tol else "lower bound")
            else:
                out.append("target_marginal_return" if target_mode else "")
        return out


def _per_node(name: str, value: Any, nodes: list[Any]) -> dict[Any, Any]:
    unknown = [n for n in value if n not in nodes]
    if unknown:
        raise ValueError(f"{name} given for {unknown!r}, which are not spend nodes {nodes!r}: fix the names")
    return dict(value)


def constraint_box(
    nodes: list[Any],
    current: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    max_change: MaxChange = None,
    fixed: Sequence[Any] = (),
    bounded: Sequence[Any] = (),
) -> Box:
    """The box of each channel: its bounds, narrowed by max_change around its current level; a fixed channel's
    box is its current level (`bounded`: the channels with user bounds, which a fixed channel must not have)."""
    fixed = list(fixed)
    _per_node("fixed", {n: True for n in fixed}, nodes)
    if len(set(map(str, fixed))) != len(fixed):
        raise ValueError(f"fixed {fixed!r} repeats a node: list each once")
    both = [n for n in fixed if n in bounded]
    if both:
        raise ValueError(
            f"spend node(s) {both!r} are both fixed and bounded: a fixed channel stays at its current "
            "level, drop its bounds or its place in fixed"
        )
    if max_change is None:
        change = np.full(len(nodes), np.nan)
    elif isinstance(max_change, Mapping):
        per = _per_node("max_change", max_change, nodes)
        both = [n for n in fixed if n in per]
        if both:
            raise ValueError(f"spend node(s) {both!r} are both fixed and given a max_change: keep one")
        change = np.array([float(per[n]) if n in per else np.nan for n in nodes])
    else:
        change = np.full(len(nodes), float(max_change))
    if (change[~np.isnan(change)] < 0).any():
        raise ValueError(f"max_change {max_change!r} is negative: give the largest relative move, e.g. 0.2 for 20 %")
    is_fixed = np.array([n in fixed for n in nodes], dtype=bool)
    reach = np.where(np.isnan(change), np.inf, np.nan_to_num(change) * np.abs(current))
    lo = np.where(is_fixed, current, np.maximum(lower, current - reach))
    hi = np.where(is_fixed, current, np.minimum(upper, current + reach))
    for j, n in enumerate(nodes):
        if lo[j] > hi[j]:
            raise ValueError(
                f"spend node {n!r}: its bounds ({lower[j]:g}, {upper[j]:g}) and max_change {change[j]:g} around its "
                f"current level {current[j]:g} ({current[j] - reach[j]:g} to {current[j] + reach[j]:g}) do not "
                "overlap: widen the bounds or max_change"
            )
    return Box(nodes, current, lower, upper, change, is_fixed, lo, hi)


def _partial(ev: Interventional, x: np.ndarray, j: int) -> float:
    """d E[target] / d x_j at x: the fitted total effect where linear, else a central difference over the rows."""
    if ev.linear:
        return float(ev.slope[j])
    h = STEP * float(ev.sd[j])
    up, down = x.copy(), x.copy()
    up[j] += h
    down[j] -= h
    return float((ev.per_row(up) - ev.per_row(down)).mean() / (2 * h))


def stops_at_target(grad: float, x: float, lo: float, hi: float, target: float, tol: float) -> bool:
    """Whether a channel is where the spend-to-target mode stops it: its marginal return within TARGET_TOLERANCE
    of the target, or at the top of its box still returning more, or at the bottom returning less."""
    band = TARGET_TOLERANCE * target
    if abs(grad - target) <= band:
        return True
    return (x >= hi - tol and grad > target) or (x <= lo + tol and grad < target)


def _solve_channel(ev: Interventional, x: np.ndarray, j: int, lo: float, hi: float, target: float) -> float:
    """The level of channel j (others as in x) where its marginal return falls to the target, by bisection; the
    top of its box if it returns more there, the bottom if it returns less there."""

    def excess(t: float) -> float:
        y = x.copy()
        y[j] = t
        return _partial(ev, y, j) - target

    if excess(hi) >= 0:
        return hi
    if excess(lo) <= 0:
        return lo
    a, b = lo, hi
    for _ in range(60):
        m = (a + b) / 2
        e = excess(m)
        if abs(e) <= _SOLVE_TOLERANCE * target:
            return m
        a, b = (m, b) if e > 0 else (a, m)
    return (a + b) / 2


def _ascend(ev: Interventional, box: Box, target: float) -> np.ndarray:
    """L-BFGS-B on E[target | do(x)] - target * sum(x) within the box, from the current levels (a start for the
    per-channel solve that accounts for channels acting on each other)."""
    scale = float(max(np.max(box.hi - box.lo), 1e-12))

    def negative(z: np.ndarray) -> float:
        x = z * scale
        return -(ev.expected(x)[0] - target * float(x.sum())) / scale

    def gradient(z: np.ndarray) -> np.ndarray:
        return -(ev.gradient(z * scale)[0] - target)

    x0 = np.clip(box.current, box.lo, box.hi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = minimize(
            negative,
            x0 / scale,
            jac=gradient,
            method="L-BFGS-B",
            bounds=list(zip(box.lo / scale, box.hi / scale)),
            options={"maxiter": 200},
        )
    return np.clip(np.asarray(res.x) * scale, box.lo, box.hi)


def spend_to_target(ev: Interventional, box: Box, target: float) -> np.ndarray:
    """Levels where every free channel's marginal return is within TARGET_TOLERANCE of `target` or the channel
    sits at an end of its box (the top while it still returns more, the bottom when it returns less).
    Linear paths: each channel's return is constant, so it goes to the top of its box if above the target, the
    bottom if below, and stays (clipped to its box) if within the tolerance."""
    if not np.isfinite(target) or target <= 0:
        raise ValueError(f"target_marginal_return {target!r} must be a positive number (target per unit of spend)")
    free = box.hi > box.lo
    if ev.linear:
        s = ev.slope
        x = np.clip(box.current, box.lo, box.hi)
        band = TARGET_TOLERANCE * target
        return np.where(s > target + band, box.hi, np.where(s < target - band, box.lo, x))
    if not free.any():
        return box.lo.copy()
    x = _ascend(ev, box, target)
    for _ in range(_ROUNDS):
        grad = ev.gradient(x)[0]
        stuck = [
            j
            for j in np.flatnonzero(free)
            if not stops_at_target(grad[j], x[j], box.lo[j], box.hi[j], target, box.tolerance)
        ]
        if not stuck:
            break
        for j in stuck:
            x[j] = _solve_channel(ev, x, int(j), box.lo[j], box.hi[j], target)
    tol = box.tolerance  # a level within the tolerance of an end of its box is at it (exactly, for the check)
    return np.where(x >= box.hi - tol, box.hi, np.where(x <= box.lo + tol, box.lo, x))


#: The binding of a channel held at its current level because its learned transform is not identified.
NOT_IDENTIFIED = "not identified"


def held_at_current(table: pd.DataFrame) -> np.ndarray:
    """Per channel of a budget table, whether it must stay at its current level: fixed, or held because its learned
    transform is not identified (binding 'not identified')."""
    fixed = table["fixed"].to_numpy(dtype=bool)
    if "binding" in table.columns:
        fixed = fixed | (table["binding"] == NOT_IDENTIFIED).to_numpy(dtype=bool)
    return fixed


def table_boxes(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's box (lo, hi) from a budget table's columns: its bounds, max_change, fixed (or held as not
    identified) and current level."""
    cur = table["current"].to_numpy(dtype=float)
    change = table["max_change"].to_numpy(dtype=float)
    reach = np.where(np.isnan(change), np.inf, np.nan_to_num(change) * np.abs(cur))
    fixed = held_at_current(table)
    lo = np.where(fixed, cur, np.maximum(table["lower_bound"].to_numpy(dtype=float), cur - reach))
    hi = np.where(fixed, cur, np.minimum(table["upper_bound"].to_numpy(dtype=float), cur + reach))
    return lo, hi


def feasible_totals(table: pd.DataFrame) -> tuple[float, float]:
    """(smallest, largest) total a budget table's constraints allow: the sums of its channels' boxes."""
    lo, hi = table_boxes(table)
    return float(lo.sum()), float(hi.sum())
