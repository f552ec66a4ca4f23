"""A reference SCM with categorical roots and known ICI shares: the evidence for categorical nodes (tests).

Weekday (7 string levels) and promotion type (3 string levels, unequal frequencies) are roots beside TV spend;
visits respond to all three, revenue to visits, TV and the promotion (a discount lowers revenue per visit):

    visits  = f(tv) + weekday effect + promo effect on visits + N(0, 1.5)   f(tv) = 1.5 tv, or 30 (1 - exp(-tv / 4))
    revenue = 2 visits + 0.5 tv + promo effect on revenue + N(0, 1)

Every noise enters the target additively, so ICI's game is additive and each share is the variance of one term:
weekday Var(2 e_w), promo Var(2 e_p + d_p) (the whole categorical, not per level), TV Var(2 f(tv) + 0.5 tv)
(closed form when linear, Gauss-Hermite quadrature when saturating), visits 4 x 1.5^2, revenue 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEKDAY = {"Mon": 0.0, "Tue": 0.0, "Wed": 0.5, "Thu": 0.5, "Fri": 1.5, "Sat": 4.0, "Sun": 3.0}
PROMO_P = {"none": 0.5, "bundle": 0.3, "discount": 0.2}
PROMO_VISITS = {"none": 0.0, "bundle": 3.0, "discount": 5.0}
PROMO_REVENUE = {"none": 0.0, "bundle": -1.0, "discount": -4.0}
TV_MEAN, TV_SD, VISITS_SD, REVENUE_SD = 10.0, 2.0, 1.5, 1.0
EDGES = [
    ("weekday", "visits"),
    ("promo", "visits"),
    ("tv", "visits"),
    ("visits", "revenue"),
    ("tv", "revenue"),
    ("promo", "revenue"),
]


@dataclass(frozen=True)
class CategoricalCase:
    """The reference SCM; ``saturating`` swaps visits' linear response to TV for a saturating one."""

    saturating: bool = False

    def response(self, tv: np.ndarray) -> np.ndarray:
        """Visits' response to TV spend."""
        return 30.0 * (1.0 - np.exp(-tv / 4.0)) if self.saturating else 1.5 * tv

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """n independent rows (seeded): the node table, weekday and promo as strings."""
        rng = np.random.default_rng([seed, 0xCA7])
        weekday = np.array(list(WEEKDAY))[rng.integers(0, 7, n)]
        promo = np.array(list(PROMO_P))[rng.choice(3, n, p=list(PROMO_P.values()))]
        tv = rng.normal(TV_MEAN, TV_SD, n)
        visits = (
            self.response(tv)
            + pd.Series(weekday).map(WEEKDAY).to_numpy()
            + pd.Series(promo).map(PROMO_VISITS).to_numpy()
            + rng.normal(0.0, VISITS_SD, n)
        )
        revenue = (
            2.0 * visits + 0.5 * tv + pd.Series(promo).map(PROMO_REVENUE).to_numpy() + rng.normal(0, REVENUE_SD, n)
        )
        return pd.DataFrame({"weekday": weekday, "promo": promo, "tv": tv, "visits": visits, "revenue": revenue})

    def ici(self) -> dict[str, float]:
        """The population ICI of every node on revenue (revenue's variance units)."""
        w = np.array(list(WEEKDAY.values()))
        p = np.array(list(PROMO_P.values()))
        e = np.array([2.0 * PROMO_VISITS[k] + PROMO_REVENUE[k] for k in PROMO_P])
        x, wq = np.polynomial.hermite_e.hermegauss(60)  # E[g(Z)], Z ~ N(0, 1): exact for polynomials to degree 119
        wq = wq / wq.sum()
        g = 2.0 * self.response(TV_MEAN + TV_SD * x) + 0.5 * (TV_MEAN + TV_SD * x)
        return {
            "weekday": float(np.var(2.0 * w)),
            "promo": float(p @ e**2 - (p @ e) ** 2),
            "tv": float(wq @ g**2 - (wq @ g) ** 2),
            "visits": 4.0 * VISITS_SD**2,
            "revenue": REVENUE_SD**2,
        }

    def shares(self) -> dict[str, float]:
        """The population shares (percent) of revenue."""
        ici = self.ici()
        total = sum(ici.values())
        return {k: 100.0 * v / total for k, v in ici.items()}
