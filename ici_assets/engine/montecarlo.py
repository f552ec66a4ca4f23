"""Monte Carlo estimates that control their own error: the simulated rows grow until the standard error is small.

An expected target under an intervention (:class:`.interventions.Interventional`) is simulated over a seeded
subsample of the noise rows; its Monte Carlo standard error falls as rows are added and is 0 once every row is
simulated (the expectation over the fitted model's empirical noise distribution is then exact). :func:`refine`
adds rows (nested: the first ones stay, so the numbers are deterministic for a seed) until the largest error is
below ``tolerance`` of its level, every row is used, or ``max_samples`` rows are reached; it logs each step and
says which of the three stopped it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from math import ceil

import numpy as np

from .interventions import DEFAULT_SAMPLES, Interventional

#: Largest Monte Carlo standard error, relative to the level it qualifies (the decision checks' threshold).
DEFAULT_TOLERANCE = 0.005
#: The most noise rows one estimate may simulate (a table with more rows is subsampled).
DEFAULT_MAX_SAMPLES = 1_000_000
#: Largest Monte Carlo standard error of a nonlinear ICI share, in points: a share whose truth is 0 then falls
#: below the no_share_below_minus_one check's -1 point by Monte Carlo noise alone in fewer than 1 run in 30,000.
DEFAULT_SHARE_TOLERANCE = 0.25
GROWTH = 2  # at least this factor more rows per step

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonteCarlo:
    """How far a simulated estimate refines itself: relative ``tolerance`` of its standard error, ``max_samples``
    rows at most, ``n_samples`` rows to start from."""

    tolerance: float = DEFAULT_TOLERANCE
    max_samples: int = DEFAULT_MAX_SAMPLES
    n_samples: int = DEFAULT_SAMPLES

    def __post_init__(self) -> None:
        if not self.tolerance > 0:
            raise ValueError(f"Monte Carlo tolerance={self.tolerance} must be positive (0.005: 0.5 % of the level)")
        if isinstance(self.max_samples, bool) or not int(self.max_samples) >= 1:
            raise ValueError(f"max_samples={self.max_samples} must be a positive number of rows")
        if not int(self.n_samples) >= 1:
            raise ValueError(f"n_samples={self.n_samples} must be a positive number of rows")


@dataclass(frozen=True)
class Precision:
    """What :func:`refine` reached: rows simulated, the largest relative standard error, whether that is within
    the tolerance (``reached``), whether every row was simulated (``exact``) and whether the cap stopped it."""

    n_samples: int
    max_relative_se: float
    tolerance: float
    exact: bool
    capped: bool

    @property
    def reached(self) -> bool:
        return self.max_relative_se <= self.tolerance


def relative_errors(values: np.ndarray, ses: np.ndarray) -> np.ndarray:
    """Each standard error over the magnitude of its value (0 where both are 0)."""
    values, ses = np.abs(np.asarray(values, dtype=float)), np.asarray(ses, dtype=float)
    return np.where(ses > 0, ses / np.maximum(values, 1e-12), 0.0)


def rows_needed(values: np.ndarray, ses: np.ndarray, m: int, n: int, tolerance: float) -> int:
    """Rows m' that bring every error to the tolerance, from se = s sqrt(1/m - 1/n) (finite population)."""
    shrink = np.sqrt(max(1.0 / m - 1.0 / n, 1e-300))
    s = np.asarray(ses, dtype=float) / shrink
    target = tolerance * np.abs(np.asarray(values, dtype=float))
    with np.errstate(divide="ignore"):
        need = 1.0 / ((target / np.where(s > 0, s, np.inf)) ** 2 + 1.0 / n)
    return int(ceil(float(np.max(need, initial=m))))


def refine(
    ev: Interventional,
    evaluate: Callable[[], tuple[np.ndarray, np.ndarray]],
    settings: MonteCarlo,
    what: str,
) -> tuple[np.ndarray, np.ndarray, Precision]:
    """(values, standard errors, precision) of ``evaluate()`` (values and their Monte Carlo errors under ``ev``'s
    current rows), with rows added until every error is within ``settings.tolerance`` of its value, every row is
    simulated, or ``settings.max_samples`` rows are reached. ``what`` names the estimate in the log."""
    cap = max(1, min(int(settings.max_samples), ev.n_data))
    if not ev.closed and ev.n_rows > cap:
        ev.use_samples(cap)
    while True:
        values, ses = evaluate()
        rel = float(np.max(relative_errors(values, ses), initial=0.0))
        if ev.closed or rel <= settings.tolerance or ev.exhaustive or ev.n_rows >= cap:
            break
        m = ev.n_rows
        grown = min(cap, max(GROWTH * m, ceil(1.1 * rows_needed(values, ses, m, ev.n_data, settings.tolerance))))
        log.info(
            "%s: Monte Carlo error %.3f %% of its level with %s rows, above %.3g %%: simulating %s rows",
            what,
            100 * rel,
            f"{m:,}",
            100 * settings.tolerance,
            f"{grown:,}",
        )
        ev.use_samples(grown)
    n_used = 0 if ev.closed else ev.n_rows
    precision = Precision(
        n_samples=n_used,
        max_relative_se=rel,
        tolerance=settings.tolerance,
        exact=ev.exhaustive,
        capped=rel > settings.tolerance and n_used >= cap and not ev.exhaustive,
    )
    if precision.capped:
        log.warning(
            "%s: Monte Carlo error %.3f %% of its level at the cap of %s rows (max_samples), above %.3g %%",
            what,
            100 * rel,
            f"{cap:,}",
            100 * settings.tolerance,
        )
    return values, ses, precision
