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
at a z of only 2.7, so 4 would keep 'none' on every weekly series. Even 2 is not always passed: that gain sits in a
few runs of periods, so its batch means are skewed and their z understates it (weekly seed 4, carryover 'auto' with
Hill declared: the held-out error cut 11-fold, 0.56 -> 0.049, at z 1.997). So a family that nests the simpler one
(carryover none is geometric at decay 0; no saturation is any curve at an infinite half-saturation;
Michaelis-Menten is Hill at slope 1) is also adopted, still only with a held-out gain above MIN_GAIN, when its
profile likelihood ratio on all rows passes chi2_df at LR_ADOPT = 0.001 (seed 4: 236). A choice the data cannot
make is said, never silent: when a challenger is not adopted but its held-out gain passes MIN_GAIN at a z of at
least Z_BORDER = 1, or its likelihood ratio passes chi2_df at LR_BORDER = 0.01, the node is flagged ("carryover
family borderline: auto kept 'none' over 'geometric' ..."), which the ``transforms_identified`` check shows. On 20
weekly seeds with both transforms 'auto', TV's carryover is geometric on all, its saturation Hill on 14, logistic
on 5 (4 flagged) and none on 1 (flagged). The per-family z-scores are kept (``family_z``) so the choice can be
audited. Errors of several children are added after dividing each by its variance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from .profile import NodeProfile, Problem
from .selection import FOLDS, MIN_GAIN, _clearly_better
from .transforms import AUTO_SATURATION, CARRYOVER_KINDS, PARAMETERS, Transform

Z_FAMILY = 2.0  # batch-means z of a family's held-out gain (selection.Z_GAIN is 4: see the module docstring)
Z_BORDER = 1.0  # a held-out gain at a z from here to Z_FAMILY, not adopted: the choice is flagged borderline
LR_ADOPT = 0.001  # level of the likelihood-ratio test that adopts a nesting family (with a held-out gain)
LR_BORDER = 0.01  # level at which a nesting family not adopted makes the choice borderline


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


def _nested(simple: str, flexible: str) -> bool:
    """Whether the simpler family is the flexible one at a parameter's value or limit: no carryover is geometric
    at decay 0 (and Weibull at a vanishing scale), no saturation any curve at an infinite half-saturation,
    Michaelis-Menten Hill at slope 1."""
    return simple == "none" or (simple, flexible) == ("michaelis_menten", "hill")


def choose_families(
    problem: Problem, node: Any, others: Mapping[Any, np.ndarray]
) -> tuple[tuple[str, str], dict[str, float], dict[str, float], list[str]]:
    """The node's (carryover, saturation) families (declared ones kept, 'auto' chosen by held-out error), each
    tried family's held-out error, the z-score of each challenger against the incumbent it met, and the flags of
    a borderline choice (see :func:`_verdict`)."""
    spec = problem.specs[node]
    carries = CARRYOVER_KINDS if spec.carryover == "auto" else (spec.carryover,)
    sats = AUTO_SATURATION if spec.saturation == "auto" else (spec.saturation,)
    codes = None if problem.periods is None else np.unique(problem.periods, return_inverse=True)[1]
    mse: dict[str, float] = {}
    zs: dict[str, float] = {}
    flags: dict[str, str] = {}  # per challenger family that the incumbent met, within one pick
    done: list[str] = []
    cache: dict[tuple[str, str], np.ndarray] = {}
    whole = NodeProfile(problem, node, np.arange(problem.n), others)
    objective: dict[tuple[str, str], float] = {}

    def errors(fam: tuple[str, str]) -> np.ndarray:
        if fam not in cache:
            cache[fam] = _fold_errors(problem, node, fam, others)
            mse[f"{fam[0]}+{fam[1]}"] = float(cache[fam].mean())
        return cache[fam]

    def deviance(simple: tuple[str, str], flexible: tuple[str, str]) -> float:
        """Profile likelihood-ratio statistic of the flexible family against the simpler one, on all rows."""
        for fam in (simple, flexible):
            if fam not in objective:
                objective[fam] = whole.fit(*fam)[1]
        return 2.0 * (objective[simple] - objective[flexible])

    def pick(options: list[tuple[str, str]], part: int) -> tuple[str, str]:
        best = options[0]
        for fam in options[1:]:
            z, _ = _clearly_better(errors(best), errors(fam), codes)
            e_best, e_fam = float(errors(best).mean()), float(errors(fam).mean())
            zs[f"{fam[0]}+{fam[1]} vs {best[0]}+{best[1]}"] = float(z)
            nested = _nested(best[part], fam[part])
            df = len(PARAMETERS[fam[part]]) - len(PARAMETERS[best[part]])
            dev = deviance(best, fam) if nested and df > 0 else float("nan")
            adopt, borderline = _verdict(e_best, e_fam, float(z), dev, df)
            if borderline:
                flags[fam[part]] = (
                    f"{('carryover', 'saturation')[part]} family borderline: auto kept {best[part]!r} over "
                    f"{fam[part]!r} (held-out error {e_best:.3g} vs {e_fam:.3g}, z {float(z):.2f}, needs "
                    f"{Z_FAMILY:g}" + ("" if np.isnan(dev) else f"; likelihood ratio {dev:.1f}") + "): the data "
                    "cannot tell them apart; declare the family if you know it"
                )
            if adopt:
                best = fam
        # only the final family's borderline wins count: an incumbent later replaced was no choice at all
        kept = [f"auto kept {best[part]!r} over" in text for text in flags.values()]
        done.extend(text for text, k in zip(flags.values(), kept) if k)
        flags.clear()
        return best

    flex_sat = sats[-1]
    carry_kind = pick([(c, flex_sat) for c in carries], 0)[0]
    chosen = pick([(carry_kind, s) for s in sats], 1)
    return chosen, mse, zs, done


def _verdict(e_simple: float, e_flexible: float, z: float, deviance: float, df: int) -> tuple[bool, bool]:
    """(adopt the flexible family, the choice is borderline). Adopted when its held-out gain passes MIN_GAIN and
    is beyond the noise: a batch-means z above Z_FAMILY, or, for a family nesting the simpler one, a profile
    likelihood ratio above chi2_df(1 - LR_ADOPT) on all rows. Borderline when not adopted but the held-out gain
    passes MIN_GAIN at a z of at least Z_BORDER, or a nesting family's likelihood ratio passes chi2_df(1 -
    LR_BORDER): the node is then flagged (``not identified``), never a silent simpler family."""
    gain = e_simple - e_flexible > MIN_GAIN * e_simple
    lr = not np.isnan(deviance) and df > 0
    adopt = gain and (z > Z_FAMILY or (lr and deviance > float(stats.chi2.ppf(1 - LR_ADOPT, df))))
    borderline = not adopt and (
        (gain and z >= Z_BORDER) or (lr and deviance > float(stats.chi2.ppf(1 - LR_BORDER, df)))
    )
    return adopt, borderline
