"""Why was this unit-period's target far from what the model expected? Each node's own part of the deviation.

For given rows of the node table, the target's deviation from its expected value under the fitted SCM
(E[Y], the model's mean), an anomaly score, and each node's contribution to the deviation, in the target's
units. The noises of a row are reconstructed from its values (roots: the value itself; others: the residual).

Contribution (Janzing et al. 2019, "Causal structure based root cause analysis of outliers"; DoWhy's
``gcm.attribute_anomalies`` with ``attribute_mean_deviation=True`` and the identity as its scorer): the Shapley
value of node j in the game over the noises of the target's ancestors (target included) with
v(S) = E[Y | N_S = n_S] - E[Y], the other noises drawn from their fitted distributions. v(all) is the
deviation, so the contributions sum to it. Linear mechanisms: v is additive, and the contribution is the
closed form a_j (n_j - E[N_j]), a_j the node's total effect on the target. Otherwise the expectation is a mean
over `n_background` joint noise draws shared by every row and subset (common random numbers), all 2^d subsets
while d <= max_exact, else sampled node orders (antithetic pairs); the sum stays exact either way.

Score: DoWhy's default, the information-theoretic score -log P(g(Y) >= g(y)) of the target, with g its
two-sided quantile score (``MedianCDFQuantileScorer``) against `n_samples` draws of Y from the model. A row is
flagged when score >= threshold. DoWhy's default attribution splits that score (not the deviation) over the
nodes; ``benchmarks/bench_anomalies.py`` compares both with DoWhy on the same fitted SCM.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from ._threads import serial
from .effects import total_effects
from .forward import Forward, antithetic_permutations, shapley_values
from .result import AnomalyFacts, EngineResult
from .scm import FittedSCM
from .shapley import sample_noises
from .validation import relevant_nodes

ANOMALY_COLUMNS = [
    "row",
    "node",
    "contribution",
    "mc_se",
    "deviation",
    "expected",
    "observed",
    "score",
    "flagged",
    "mechanism",
    "method",
]
#: Default flag threshold on the IT score: -log(0.001), i.e. fewer than 1 in 1,000 unit-periods drawn from the
#: model lie as far from the target's median; with 20 units and 7 periods, about one false flag in 7 runs.
DEFAULT_THRESHOLD = round(-math.log(1e-3), 1)
#: Rows x background draws evaluated at once by the Shapley path (bounds memory).
CHUNK_CELLS = 200_000
#: Equal batches of the background draws behind each contribution's Monte Carlo standard error.
MC_BATCHES = 10


def row_noises(scm: FittedSCM, rows: pd.DataFrame, order: list[Any]) -> np.ndarray:
    """Each row's noise per node of `order` (n, d): roots their value, others value - f(parents)."""
    missing = [n for n in order if n not in rows.columns]
    if missing:
        raise ValueError(f"rows lack node column(s) {missing}: pass the node table's columns")
    rows = scm.encode_rows(rows[order])  # a categorical node as its level codes
    out = np.empty((len(rows), len(order)))
    for i, node in enumerate(order):
        y = rows[node].to_numpy(dtype=float)
        if np.isnan(y).any():
            raise ValueError(f"column {node!r} has missing values in the rows to explain: fill or drop them")
        pars = scm.parents[node]
        out[:, i] = scm.mechanisms[node].noise(rows[pars].to_numpy(dtype=float), y) if pars else y
    return out


