"""Linear SCMs: total causal effects (the one implementation) and the closed-form ICI a_j^2 Var(N_j).

`total_effects` serves the point estimate, the bootstrap (coefficients as arrays, one entry per
resample) and the reference cases' analytic truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .leastsq import stable_solve
from .validation import relevant_nodes

if TYPE_CHECKING:
    from .scm import FittedSCM

Coef = Any  # a float, or an array of floats (one per bootstrap resample)


def total_effects(order: list[Any], coefs: Mapping[Any, Mapping[Any, Coef]], target: Any) -> dict[Any, Coef]:
    """Total causal effect a_j of each node on target (sum over directed paths of coefficient products).

    `order` is a topological order of the target and its ancestors; `coefs[child][parent]` the edge
    coefficient, a float or an array (all resamples at once). a_target = 1 and, in reverse topological
    order, a_j = sum over children c of coef[c][j] * a_c.
    """
    one = np.ones_like(next((np.asarray(b) for c in coefs.values() for b in c.values()), np.float64(1.0)))
    a: dict[Any, Coef] = {n: 0.0 * one for n in order}
    a[target] = one
    for child in reversed(order):
        for parent, b in coefs.get(child, {}).items():
            if parent in a:
                a[parent] = a[parent] + b * a[child]
    if one.ndim == 0:
        return {n: float(v) for n, v in a.items()}
    return a


def linear_ici(scm: FittedSCM, target: Any) -> tuple[list[Any], np.ndarray, dict[Any, float]]:
    """Closed-form ICI (target variance units) for target and its ancestors; also the total effects.

    A categorical root C enters its linear children as dummies: the target is sum_j a_j N_j + e_C(C) + const,
    where e_C(level) sums, over C's children c, c's coefficient of that level's dummy times c's total effect a_c.
    The noises are independent, so the game is additive and C's ICI is Var(e_C(C)) over its observed levels: the
    variance of the whole categorical's contribution (its total effect reported as that contribution's sd)."""
    order = relevant_nodes(scm.graph, target)
    if not scm.is_linear_in_levels(order):
        bad = [n for n in order if scm.kinds[n] not in ("root", "linear")]
        raise ValueError(f"closed form needs linear mechanisms; node(s) {bad!r} are nonlinear")
    a, effects = _effects(scm, order, target)
    ici = np.array([a[n] ** 2 * scm.noise_variance(n) for n in order])
    for i, node in enumerate(order):
        if node in effects:
            ici[i] = float(np.var(effects[node][scm.noise[node].astype(int)]))
            a[node] = float(np.sqrt(ici[i]))
    return order, ici, a


def level_effects(scm: FittedSCM, target: Any) -> dict[Any, np.ndarray]:
    """Total effect on target of each level of each categorical root (vs its first level), for a model linear in
    its levels: the per-row contribution of a categorical root is its row's entry, centred."""
    order = relevant_nodes(scm.graph, target)
    return _effects(scm, order, target)[1]


def _effects(scm: FittedSCM, order: list[Any], target: Any) -> tuple[dict[Any, float], dict[Any, np.ndarray]]:
    """(total effect of each numeric node, effect of each level of each categorical root) on target."""
    coefs, levels = _edge_coefficients(scm, order)
    a = total_effects(order, coefs, target)
    effects = {
        node: sum((e * a[child] for child, e in by_child.items()), np.zeros(len(scm.categories[node])))
        for node, by_child in levels.items()
    }
    return a, effects


def _edge_coefficients(
    scm: FittedSCM, order: list[Any]
) -> tuple[dict[Any, dict[Any, float]], dict[Any, dict[Any, np.ndarray]]]:
    """({child: {numeric parent: coefficient}}, {categorical parent: {child: effect of each level vs the first}})."""
    from .categorical import CategoricalParents

    coefs: dict[Any, dict[Any, float]] = {}
    levels: dict[Any, dict[Any, np.ndarray]] = {n: {} for n in order if n in scm.categories}
    for n in order:
        mech = scm.mechanisms[n]
        if isinstance(mech, CategoricalParents):
            continuous, by_level = mech.linear_parts()
            coefs[n] = {scm.parents[n][j]: b for j, b in continuous.items()}
            for j, effect in by_level.items():
                levels[scm.parents[n][j]][n] = effect
        elif scm.kinds[n] == "linear":
            coefs[n] = scm.linear_coefficients(n)
    return coefs, levels


def linear_ici_from_cov(
    C: np.ndarray, order: list[Any], parents: Mapping[Any, list[Any]], target: Any
) -> tuple[np.ndarray, np.ndarray]:
    """ICI of a linear ANM refitted from covariance matrices C (B, d, d) of the nodes in `order`.

    Returns (ici (B, d) in the units of C, degenerate (B,) bool: some regression was rank-deficient or
    some node had no variance in that resample; its solve used the pseudo-inverse, see leastsq).
    """
    pos = {n: i for i, n in enumerate(order)}
    B, d = C.shape[0], len(order)
    var_n = np.empty((B, d))
    degenerate = np.zeros(B, dtype=bool)
    coefs: dict[Any, dict[Any, np.ndarray]] = {}
    top = np.einsum("bii->b", C) / d
    for i, node in enumerate(order):
        pars = [pos[p] for p in parents[node]]
        if not pars:
            var_n[:, i] = C[:, i, i]
        else:
            beta, rank = stable_solve(C[:, pars][:, :, pars], C[:, pars, i])
            var_n[:, i] = C[:, i, i] - np.einsum("bp,bp->b", beta, C[:, pars, i])
            degenerate |= rank < len(pars)
            coefs[node] = {parents[node][q]: beta[:, q] for q in range(len(pars))}
        degenerate |= C[:, i, i] <= 1e-12 * top
    a = total_effects(order, coefs, target)
    ici = np.column_stack([a[n] ** 2 * np.maximum(var_n[:, i], 0.0) for i, n in enumerate(order)])
    return ici, degenerate
