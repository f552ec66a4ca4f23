"""Why did the target's mean move between two samples? Shapley attribution over mechanism changes.

The quantity of DoWhy's `gcm.distribution_change` with the difference of means (Budhathoki et al.
2021): fit the same graph, with the same mechanism kinds, on the old and the new sample; v(S) is the
target's mean when the nodes in S take their new mechanism and noise (roots: their new marginal
distribution) and the others their old ones; a node's contribution is its Shapley value. v(none)
and v(all) are the observed means, so the contributions sum to the observed change.
Linear mechanisms: v(S) by propagating means (exact, every subset). Otherwise forward passes over
pairs (old row, new row): every pair while n_old x n_new <= max_pairs (an exact computation for the
empirical noise distributions), else a balanced random set of pairs with a Monte Carlo error.
"""

from __future__ import annotations

import logging
import time
from math import ceil
from typing import Any

import numpy as np
import pandas as pd

from . import intervals
from ._threads import serial
from .bootstrap import refits
from .categorical import is_categorical, levels_of
from .forward import Forward, antithetic_permutations, batch_means, shapley_values
from .montecarlo import DEFAULT_MAX_SAMPLES, DEFAULT_TOLERANCE, GROWTH, MonteCarlo, relative_errors
from .resampling import Bootstrap, resampling_plan
from .result import ChangeFacts, EngineResult
from .scm import FittedSCM, MechanismSpec, fit_scm
from .validation import GraphLike, relevant_nodes, validate_data, validate_inputs

ATTRIBUTION_COLUMNS = [
    "node",
    "part",
    "contribution",
    "low",
    "high",
    "mc_se",
    "share_of_change",
    "mechanism",
    "observed_change",
    "old_mean",
    "new_mean",
    "method",
]
MAX_EXACT_LINEAR = 20
BATCHES = 10

log = logging.getLogger(__name__)


def shared_kinds(
    old: pd.DataFrame,
    new: pd.DataFrame,
    graph: Any,
    nodes: list[Any],
    mechanisms: MechanismSpec,
    seed: int,
    time_column: Any = None,
) -> MechanismSpec:
    """One kind per node for both samples: chosen on the pooled rows when 'auto'/'nonlinear' (so a node's kind
    cannot flip between the samples), else the spec as given."""
    if not isinstance(mechanisms, str) or mechanisms not in ("auto", "nonlinear"):
        return mechanisms
    cols = nodes + ([] if time_column is None else [time_column])
    pooled = pd.concat([old[cols], new[cols]], ignore_index=True)
    kinds = fit_scm(
        pooled, graph, mechanisms=mechanisms, seed=seed, nodes=nodes, validate=False, time_column=time_column
    ).kinds
    return {n: k for n, k in kinds.items() if k != "root"}


def _linear_values(old: FittedSCM, new: FittedSCM, order: list[Any], on: np.ndarray) -> np.ndarray:
    """Target mean of the hybrid linear model for each row of `on` (M, d) bools: node i new if on[:, i]."""
    mu: list[np.ndarray] = []
    for i, node in enumerate(order):
        pars = [order.index(p) for p in old.parents[node]]
        side = []
        for scm in (old, new):
            if not pars:
                side.append(np.full(len(on), float(scm.data[node].mean())))
                continue
            mech = scm.mechanisms[node]
            side.append(mech.intercept_ + sum(c * mu[p] for c, p in zip(mech.coef_, pars)))  # type: ignore[attr-defined]
        mu.append(np.where(on[:, i], side[1], side[0]))
    return mu[-1]


