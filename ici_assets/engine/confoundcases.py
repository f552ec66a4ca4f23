"""Reference cases with hidden confounding and a known truth: calibration, sensitivity and the graph check.

confounded_case: TV spend follows a demand signal that is not a node (10 regions x 365 days); demand also drives
revenue, so least squares overstates TV's return (about 1.45 against a true 1.0). Its truth: TV's return, the
implied lift of a test, and the ICI shares under the calibrated model's definition (every node's noise is
child - f_true(graph parents), demand's part included, treated as independent: calibration.py).
injected_confounder_case: one treatment, one outcome and a hidden confounder with a chosen partial R^2 with both,
strong enough to halve the observed effect (Cinelli and Hazlett's robustness value should recover it).
missing_edge_case: the article's case with the edge tv_spend -> organic_clicks left out of the graph.
saturated_confounded_case: as confounded_case with TV's learned geometric carryover and exponential saturation
(calibration through learned transforms); saturated_true_lift: a test's true lift on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .cases import ARTICLE, LinearANM
from .effects import total_effects
from .transforms import Transform, apply_transform

CONFOUNDED = LinearANM(
    roots={"demand": (0.0, 30.0), "social_spend": (60.0, 40.0)},
    equations={
        "tv_spend": ({"demand": 0.8}, 100.0, 20.0),
        "search_clicks": ({"tv_spend": 0.4, "social_spend": 0.5}, 20.0, 20.0),
        "revenue": ({"search_clicks": 1.5, "tv_spend": 0.4, "social_spend": 0.3, "demand": 0.64}, 50.0, 15.0),
    },
    target="revenue",
)
#: The hidden node: in the data (to check against), never in the graph.
HIDDEN = "demand"
CONFOUNDED_EDGES = [(p, c) for p, c in CONFOUNDED.edges if p != HIDDEN]
CONFOUNDED_NODES = [n for n in CONFOUNDED.nodes if n != HIDDEN]


def confounded_case(n_regions: int = 10, n_days: int = 365, seed: int = 0) -> pd.DataFrame:
    """One row per region and day: the nodes, `region`, `date`, and the hidden `demand` (not a node of the graph)."""
    frame = CONFOUNDED.simulate(n_regions * n_days, seed)
    frame.insert(0, "region", np.repeat([f"r{i:02d}" for i in range(n_regions)], n_days))
    frame.insert(1, "date", np.tile(pd.date_range("2025-01-01", periods=n_days, freq="D"), n_regions))
    return frame


def _visible_coefficients(anm: LinearANM, hidden: str) -> dict[str, dict[str, float]]:
    return {n: {p: b for p, b in coefs.items() if p != hidden} for n, (coefs, _, _) in anm.equations.items()}


def confounded_truth(
    data: pd.DataFrame | None = None, anm: LinearANM = CONFOUNDED, hidden: str = HIDDEN
) -> dict[str, Any]:
    """The truth on the graph without the hidden root: each node's total effect on the target (``returns``) and the
    ICI shares (%) under the independent-noise definition: a_j^2 Var(X_j - f_true(graph parents)), the hidden
    root's part in the noise of every node it drives. Without `data` the variances are the population's
    (b_jh^2 Var(h) + sd_j^2); with `data` they are those of the true noises on these rows (the definition's truth
    on the sample the model is fitted to, free of the sampling error of the variances themselves)."""
    coefs = _visible_coefficients(anm, hidden)
    nodes = [n for n in anm.nodes if n != hidden]
    a = total_effects(nodes, coefs, anm.target)
    var: dict[str, float] = {}
    if data is None:
        h_sd = anm.roots[hidden][1]
        var = {n: sd**2 for n, (_, sd) in anm.roots.items() if n != hidden}
        for n, (c, _, sd) in anm.equations.items():
            var[n] = sd**2 + c.get(hidden, 0.0) ** 2 * h_sd**2
    else:
        for n in nodes:
            own = data[n].to_numpy(dtype=float)
            for p, b in coefs.get(n, {}).items():
                own = own - b * data[p].to_numpy(dtype=float)
            var[n] = float(np.var(own))
    ici = {n: a[n] ** 2 * var[n] for n in nodes}
    total = sum(ici.values())
    return {"returns": a, "shares": {n: 100.0 * v / total for n, v in ici.items()}}


def lift_test(
    node: str = "tv_spend",
    measured_return: float = 1.02,
    relative_se: float = 0.10,
    spend_change: float = 50_000.0,
    unit: Any = None,
    start: str = "2025-06-01",
    end: str = "2025-06-28",
) -> pd.DataFrame:
    """One lift test as the table the plugin reads: lift = measured_return x spend_change, its se relative_se x it."""
    lift = measured_return * spend_change
    return pd.DataFrame(
        {
            "node": [node],
            "unit": [unit],
            "start_period": [start],
            "end_period": [end],
            "spend_change": [spend_change],
            "lift": [lift],
            "lift_se": [relative_se * abs(lift)],
        }
    )


@dataclass(frozen=True)
class InjectedConfounder:
    """treatment = g u + e_d, outcome = beta treatment + h u + e_y, u, e_d, e_y standard normal, u hidden.

    g and h are set so that u's partial R^2 is `r2` with the treatment and with the outcome given the treatment (in
    the population) and beta so that u's bias is `fraction` of the observed (confounded) effect."""

    r2: float = 0.10
    fraction: float = 0.5

    @property
    def g(self) -> float:
        return float(np.sqrt(self.r2 / (1.0 - self.r2)))

    @property
    def h(self) -> float:
        return float(np.sqrt(self.r2) / (1.0 - self.r2))

    @property
    def bias(self) -> float:
        """h Cov(u, d) / Var(d): what leaving u out adds to the treatment's coefficient."""
        return self.h * self.g / (self.g**2 + 1.0)

    @property
    def beta(self) -> float:
        """The true effect: the observed one is beta + bias, and bias = fraction x (beta + bias)."""
        return self.bias * (1.0 - self.fraction) / self.fraction

    def simulate(self, n: int = 20_000, seed: int = 0) -> pd.DataFrame:
        """n rows: treatment, outcome and the hidden u."""
        rng = np.random.default_rng(seed)
        u, e_d, e_y = rng.standard_normal((3, n))
        d = self.g * u + e_d
        y = self.beta * d + self.h * u + e_y
        return pd.DataFrame({"treatment": d, "outcome": y, "u": u})


