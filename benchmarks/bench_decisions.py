"""Decisions from a fitted SCM against DoWhy and against the truth, in one run.

Run: uv run python benchmarks/bench_decisions.py

1. Spend response: our `spend_response` against the mean of DoWhy's `gcm.interventional_samples`
   (num_samples_to_draw draws) on the SAME fitted model (`FittedSCM.to_dowhy()`: our mechanisms
   wrapped for DoWhy, so the two differ only by Monte Carlo error), and against the exact truth.
   Cases: the article's linear SCM (20,000 rows; ours is the closed form) and the saturating
   spend -> clicks case (20,000 rows, spline mechanisms; ours simulates over the noise rows).
2. Change attribution: our `change_attribution` against DoWhy's `gcm.distribution_change` with
   the difference of means, our mechanism kinds (DoWhy refits them on each sample), every node
   counted as changed (significance level 1) and exact Shapley enumeration; DoWhy is called
   REPEATS times with different seeds to measure its Monte Carlo spread. Cases: a linear change
   (CTR drop + demand shift) and a saturating one (social click-through cap drop + TV flight),
   5,000 rows per sample.
z = (ours - DoWhy) / sqrt(se_ours^2 + se_DoWhy^2); |z| < 3 is agreement within Monte Carlo error.
Response levels: ours computes each level over the same noise rows, so its incremental returns
(differences between levels) carry almost no Monte Carlo error; DoWhy's independent draws per
level give the incremental return the standard error printed as dowhy_incr_se.
Wall times on a shared 2-core machine are noisy; the ratios are measured in the same run.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from _common import timed

from ici_assets.engine import change_attribution, fit_scm, spend_response
from ici_assets.engine.cases import ARTICLE, LinearANM
from ici_assets.engine.interop import MechanismPredictionModel
from ici_assets.engine.spendcases import SPEND_EDGES, SpendCase, linear_change_truth

SPLINES = {"search_clicks": "spline", "social_clicks": "spline", "revenue": "linear"}
DRAWS = 20_000  # DoWhy interventional draws per level
CHANGE_DRAWS = 10_000  # DoWhy samples per subset in distribution_change
REPEATS = 5


def dowhy_response(model, node: str, levels: np.ndarray, target: str = "revenue") -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the target over DoWhy's interventional samples, per level."""
    from dowhy import gcm

    means, ses = [], []
    for v in levels:
        y = gcm.interventional_samples(model, {node: lambda x, v=v: v}, num_samples_to_draw=DRAWS)[target]
        means.append(y.mean())
        ses.append(y.std(ddof=1) / np.sqrt(len(y)))
    return np.array(means), np.array(ses)


def response_case(name: str, df: pd.DataFrame, edges, mechanisms, truth) -> list[float]:
    from dowhy import gcm

    scm = fit_scm(df, edges, mechanisms=mechanisms)
    model = scm.to_dowhy()
    ratios = []
    print(f"\n== Spend response, {name}: {len(df):,} rows, mechanisms {scm.kinds}")
    for node in ("tv_spend", "social_spend"):
        levels = np.quantile(df[node], [0.05, 0.25, 0.5, 0.75, 0.95])
        ours, t_ours = timed(
            lambda node=node, levels=levels: spend_response(scm, "revenue", node, levels).table, repeat=3
        )
        gcm.util.general.set_random_seed(0)
        (dw, dw_se), t_dw = timed(lambda node=node, levels=levels: dowhy_response(model, node, levels))
        true = truth(node, levels)
        z = (ours.expected_target - dw) / np.sqrt(ours.mc_se**2 + dw_se**2)
        table = pd.DataFrame(
            {
                "level": levels,
                "truth": true,
                "ours": ours.expected_target,
                "ours_mc_se": ours.mc_se,
                "ours_err_%": 100 * (ours.expected_target / true - 1),
                "dowhy": dw,
                "dowhy_se": dw_se,
                "z": z,
                "true_incr": np.concatenate([[np.nan], np.diff(true) / np.diff(levels)]),
                "ours_incr": ours.incremental_return,
                "dowhy_incr": np.concatenate([[np.nan], np.diff(dw) / np.diff(levels)]),
                "dowhy_incr_se": np.concatenate([[np.nan], np.hypot(dw_se[1:], dw_se[:-1]) / np.diff(levels)]),
            }
        )
        print(f"\n{node} ({ours.method[0]}): ours {t_ours * 1000:.1f} ms, DoWhy {t_dw:.2f} s ({DRAWS:,} draws x 5)")
        print(table.round(3).to_string(index=False))
        print(
            f"max |ours - truth| = {np.abs(table['ours_err_%']).max():.3f} % of the level; max |z| vs DoWhy = "
            f"{np.abs(z).max():.2f}; marginal return at the current level {ours.current_marginal_return[0]:.4f}"
        )
        ratios.append(t_dw / t_ours)
    return ratios