def _linear_attribution(old: FittedSCM, new: FittedSCM, order: list[Any], seed: int) -> np.ndarray:
    """Shapley values of the hybrid means: all 2^d subsets up to MAX_EXACT_LINEAR nodes, else 200 sampled orders."""
    d = len(order)
    ends = float(old.data[order[-1]].mean()), float(new.data[order[-1]].mean())
    if d <= MAX_EXACT_LINEAR:
        masks = np.arange(1 << d)
        v = _linear_values(old, new, order, (masks[:, None] >> np.arange(d)) & 1 == 1)
        v[0], v[-1] = ends
        return shapley_values(v - ends[0])
    rng = np.random.default_rng([seed, 0xA77])
    phi = np.zeros(d)
    perms = list(antithetic_permutations(d, 200, rng))
    for perm in perms:
        on = np.zeros((d + 1, d), dtype=bool)
        for step, k in enumerate(perm):
            on[step + 1 :, k] = True
        v = _linear_values(old, new, order, on)
        v[0], v[-1] = ends
        phi[perm] += np.diff(v)
    return phi / len(perms)


def _pairs(n_old: int, n_new: int, max_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """(old rows, new rows, every pair?): all pairs if few enough, else max_pairs balanced random pairs."""
    if n_old * n_new <= max_pairs:
        return np.repeat(np.arange(n_old), n_new), np.tile(np.arange(n_new), n_old), True
    return rng.permutation(np.arange(max_pairs) % n_old), rng.permutation(np.arange(max_pairs) % n_new), False


def _simulated_attribution(
    old: FittedSCM, new: FittedSCM, order: list[Any], seed: int, max_pairs: int, max_exact: int
) -> tuple[np.ndarray, np.ndarray]:
    """(Shapley values, Monte Carlo SE) from forward passes of the hybrid models over (old row, new row) pairs."""
    rng = np.random.default_rng([seed, 0xA78])
    i, k, complete = _pairs(len(old.data), len(new.data), max_pairs, rng)
    off = np.column_stack([old.noise[n][i] for n in order])
    on = np.column_stack([new.noise[n][k] for n in order])
    fw = Forward(old, order, on_scm=new)
    d, t = len(order), len(order) - 1
    ends = np.array([float(old.data[order[-1]].mean()), float(new.data[order[-1]].mean())])

    def means(y: np.ndarray) -> np.ndarray:  # overall mean, then the batch means
        return np.concatenate([[y.mean()], batch_means(y, BATCHES)])

    with serial():
        if d <= max_exact:
            v = np.empty((1 << d, BATCHES + 1))
            for mask, y in fw.subset_values(on, off, t):
                v[mask] = means(y)
            v[0], v[-1] = ends[0], ends[1]
            phi = shapley_values(v - ends[0])
        else:
            phi = np.zeros((d, BATCHES + 1))
            perms = list(antithetic_permutations(d, 64, rng))
            start = fw.full(off)
            for perm in perms:
                path = [means(start[t])] + [means(vals[t]) for _, vals in fw.walk(perm, on, off, start)]
                path[0], path[-1] = np.full(BATCHES + 1, ends[0]), np.full(BATCHES + 1, ends[1])
                phi[perm] += np.diff(np.array(path), axis=0)
            phi /= len(perms)
    se = np.zeros(d) if complete else phi[:, 1:].std(axis=1, ddof=1) / np.sqrt(BATCHES)
    return phi[:, 0], se


def attribute(
    old: FittedSCM, new: FittedSCM, target: Any, *, seed: int = 0, max_pairs: int = 40_000, max_exact: int = 12
) -> tuple[np.ndarray, np.ndarray, str]:
    """(contribution per node of relevant_nodes(target), Monte Carlo SE, method) for two fitted SCMs."""
    order = relevant_nodes(old.graph, target)
    if old.is_linear(order) and new.is_linear(order):
        return _linear_attribution(old, new, order, seed), np.zeros(len(order)), "closed_form_linear"
    phi, se = _simulated_attribution(old, new, order, seed, max_pairs, max_exact)
    return phi, se, "simulation"


def attribute_precisely(
    old: FittedSCM,
    new: FittedSCM,
    target: Any,
    *,
    seed: int,
    max_pairs: int,
    max_exact: int,
    settings: MonteCarlo,
) -> tuple[np.ndarray, np.ndarray, str, int, float, bool]:
    """:func:`attribute` with pairs added until every contribution's Monte Carlo error is within
    ``settings.tolerance`` of the old mean of the target (the level it moves), every pair is used (exact), or
    ``settings.max_samples`` pairs are reached. Returns (contributions, errors, method, pairs, largest relative
    error, whether the cap stopped it); each step draws its pairs afresh from the seed (deterministic)."""
    level = abs(float(old.data[target].mean()))
    every = len(old.data) * len(new.data)
    cap = max(1, min(int(settings.max_samples), every))
    pairs = min(max_pairs, cap)
    while True:
        phi, se, method = attribute(old, new, target, seed=seed, max_pairs=pairs, max_exact=max_exact)
        rel = float(np.max(relative_errors(np.full(len(se), level), se), initial=0.0))
        if method != "simulation" or rel <= settings.tolerance or pairs >= cap:
            break
        grown = min(cap, max(GROWTH * pairs, ceil(1.1 * pairs * (rel / settings.tolerance) ** 2)))
        log.info(
            "change attribution of %s: Monte Carlo error %.3f %% of its mean with %s pairs, above %.3g %%: %s pairs",
            target,
            100 * rel,
            f"{pairs:,}",
            100 * settings.tolerance,
            f"{grown:,}",
        )
        pairs = grown
    n_pairs = 0 if method != "simulation" else min(pairs, every)
    capped = rel > settings.tolerance
    if capped:
        log.warning(
            "change attribution of %s: Monte Carlo error %.3f %% of its mean at the cap of %s pairs (max_samples)",
            target,
            100 * rel,
            f"{cap:,}",
        )
    return phi, se, method, n_pairs, rel, capped


def fit_pair(
    old_data: pd.DataFrame,
    new_data: pd.DataFrame,
    graph: GraphLike,
    target: Any,
    *,
    mechanisms: MechanismSpec = "auto",
    seed: int = 0,
    time_column: Any = None,
) -> tuple[FittedSCM, FittedSCM]:
    """Validate both samples and fit the target's ancestors on each with one kind per node."""
    try:
        g = validate_inputs(old_data, graph, target)
    except ValueError as err:
        raise ValueError(f"old_data: {err}") from None
    try:
        validate_data(new_data, g)
    except ValueError as err:
        raise ValueError(f"new_data: {err}") from None
    nodes = relevant_nodes(g, target)
    kinds = shared_kinds(old_data, new_data, g, nodes, mechanisms, seed, time_column)
    fit = {"mechanisms": kinds, "seed": seed, "nodes": nodes, "validate": False, "time_column": time_column}
    # a categorical node's levels coded alike in both fits (the hybrids swap mechanisms between them)
    levels = {n: _union_levels(old_data[n], new_data[n]) for n in nodes if is_categorical(old_data[n])}
    fits = []
    for name, data in (("old_data", old_data), ("new_data", new_data)):
        try:
            fits.append(fit_scm(data, g, levels=levels, **fit))
        except ValueError as err:  # e.g. a level of one sample missing from the other: its effect is not known
            raise ValueError(f"{name}: {err}") from None
    return fits[0], fits[1]


def _union_levels(old: pd.Series, new: pd.Series) -> tuple[Any, ...]:
    """The levels of a categorical node in either sample, sorted."""
    return levels_of(pd.concat([old.astype(object), new.astype(object)], ignore_index=True))


def change_attribution(
    old_data: pd.DataFrame,
    new_data: pd.DataFrame,
    graph: GraphLike,
    target: Any,
    *,
    mechanisms: MechanismSpec = "auto",
    time_column: Any = None,
    max_pairs: int = 40_000,
    bootstrap_max_pairs: int = 2_000,
    max_exact: int = 12,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    mc_tolerance: float = DEFAULT_TOLERANCE,
    bootstrap: Bootstrap | None = None,
    **options: Any,
) -> EngineResult[ChangeFacts]:
    """One row per node (target and its ancestors): its contribution to new mean - old mean of the target, as a
    Shapley value over replacing old mechanisms (roots: distributions) by new ones; the contributions sum to
    `observed_change`. Intervals resample both samples (blocks of periods with `time_column`) and refit.
    `part` says what changed: a root's distribution or a node's mechanism (with its noise). Nonlinear models
    simulate over `max_pairs` (old row, new row) pairs, more (up to `max_samples`, logged) while a contribution's
    Monte Carlo error is above `mc_tolerance` of the target's old mean; each resample over `bootstrap_max_pairs`.
    Intervals and the seed: the :class:`Bootstrap` keywords, or ``bootstrap=Bootstrap(...)``. Returns the table
    and its :class:`ChangeFacts`."""
    start = time.perf_counter()
    settings = Bootstrap.of("change_attribution", bootstrap, options)
    seed, n_bootstrap = settings.seed, settings.n_bootstrap
    old, new = fit_pair(old_data, new_data, graph, target, mechanisms=mechanisms, seed=seed, time_column=time_column)
    order = relevant_nodes(old.graph, target)
    mc_settings = MonteCarlo(tolerance=mc_tolerance, max_samples=max_samples)
    est, mc, method, n_pairs, rel_mc, capped = attribute_precisely(
        old, new, target, seed=seed, max_pairs=max_pairs, max_exact=max_exact, settings=mc_settings
    )
    old_mean, new_mean = float(old.data[target].mean()), float(new.data[target].mean())
    change = new_mean - old_mean
    boot_facts: dict[str, Any] = {}
    low, high = np.full(len(order), np.nan), np.full(len(order), np.nan)
    if settings.active:
        plans = [resampling_plan(scm, order, settings.resampling, settings.block_length) for scm in (old, new)]
        draws = [
            refits(scm, order, p, n_bootstrap, settings.rng(0xA7, j))
            for j, (scm, p) in enumerate(zip((old, new), plans))
        ]
        boot, degenerate = [], 0
        for (r_old, flat_old), (r_new, flat_new) in zip(*draws):
            degenerate += flat_old or flat_new
            boot.append(
                attribute(r_old, r_new, target, seed=seed, max_pairs=bootstrap_max_pairs, max_exact=max_exact)[0]
            )
        dfs = [p.df for p in plans if p.df is not None]
        low, high = intervals.interval(
            np.array(boot), est, settings.interval, level=settings.level, df=min(dfs) if dfs else None, bounds=None
        )
        boot_facts = settings.facts(plans[0], degenerate)
        if plans[0].kind == "block":
            lengths = (plans[0].block_length, plans[1].block_length)
            boot_facts.update(block_length=max(lengths), block_lengths=lengths)
    table = pd.DataFrame(
        {
            "node": order,
            "part": ["mechanism" if old.parents[n] else "distribution" for n in order],
            "contribution": est,
            "low": low,
            "high": high,
            "mc_se": mc,
            "share_of_change": 100.0 * est / change if change != 0 else np.nan,
            "mechanism": [old.kinds[n] for n in order],
            "observed_change": change,
            "old_mean": old_mean,
            "new_mean": new_mean,
            "method": method,
        },
        columns=ATTRIBUTION_COLUMNS,
    )
    periods = (old.n_periods, new.n_periods)
    facts = ChangeFacts(
        method=method,
        target=str(target),
        n_rows=len(old.data) + len(new.data),
        seed=seed,
        n_periods=None if None in periods else sum(p for p in periods if p is not None),
        n_samples=n_pairs,
        max_mc_se=float(np.max(mc)),
        max_relative_mc_se=rel_mc,
        mc_capped=capped,
        n_old=len(old.data),
        n_new=len(new.data),
        observed_change=float(change),
        seconds=time.perf_counter() - start,
        **boot_facts,
    )
    return EngineResult(table, facts)