MISSING_EDGE = ("tv_spend", "organic_clicks")


def missing_edge_case(n: int = 5_000, seed: int = 0) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The article's data with the graph missing the edge tv_spend -> organic_clicks: (data, the edges given)."""
    return ARTICLE.simulate(n, seed), [e for e in ARTICLE.edges if e != MISSING_EDGE]


#: saturated_confounded_case's truth: TV's learned transforms and the linear equations given g(tv) = saturation(
#: carryover(tv_spend)); demand (hidden, AR(1) per region) drives both TV spend and visits.
SATURATED_TRANSFORM = Transform("tv_spend", "geometric", "exponential", 8, {"decay": 0.5, "half_saturation": 100.0})
SATURATED_EDGES = [("tv_spend", "visits"), ("social_spend", "visits"), ("visits", "revenue")]
SATURATED_SPEC = {"tv_spend": {"carryover": {"kind": "geometric", "max_lag": 8}, "saturation": "exponential"}}
TV_EFFECT, SOCIAL_EFFECT, DEMAND_EFFECT, VISIT_VALUE = 100.0, 0.5, 0.8, 2.0


def saturated_confounded_case(n_regions: int = 10, n_days: int = 365, seed: int = 0) -> pd.DataFrame:
    """One row per region and day: TV spend follows a hidden AR(1) demand (rho 0.9, sd 30) that also drives visits;
    visits = 20 + 100 g(tv) + 0.5 social + 0.8 demand + N(0, 10), revenue = 10 + 2 visits + N(0, 10), g the
    geometric carryover (decay 0.5) and exponential saturation (half at 100) of SATURATED_TRANSFORM."""
    rng = np.random.default_rng(seed)
    demand = np.empty((n_regions, n_days))
    demand[:, 0] = rng.normal(0.0, 30.0, n_regions)
    for t in range(1, n_days):
        demand[:, t] = 0.9 * demand[:, t - 1] + rng.normal(0.0, 30.0 * np.sqrt(1 - 0.81), n_regions)
    frame = pd.DataFrame(
        {
            "region": np.repeat([f"r{i:02d}" for i in range(n_regions)], n_days),
            "date": np.tile(pd.date_range("2025-01-01", periods=n_days, freq="D"), n_regions),
            "demand": demand.ravel(),
        }
    )
    n = len(frame)
    frame["tv_spend"] = np.maximum(0.0, 100.0 + 1.0 * frame["demand"] + rng.normal(0.0, 20.0, n))
    frame["social_spend"] = rng.normal(60.0, 20.0, n)
    g = apply_transform(SATURATED_TRANSFORM, frame, time_column="date", unit_column="region")
    frame["visits"] = (
        20.0
        + TV_EFFECT * g
        + SOCIAL_EFFECT * frame["social_spend"]
        + DEMAND_EFFECT * frame["demand"]
        + rng.normal(0.0, 10.0, n)
    )
    frame["revenue"] = 10.0 + VISIT_VALUE * frame["visits"] + rng.normal(0.0, 10.0, n)
    return frame


def saturated_true_lift(frame: pd.DataFrame, test: pd.Series | dict) -> float:
    """The true lift of a lift test row on saturated_confounded_case's data: the test's spend change spread over its
    rows (its unit, or all, and periods start..end inclusive) in proportion to their spend, revenue's change summed
    over every row the carryover reaches."""
    when = pd.to_datetime(frame["date"])
    mask = (when >= pd.Timestamp(test["start_period"])) & (when <= pd.Timestamp(test["end_period"]))
    if test["unit"] is not None and not pd.isna(test["unit"]):
        mask &= frame["region"] == test["unit"]
    spend = frame["tv_spend"].where(mask, 0.0)
    moved = frame.assign(tv_spend=frame["tv_spend"] + float(test["spend_change"]) * spend / spend.sum())
    g0 = apply_transform(SATURATED_TRANSFORM, frame, time_column="date", unit_column="region")
    g1 = apply_transform(SATURATED_TRANSFORM, moved, time_column="date", unit_column="region")
    return float(VISIT_VALUE * TV_EFFECT * np.sum(g1 - g0))
