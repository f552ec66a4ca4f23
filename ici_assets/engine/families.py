"""Choosing a spend node's carryover and saturation families ('auto') by held-out error.

``auto`` families: candidates simplest first (carryover none < geometric < weibull, chosen with the most
flexible saturation candidate; then saturation none < michaelis_menten < logistic < hill), each refitted on
folds that are contiguous runs of periods and scored on the held-out run (the lag windows come from the full
series, so a held-out row keeps its history); a more flexible family replaces the incumbent only when its
held-out gain passes the rule of :mod:`selection` (above 1 % of the incumbent's error, and beyond the noise by a
z-score of batch means over runs of periods), with one change: the z threshold is Z_FAMILY = 2 instead of
selection's 4. The mechanism choice compares kinds on thousands of rows; a family here is often chosen on ~150
weeks, where the gain of carryover sits in the few weeks around each flight's start and end: on the weekly
generator (benchmarks/bench_transforms.py) geometric carryover cut the held-out error 6-fold (0.37 -> 0.056)
at a z of only 2.7, so 4 would keep 'none' on every weekly series. The per-family z-scores are kept
(``family_z``) so the choice can be audited. Errors of several children are added after dividing each by its
variance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .profile import NodeProfile, Problem
from .selection import FOLDS, MIN_GAIN, _clearly_better
from .transforms import AUTO_SATURATION, CARRYOVER_KINDS, Transform

Z_FAMILY = 2.0  # batch-means z of a family's held-out gain (selection.Z_GAIN is 4: see the module docstring)


def _fold_errors(
    problem: Problem, node: Any, families: tuple[str, str], others: Mapping[Any, np.ndarray]
) -> np.ndarray:
    """Held-out error of each row (children's squared errors over their variances) with folds that are runs of
    periods; the node's parameters and its children's coefficients refitted without the fold."""
    n = problem.n
    codes = problem.periods if problem.periods is not None else np.arange(n)
    codes = np.unique(codes, return_inverse=True)[1]
    folds = codes * FOLDS // (codes.max() + 1)
    err = np.zeros(n)
    spec = problem.specs[node]
    for f in range(FOLDS):
        test, train = np.flatnonzero(folds == f), np.flatnonzero(folds != f)
        if len(test) == 0 or len(train) < 3:
            continue
        prof = NodeProfile(problem, node, train, others)
        best, _, _, _ = prof.fit(*families)
        col = Transform(node, families[0], families[1], spec.max_lag, best).apply(problem.lags[node])
        for c in problem.children[node]:
            others_c = [problem.fixed[c]] + [others[s][:, None] for s in problem.spend_parents[c] if s != node]
            A = np.column_stack([np.ones(n), *others_c, col])
            beta = np.linalg.lstsq(A[train], problem.y[c][train], rcond=None)[0]
            var = float(np.var(problem.y[c][train])) or 1.0
            err[test] += (problem.y[c][test] - A[test] @ beta) ** 2 / var
    return err


def choose_families(
    problem: Problem, node: Any, others: Mapping[Any, np.ndarray]
) -> tuple[tuple[str, str], dict[str, float], dict[str, float]]:
    """The node's (carryover, saturation) families (declared ones kept, 'auto' chosen by held-out error), each
    tried family's held-out error, and the z-score of each challenger against the incumbent it met."""
    spec = problem.specs[node]
    carries = CARRYOVER_KINDS if spec.carryover == "auto" else (spec.carryover,)
    sats = AUTO_SATURATION if spec.saturation == "auto" else (spec.saturation,)
    codes = None if problem.periods is None else np.unique(problem.periods, return_inverse=True)[1]
    mse: dict[str, float] = {}
    zs: dict[str, float] = {}
    cache: dict[tuple[str, str], np.ndarray] = {}

    def errors(fam: tuple[str, str]) -> np.ndarray:
        if fam not in cache:
            cache[fam] = _fold_errors(problem, node, fam, others)
            mse[f"{fam[0]}+{fam[1]}"] = float(cache[fam].mean())
        return cache[fam]

    def pick(options: list[tuple[str, str]]) -> tuple[str, str]:
        best = options[0]
        if len(options) == 1:
            return best
        for fam in options[1:]:
            z, _ = _clearly_better(errors(best), errors(fam), codes)
            gain = float(errors(best).mean() - errors(fam).mean())
            zs[f"{fam[0]}+{fam[1]} vs {best[0]}+{best[1]}"] = float(z)
            if z > Z_FAMILY and gain > MIN_GAIN * float(errors(best).mean()):
                best = fam
        return best

    flex_sat = sats[-1]
    carry_kind = pick([(c, flex_sat) for c in carries])[0]
    return pick([(carry_kind, s) for s in sats]), mse, zs
