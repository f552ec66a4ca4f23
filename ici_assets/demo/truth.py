"""The demo's causal truth: the article's marketing SCM, put into realistic units, and its analytic ICI.

The article's case study (see the seed notes) is one linear additive-noise model per row, defined
once as data in the engine's reference cases (``ARTICLE_ROOTS``, ``ARTICLE_EQUATIONS``):

    Demand         ~ N(100000, 25000)
    TV spend       ~ N(100000, 20000)
    Social spend   ~ N(100000, 25000)
    Organic clicks = 0.75 Demand + 0.50 TV + 0.25 Social + N(0, 2000)
    Social clicks  = 0.30 Demand + 0.50 TV + 0.70 Social + N(100000, 25000)
    Revenue        = Organic clicks + Social clicks + N(0, 2000)

Here one row is one date x region. Every region draws from the same distribution, so the
pooled mart is one SCM. Each node is put into realistic units by a positive affine map
``data = offset + scale * article`` (``NODE_UNITS``). Shares of intrinsic causal influence are
invariant to such maps; the ICI values themselves scale with ``scale_revenue ** 2``.

With TV carryover (:mod:`ici_assets.demo.adstock`) the article's TV node *is* the adstocked TV
pressure (mean 100,000, sd 20,000 in article units); the daily spend behind it is more volatile,
so the population shares stay the article's, with ``tv_adstock`` in place of ``tv_spend``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ici_assets.demo.adstock import adstock_weights, carryover
from ici_assets.engine import total_effects
from ici_assets.engine.cases import ARTICLE_EQUATIONS, ARTICLE_ROOTS  # the article's SCM, article units

TARGET = "revenue"
NODES: tuple[str, ...] = (
    "demand",
    "tv_spend",
    "social_spend",
    "organic_clicks",
    "social_clicks",
    "revenue",
)

# data = offset + scale * article. The spend offsets keep daily spend about 5 standard
# deviations above zero at a mean of 5,000 EUR (social: sd 1,000; TV: sd 983 for the daily
# spend under the default carryover, whose adstock has sd 500); a pure scale (mean 5,000,
# sd 1,250) would leave social spend only 4 sd above zero, and truncating there moves its
# share by 0.010 points. The adstocked TV (a weighted mean of daily spend) has TV's units.
NODE_UNITS: dict[str, tuple[float, float]] = {
    "demand": (0.0, 1e-3),  # search interest index, mean 100, sd 25
    "tv_spend": (2_500.0, 0.025),  # EUR per region-day, mean 5,000, sd 500 (adstock)
    "social_spend": (1_000.0, 0.04),  # EUR per region-day, mean 5,000, sd 1,000
    "organic_clicks": (0.0, 0.02),  # google/organic sessions, mean 3,000
    "social_clicks": (0.0, 0.02),  # paid_social sessions, mean 5,000
    "revenue": (0.0, 0.0375),  # EUR per region-day, mean 15,000
}


def tv_node(tv_adstock_decay: float | None = None, tv_adstock_max_lag: int | None = None) -> str:
    """Name of the TV node that drives the clicks: ``tv_adstock`` with carryover, else ``tv_spend``."""
    return "tv_adstock" if len(adstock_weights(*carryover(tv_adstock_decay, tv_adstock_max_lag))) > 1 else "tv_spend"


def structural_coefficients(
    tv_adstock_decay: float | None = None, tv_adstock_max_lag: int | None = None
) -> dict[str, dict[str, float]]:
    """Causal coefficients of each non-root node on its parents, in the units of the data.

    E.g. ``["revenue"]["organic_clicks"]`` is EUR of revenue per organic session (1.875).
    Offsets only move intercepts, so these are scale_child * b / scale_parent. The TV parent
    is named ``tv_node(...)``: ``tv_adstock`` with carryover (same EUR units as daily spend).
    """
    tv = tv_node(tv_adstock_decay, tv_adstock_max_lag)
    return {
        child: {
            (tv if parent == "tv_spend" else parent): NODE_UNITS[child][1] * b / NODE_UNITS[parent][1]
            for parent, b in coefs.items()
        }
        for child, (coefs, _, _) in ARTICLE_EQUATIONS.items()
    }


def ground_truth_ici(tv_adstock_decay: float | None = None, tv_adstock_max_lag: int | None = None) -> pd.DataFrame:
    """Population ICI of every node on revenue: a_j^2 Var(N_j) in EUR^2, and shares in percent.

    In a linear ANM with independent noises Revenue = sum_j a_j N_j + const, with a_j the
    total effect of node j, so the Shapley values of Var(E[Y | N_S]) are exactly
    a_j^2 Var(N_j). With TV carryover the node that drives the clicks is the adstocked TV
    spend (reported as ``tv_adstock``): a root with the article's TV distribution (the daily
    spend is drawn with variance Var(TV) / sum(w_l^2)), so the shares are the article's.
    """
    adstock_weights(*carryover(tv_adstock_decay, tv_adstock_max_lag))  # validates the arguments
    noise_var = {node: sd**2 for node, (_, sd) in ARTICLE_ROOTS.items()}
    noise_var.update({node: sd**2 for node, (_, _, sd) in ARTICLE_EQUATIONS.items()})
    coefs = {child: dict(c) for child, (c, _, _) in ARTICLE_EQUATIONS.items()}
    total = total_effects(list(NODES), coefs, TARGET)  # article units
    scale_y = NODE_UNITS[TARGET][1]
    ici = np.array([(scale_y * float(total[n])) ** 2 * noise_var[n] for n in NODES])
    names = list(NODES)
    names[names.index("tv_spend")] = tv_node(tv_adstock_decay, tv_adstock_max_lag)
    return pd.DataFrame({"node": names, "ici": ici, "share": 100.0 * ici / ici.sum()})