def dowhy_change(old: pd.DataFrame, new: pd.DataFrame, edges, kinds: dict, seed: int) -> dict:
    """gcm.distribution_change on our mechanism kinds, difference of means, every node counted as changed."""
    import networkx as nx
    from dowhy import gcm
    from dowhy.gcm.shapley import ShapleyApproximationMethods, ShapleyConfig

    from ici_assets.engine.mechanisms import make_mechanism

    gcm.util.general.set_random_seed(seed)
    model = gcm.ProbabilisticCausalModel(nx.DiGraph(edges))
    for node in model.graph.nodes:
        if kinds[node] == "root":
            model.set_causal_mechanism(node, gcm.EmpiricalDistribution())
        else:
            model.set_causal_mechanism(
                node, gcm.AdditiveNoiseModel(MechanismPredictionModel(make_mechanism(kinds[node])))
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gcm.distribution_change(
            model,
            old,
            new,
            "revenue",
            num_samples=CHANGE_DRAWS,
            difference_estimation_func=lambda a, b: float(np.mean(b) - np.mean(a)),
            mechanism_change_test_significance_level=1.0,
            shapley_config=ShapleyConfig(approximation_method=ShapleyApproximationMethods.EXACT),
        )


def dowhy_graphs(old: pd.DataFrame, new: pd.DataFrame, edges, mechanisms) -> dict:
    """DoWhy's Shapley step only: distribution_change_of_graphs on our old and new fitted SCMs (no tests, no fits)."""
    from dowhy import gcm
    from dowhy.gcm.shapley import ShapleyApproximationMethods, ShapleyConfig

    from ici_assets.engine.attribution import fit_pair

    fitted = fit_pair(old, new, edges, "revenue", mechanisms=mechanisms)
    return gcm.distribution_change_of_graphs(
        fitted[0].to_dowhy(),
        fitted[1].to_dowhy(),
        "revenue",
        num_samples=CHANGE_DRAWS,
        difference_estimation_func=lambda a, b: float(np.mean(b) - np.mean(a)),
        shapley_config=ShapleyConfig(approximation_method=ShapleyApproximationMethods.EXACT),
    )


def change_case(name: str, old: pd.DataFrame, new: pd.DataFrame, edges, mechanisms, truth: dict) -> float:
    ours, t_ours = timed(
        lambda: change_attribution(old, new, edges, "revenue", mechanisms=mechanisms, n_bootstrap=0).table, repeat=3
    )
    kinds = dict(zip(ours.node, ours.mechanism))
    runs, times = [], []
    for s in range(REPEATS):
        out, t = timed(lambda s=s: dowhy_change(old, new, edges, kinds, s))
        runs.append(out)
        times.append(t)
    dw = pd.DataFrame(runs)[list(ours.node)]
    dw_mean, dw_sd = dw.mean().to_numpy(), dw.std(ddof=1).to_numpy()
    z = (ours.contribution.to_numpy() - dw_mean) / np.sqrt(ours.mc_se.to_numpy() ** 2 + dw_sd**2)
    table = pd.DataFrame(
        {
            "node": ours.node,
            "truth": [truth[n] for n in ours.node],
            "ours": ours.contribution,
            "ours_mc_se": ours.mc_se,
            "dowhy_mean": dw_mean,
            "dowhy_sd": dw_sd,
            "z_one_call": z,
        }
    )
    print(f"\n== Change attribution, {name}: {len(old):,} + {len(new):,} rows ({ours.method[0]})")
    print(table.round(3).to_string(index=False))
    observed = ours.observed_change[0]
    print(
        f"observed change {observed:.4f}; ours sum {ours.contribution.sum():.4f} (relative gap "
        f"{abs(ours.contribution.sum() - observed) / abs(observed):.1e}); DoWhy sums "
        f"{', '.join(f'{v:.2f}' for v in dw.sum(axis=1))}"
    )
    t_dw = float(np.median(times))
    print(f"ours {t_ours:.3f} s, DoWhy {t_dw:.2f} s per call (median of {REPEATS}); ratio {t_dw / t_ours:.0f}x")
    _, t_graphs = timed(lambda: dowhy_graphs(old, new, edges, mechanisms))
    print(f"DoWhy's attribution step alone (distribution_change_of_graphs on our two fitted models): {t_graphs:.2f} s")
    print(f"max |z| (one DoWhy call's spread) = {np.abs(z).max():.2f}")
    return t_dw / t_ours


def main() -> None:
    from dowhy import gcm

    gcm.config.disable_progress_bars()
    article = ARTICLE.simulate(20_000, 0)
    lin_truth = linear_truth()
    r1 = response_case("article (linear)", article, ARTICLE.edges, "linear", lin_truth)
    case = SpendCase()
    r2 = response_case("saturating spend -> clicks", case.simulate(20_000, 0), SPEND_EDGES, SPLINES, case.response)

    eq = dict(ARTICLE.equations)
    coefs, mu, sd = eq["social_clicks"]
    eq["social_clicks"] = ({**coefs, "social_spend": 0.4}, mu, sd)
    roots = dict(ARTICLE.roots)
    roots["demand"] = (95_000.0, 25_000.0)
    changed = LinearANM(roots, eq, "revenue")
    c1 = change_case(
        "linear: social CTR 0.7 -> 0.4, demand mean -5 %",
        ARTICLE.simulate(5_000, 1),
        changed.simulate(5_000, 2),
        ARTICLE.edges,
        "linear",
        linear_change_truth(ARTICLE, changed),
    )
    new_case = SpendCase(social_cap=240.0, tv_mean=150.0)
    c2 = change_case(
        "saturating: social cap 400 -> 240, TV mean 100 -> 150",
        case.simulate(5_000, 1),
        new_case.simulate(5_000, 2),
        SPEND_EDGES,
        SPLINES,
        case.change_truth(new_case),
    )
    print("\nSpeed-up against DoWhy (same run):")
    print(f"  response, linear closed form: {min(r1):.0f}-{max(r1):.0f}x; saturating: {min(r2):.1f}-{max(r2):.1f}x")
    print(f"  change attribution, linear: {c1:.0f}x; saturating: {c2:.0f}x")


def linear_truth():
    """E[revenue | do(node = x)] of the article's true linear SCM: sum of total effects times means."""
    from ici_assets.engine import total_effects

    coefs = {n: dict(c) for n, (c, _, _) in ARTICLE.equations.items()}
    effects = total_effects(ARTICLE.nodes, coefs, "revenue")
    base = {n: m for n, (m, _) in ARTICLE.roots.items()}

    def truth(node: str, levels: np.ndarray) -> np.ndarray:
        mu = dict(base)
        out = []
        for x in levels:
            mu[node] = x
            y = sum(effects[r] * mu[r] for r in ARTICLE.roots) + sum(
                effects[n] * m for n, (_, m, _) in ARTICLE.equations.items()
            )
            out.append(y)
        return np.array(out)

    return truth


if __name__ == "__main__":
    main()