def it_scores(observed: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """-log P(g(Y) >= g(y)) with g the two-sided quantile score (DoWhy's MedianCDFQuantileScorer and
    relative frequency (count + 0.5) / (n + 0.5)), for each observed y against samples of Y."""
    s = np.sort(samples)
    n = len(s)

    def g(x: np.ndarray) -> np.ndarray:
        below, upto = np.searchsorted(s, x, "left"), np.searchsorted(s, x, "right")
        equal = upto - below + 1  # x itself counts as one more sample, half on each side
        return 1.0 - 2.0 * np.minimum(n - upto + equal / 2, below + equal / 2) / (n + 1)

    g_samples = np.sort(g(s))
    at_least = n - np.searchsorted(g_samples, g(np.asarray(observed, dtype=float)), "left")
    return -np.log((at_least + 0.5) / (n + 0.5))


def _linear(scm: FittedSCM, order: list[Any], noise: np.ndarray, target: Any) -> tuple[np.ndarray, float]:
    """(contributions (n, d), E[Y]): a_j (n_j - E[N_j]); E[Y] from a forward pass at the mean noises."""
    coefs = {n: scm.linear_coefficients(n) for n in order if scm.parents[n]}
    a = total_effects(order, coefs, target)
    means = np.array([scm.noise[n].mean() for n in order])
    expected = float(Forward(scm, order).full(means[None, :])[-1][0])
    return (noise - means) * np.array([a[n] for n in order]), expected


def _shapley(
    scm: FittedSCM, order: list[Any], noise: np.ndarray, background: np.ndarray, max_exact: int, n_perm: int, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """(contributions (n, d), their Monte Carlo SE (n, d), E[Y]): Shapley values of
    v(S) = mean over background of Y(n_S, background) - E[Y]. The SE comes from MC_BATCHES equal batches of the
    background draws (each batch's contributions also sum to the deviation from its own mean); for sampled node
    orders it is the background's error given those orders."""
    fw = Forward(scm, order)
    d, t, b = len(order), len(order) - 1, len(background)
    k = MC_BATCHES if b % MC_BATCHES == 0 and b >= 2 * MC_BATCHES else 1
    expected = float(fw.full(background)[t].mean())
    phi = np.zeros((len(noise), d, k))
    step = max(1, CHUNK_CELLS // b)
    rng = np.random.default_rng([seed, 0xA0A])
    perms = [] if d <= max_exact else list(antithetic_permutations(d, n_perm, rng))
    for s in range(0, len(noise), step):
        rows = noise[s : s + step]
        on, off = np.repeat(rows, b, axis=0), np.tile(background, (len(rows), 1))

        def means(y: np.ndarray, r: int = len(rows)) -> np.ndarray:  # (rows, batches)
            return y.reshape(r, k, b // k).mean(axis=2)

        if not perms:
            v = np.empty((1 << d, len(rows), k))
            for mask, y in fw.subset_values(on, off, t):
                v[mask] = means(y)
            phi[s : s + step] = shapley_values(v).transpose(1, 0, 2)
            continue
        start = fw.full(off)
        for perm in perms:
            prev = means(start[t])
            for j, vals in fw.walk(perm, on, off, start):
                cur = means(vals[t])
                phi[s : s + step, j] += cur - prev
                prev = cur
        phi[s : s + step] /= len(perms)
    se = phi.std(axis=2, ddof=1) / np.sqrt(k) if k > 1 else np.full(phi.shape[:2], np.nan)
    return phi.mean(axis=2), se, expected


def attribute_anomalies(
    scm: FittedSCM,
    rows: pd.DataFrame,
    target: Any,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    n_samples: int = 10_000,
    n_background: int = 2_000,
    max_exact: int = 10,
    n_permutations: int = 64,
    seed: int = 0,
    method: str = "auto",
) -> EngineResult[AnomalyFacts]:
    """One row per (row of `rows`, node among the target and its ancestors): the node's contribution to the
    target's deviation from E[target] under `scm` and its Monte Carlo SE (0 in closed form), the deviation,
    expected and observed target, the IT anomaly score and whether it reaches `threshold` (``row`` is the row's
    position in `rows`). Contributions sum to the deviation. `method`: 'auto' (closed form when every mechanism
    involved is linear), or 'shapley' to force the simulation. Seeded: same inputs, same numbers."""
    start = time.perf_counter()
    if method not in ("auto", "shapley"):
        raise ValueError(f"method {method!r}: use 'auto' or 'shapley'")
    if target not in scm.graph:
        raise ValueError(f"target {target!r} is not a node of the fitted model (nodes: {scm.order})")
    order = relevant_nodes(scm.graph, target)
    noise = row_noises(scm, rows, order)
    observed = rows[target].to_numpy(dtype=float)
    rng = np.random.default_rng([seed, 0xA0B])
    with serial():
        fw = Forward(scm, order)
        y_model = fw.full(sample_noises(scm, order, n_samples, rng))[-1]
        if method == "auto" and scm.is_linear(order):
            phi, expected = _linear(scm, order, noise, target)
            se, used, n_bg = np.zeros_like(phi), "closed_form_linear", 0
        else:
            background = sample_noises(scm, order, n_background, rng)
            phi, se, expected = _shapley(scm, order, noise, background, max_exact, n_permutations, seed)
            used = "shapley_exact" if len(order) <= max_exact else "shapley_permutation"
            n_bg = n_background
    scores = it_scores(observed, y_model) if len(rows) else np.zeros(0)
    n, d = len(rows), len(order)
    deviation = observed - expected
    table = pd.DataFrame(
        {
            "row": np.repeat(np.arange(n), d),
            "node": order * n,
            "contribution": phi.reshape(-1),
            "mc_se": se.reshape(-1),
            "deviation": np.repeat(deviation, d),
            "expected": expected,
            "observed": np.repeat(observed, d),
            "score": np.repeat(scores, d),
            "flagged": np.repeat(scores >= threshold, d),
            "mechanism": [scm.kinds[n] for n in order] * n,
            "method": used,
        },
        columns=ANOMALY_COLUMNS,
    )
    residual = np.abs(phi.sum(axis=1) - deviation) if n else np.zeros(0)
    facts = AnomalyFacts(
        method=used,
        target=str(target),
        n_rows=len(scm.data),
        seed=seed,
        n_periods=scm.n_periods,
        n_samples=n_samples,
        max_mc_se=None if n_bg == 0 or not n or np.isnan(se).all() else float(np.nanmax(se)),
        seconds=time.perf_counter() - start,
        n_explained=n,
        n_flagged=int(np.sum(scores >= threshold)),
        threshold=float(threshold),
        expected=expected,
        n_background=n_bg,
        max_sum_error=float(residual.max()) if n else 0.0,
    )
    return EngineResult(table, facts)
