"""Anomaly attribution against DoWhy's `gcm.attribute_anomalies` on the same fitted SCM, and against known shocks.

Run: uv run python benchmarks/bench_anomalies.py

Data: `shocked_panel` (ici_assets/engine/shockcases.py): daily rows per region with one-day shocks added to the
noise of known nodes (each moving the target by about 3 target sds). Cases: the article's linear SCM
(12 regions x 365 days, 60 shocks, ours in closed form) and the saturating case (8 regions x 365 days,
40 shocks on demand, organic_clicks, social_clicks and revenue, 'nonlinear' mechanisms; ours: exact Shapley
over the noises, 2,000 background draws). DoWhy runs on our fitted model (`FittedSCM.to_dowhy()`), so the two
differ only by their estimators.

1. Mean deviation (our `contribution`): DoWhy with `attribute_mean_deviation=True`, the identity as its scorer
   (so its set function is E[Y | N_S] - E[Y], ours) and exact Shapley; `num_distribution_samples` draws.
   Printed: the largest |ours - DoWhy| as % of each row's |deviation|, and top-node agreement.
2. DoWhy's default (the IT score split over the nodes), on the first 8 rows: whether its top node is ours, and
   its total (the row's IT score) against our `score`.
Hit rate: the shocked node has the largest |contribution| on its shocked unit-day.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from _common import timed

from ici_assets.engine import attribute_anomalies, fit_scm
from ici_assets.engine.cases import ARTICLE
from ici_assets.engine.shockcases import SATURATING, SATURATING_EDGES, linear_case, linear_effects, shocked_panel

DOWHY_DRAWS = 3_000  # DoWhy's default num_distribution_samples
DOWHY_ROWS = 20  # shocked rows DoWhy explains (it loops over rows in Python)
IT_ROWS = 8  # rows of DoWhy's default IT-score attribution (about 4-5 s a row here)


def identity_scorer():
    """A DoWhy anomaly scorer whose score is the value itself: mean-deviation attribution in the target's units."""
    from dowhy.gcm.anomaly_scorer import AnomalyScorer

    class Identity(AnomalyScorer):
        def fit(self, X: np.ndarray) -> None:
            pass

        def score(self, X: np.ndarray) -> np.ndarray:
            return np.asarray(X, dtype=float).reshape(-1)

    return Identity()


def dowhy_attributions(model, rows: pd.DataFrame, order: list[str], mean_deviation: bool) -> np.ndarray:
    """DoWhy's attribute_anomalies (exact Shapley), (rows, nodes) in `order`."""
    from dowhy import gcm
    from dowhy.gcm.shapley import ShapleyApproximationMethods, ShapleyConfig

    gcm.config.disable_progress_bars()
    gcm.util.general.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = gcm.attribute_anomalies(
            model,
            "revenue",
            rows[order],
            anomaly_scorer=identity_scorer() if mean_deviation else None,
            attribute_mean_deviation=mean_deviation,
            num_distribution_samples=DOWHY_DRAWS,
            shapley_config=ShapleyConfig(approximation_method=ShapleyApproximationMethods.EXACT, n_jobs=1),
        )
    return np.column_stack([out[n] for n in order])


def run_case(name: str, panel: pd.DataFrame, shocks: pd.DataFrame, edges, mechanisms: str) -> None:
    scm = fit_scm(panel, edges, mechanisms=mechanisms, time_column="date")
    rows = panel.merge(shocks[["region", "date", "node"]], on=["region", "date"])
    print(f"\n== {name}: {len(panel):,} rows, {len(rows)} shocked unit-days, mechanisms {scm.kinds}")
    res, t_ours = timed(lambda: attribute_anomalies(scm, rows, "revenue", seed=0), repeat=3)
    table = res.table
    order = list(dict.fromkeys(table["node"]))
    ours = table["contribution"].to_numpy().reshape(len(rows), len(order))
    deviation = table.groupby("row")["deviation"].first().to_numpy()
    top = np.array(order)[np.abs(ours).argmax(axis=1)]
    relative_se = table["mc_se"].to_numpy() / np.repeat(np.abs(deviation), len(order))
    print(
        f"ours ({res.facts.method}): {t_ours:.3f} s for {len(rows)} rows; shocked node ranked first "
        f"{np.mean(top == rows['node'].to_numpy()):.1%}; max |sum - deviation| {res.facts.max_sum_error:.1e}; "
        f"Monte Carlo SE per contribution up to {100 * np.max(relative_se):.2f} % of |deviation|"
    )
    sub = rows.iloc[:DOWHY_ROWS]
    model = scm.to_dowhy()
    theirs, t_dw = timed(lambda: dowhy_attributions(model, sub, order, True))
    gap = np.abs(ours[:DOWHY_ROWS] - theirs).max(axis=1) / np.abs(deviation[:DOWHY_ROWS])
    dw_top = np.array(order)[np.abs(theirs).argmax(axis=1)]
    print(
        f"DoWhy mean deviation ({DOWHY_DRAWS:,} draws, exact Shapley): {t_dw:.1f} s for {len(sub)} rows "
        f"({t_dw / len(sub) / (t_ours / len(rows)):,.0f}x ours per row); largest |ours - DoWhy| per row: "
        f"median {100 * np.median(gap):.2f} %, max {100 * gap.max():.2f} % of |deviation|; "
        f"same top node {np.mean(dw_top == top[:DOWHY_ROWS]):.0%}"
    )
    it, t_it = timed(lambda: dowhy_attributions(model, sub.iloc[:IT_ROWS], order, False))
    it_top = np.array(order)[it.argmax(axis=1)]
    score = table.groupby("row")["score"].first().to_numpy()[:IT_ROWS]
    print(
        f"DoWhy default (IT score split): {t_it:.1f} s for {IT_ROWS} rows; its top node is ours "
        f"{np.mean(it_top == top[:IT_ROWS]):.0%} and the shocked node {np.mean(it_top == sub['node'][:IT_ROWS]):.0%}; "
        "its total vs our score: "
        f"median |diff| {np.median(np.abs(it.sum(axis=1) - score)):.2f} (scores {score.min():.1f} to {score.max():.1f})"
    )


def main() -> None:
    panel, shocks = shocked_panel(linear_case(), effects=linear_effects(), n_units=12, n_days=365, n_shocks=60, seed=1)
    run_case("Linear (article SCM)", panel, shocks, ARTICLE.edges, "linear")
    nodes = ["demand", "organic_clicks", "social_clicks", "revenue"]
    panel, shocks = shocked_panel(SATURATING, nodes=nodes, n_units=8, n_days=365, n_shocks=40, seed=2)
    run_case("Saturating (nonlinear)", panel, shocks, SATURATING_EDGES, "nonlinear")


if __name__ == "__main__":
    main()
