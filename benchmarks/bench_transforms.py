"""Learned carryover and saturation on generators with known truth (ici_assets/demo/transform_cases.py).

Run: uv run --frozen python benchmarks/bench_transforms.py [--seeds 20] [--weekly-boot 200] [--daily-boot 100]
Two generators, 20 seeds each: weekly national (156 weeks) and daily regional (10 regions x 365 days). TV is
flighted (on/off bursts) with geometric carryover (decay 0.7, max_lag 8) and Hill saturation (half-saturation
EUR 40,000, slope 2); social is always on with Weibull carryover (shape 2, scale 2) and logistic saturation
(half-saturation EUR 25,000). The fit declares the true families.
Printed: median |decay error| (target <= 0.05), median relative half-saturation error (target <= 15 %), the
share of seeds whose 95 % interval covers the true decay (target >= 90 %), the TV share's error against the
sample's analytic share, and the wall time per fit, with the usual 200 weekly and 100 daily block-bootstrap
resamples (the refits of all resamples run at once: engine/batchfit.py). Then the 'auto' choice: TV's families
and how often TV is flagged, on every weekly seed (both transforms 'auto'; carryover 'auto' with the true
saturation declared) and on 2 daily seeds.

--dowhy: a saturating case without carryover (Hill and Michaelis-Menten), our closed-form ICI through the learned
saturation against DoWhy's auto-assign + fit + ICI on the same data (about 20 s more).

PyMC-Marketing side by side (--pymc N): only if `pymc_marketing` is importable (it is not a dependency of this project;
skipped with a message otherwise).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import replace

import networkx as nx
import numpy as np

from ici_assets.demo.transform_cases import (
    DAILY_REGIONAL,
    GRAPH_EDGES,
    WEEKLY_NATIONAL,
    TransformCase,
    sample_truth,
    simulate_transform_case,
)
from ici_assets.engine import Transform, compute_ici, fit_transforms

GRAPH = nx.DiGraph(list(GRAPH_EDGES))
SPEC = WEEKLY_NATIONAL.declared
TRUE_DECAY, TRUE_HALF = 0.7, 40_000.0
HILL, MM = {"half_saturation": 40_000.0, "slope": 2.0}, {"half_saturation": 25_000.0}


def run(name: str, case: TransformCase, seeds: int, n_boot: int) -> None:
    dec, half, cover, width, share, secs, flagged = [], [], [], [], [], [], 0
    for seed in range(seeds):
        data = simulate_transform_case(seed, case)
        t0 = time.perf_counter()
        res = fit_transforms(data, GRAPH, SPEC, time_column="period", unit_column="unit", n_bootstrap=n_boot, seed=seed)
        secs.append(time.perf_counter() - t0)
        t = res.table.set_index(["node", "parameter"])
        d = t.loc[("tv_spend", "decay")]
        dec.append(abs(d["value"] - TRUE_DECAY))
        cover.append(d["low"] <= TRUE_DECAY <= d["high"])
        width.append(d["high"] - d["low"])
        half.append(abs(t.loc[("tv_spend", "half_saturation"), "value"] / TRUE_HALF - 1.0))
        flagged += "tv_spend" in res.facts.not_identified
        ici = compute_ici(
            data, GRAPH, "revenue", time_column="period", unit_column="unit", transforms=SPEC, mechanisms="linear"
        ).set_index("node")["share"]
        share.append(abs(ici["tv_spend"] - sample_truth(data, case).set_index("node")["share"]["tv_spend"]))
    rows = len(simulate_transform_case(0, case))
    print(f"\n{name}: {rows} rows per seed, {seeds} seeds, {n_boot} block-bootstrap resamples per fit")
    rel_half = f"{100 * np.median(half):7.1f} %"
    report = [
        ("median |decay error|", f"{np.median(dec):8.4f}  ", f"target <= 0.05; max {max(dec):.4f}"),
        ("median relative half-saturation error", rel_half, f"target <= 15 %; max {100 * max(half):.1f} %"),
        (
            "95 % interval covers the true decay",
            f"{100 * np.mean(cover):7.0f} %",
            f"target >= 90 %; median width {np.median(width):.3f}",
        ),
        ("TV flagged not identified", f"{flagged:8d}  ", f"of {seeds} seeds"),
        (
            "median |TV share error| (points)",
            f"{np.median(share):8.2f}  ",
            "closed-form ICI vs the sample's analytic share",
        ),
        ("wall time per fit (point + intervals)", f"{np.median(secs):8.2f} s", f"median; max {max(secs):.2f} s"),
    ]
    for label, value, note in report:
        print(f"  {label:<38}{value}  ({note})")


def auto_choice(weekly_seeds: int, daily_seeds: int) -> None:
    """Which families 'auto' picks for TV (truth: geometric + hill) and how often TV is flagged (a borderline
    family choice, or a parameter not identified): both transforms 'auto' on both nodes, and carryover 'auto' with
    the true saturation declared."""
    both = {n: {"carryover": "auto", "saturation": "auto"} for n in SPEC}
    carry = {n: {**s, "carryover": "auto"} for n, s in SPEC.items()}
    for name, case, seeds, spec in (
        ("weekly national, both auto", WEEKLY_NATIONAL, weekly_seeds, both),
        ("weekly national, carryover auto", WEEKLY_NATIONAL, weekly_seeds, carry),
        ("daily regional, both auto", DAILY_REGIONAL, daily_seeds, both),
    ):
        picks, secs, flagged = [], [], Counter()
        for seed in range(seeds):
            data = simulate_transform_case(seed, case)
            t0 = time.perf_counter()
            res = fit_transforms(data, GRAPH, spec, time_column="period", unit_column="unit")
            secs.append(time.perf_counter() - t0)
            fam = res.table.drop_duplicates(["node", "transform"]).set_index(["node", "transform"])["family"]
            pick = f"{fam['tv_spend', 'carryover']}+{fam['tv_spend', 'saturation']}"
            picks.append(pick)
            flagged[pick] += "tv_spend" in res.facts.not_identified
        counts = Counter(picks)
        tally = ", ".join(f"{fam} {k} ({flagged[fam]} flagged)" for fam, k in counts.most_common())
        print(f"  {name}, {seeds} seeds: TV chose {tally}; {np.median(secs):.1f} s per fit")


def dowhy_side_by_side() -> None:
    """A saturating case without carryover (TV Hill, social Michaelis-Menten; daily regional, 20 regions x 365
    days): our ICI with the parametric saturation learned (closed form), our 'auto' mechanisms (splines + Shapley)
    and DoWhy's auto-assign + fit + ICI, against the sample's analytic shares."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from _common import dowhy_ici, side_by_side

    case = replace(
        DAILY_REGIONAL,
        n_units=20,
        channels=(
            replace(DAILY_REGIONAL.channels[0], transform=Transform("tv_spend", "none", "hill", 8, HILL)),
            replace(DAILY_REGIONAL.channels[1], transform=Transform("social_spend", "none", "michaelis_menten", 8, MM)),
        ),
    )
    data = simulate_transform_case(0, case)
    nodes = ["demand", "tv_spend", "social_spend", "visits", "revenue"]
    truth = sample_truth(data, case).set_index("node")["share"].to_dict()
    spec = {"tv_spend": {"saturation": "hill"}, "social_spend": {"saturation": "michaelis_menten"}}
    compute_ici(data, GRAPH, "revenue", transforms=spec, mechanisms="linear")  # warm the imports

    def ours() -> dict:
        return compute_ici(data, GRAPH, "revenue", transforms=spec, mechanisms="linear").set_index("node")["share"]

    def auto() -> dict:
        return compute_ici(data, GRAPH, "revenue").set_index("node")["share"]

    t0 = time.perf_counter()
    learned = ours().to_dict()
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    spline = auto().to_dict()
    t_auto = time.perf_counter() - t0
    dw, fit_s, ici_s = dowhy_ici(data[nodes], list(GRAPH_EDGES), "revenue", "auto", seed=0)
    print(f"\nSaturating case without carryover, {len(data)} rows: shares of revenue against the sample's truth")
    print(side_by_side(nodes, truth, {"ours learned": learned, "ours auto": spline, "DoWhy auto": dw}))
    print(
        f"wall s: ours learned (fit transforms + SCM + closed-form ICI) {t_ours:.2f}, ours auto {t_auto:.2f}, "
        f"DoWhy auto-assign + fit + ICI {fit_s + ici_s:.1f} ({(fit_s + ici_s) / t_ours:.0f}x ours learned)"
    )


def pymc_side_by_side(seeds: int, first: int = 0) -> None:
    """PyMC-Marketing's MMM (its defaults: GeometricAdstock(l_max=8) and HillSaturation on both channels, demand
    as control, visits as target) beside our fit, on the same weekly seeds: TV's decay and half-saturation
    (posterior mean; kappa is in units of the channel's maximum, PyMC-Marketing scaling channels by it) with 95 %
    intervals (ours: block bootstrap, 200 resamples; PyMC: the posterior's 2.5 and 97.5 % quantiles).

    Counted, both sides: the fit on data already in memory. Ours: ``fit_transforms`` (lag windows, profile fits of
    both nodes, diagnosis, the bootstrap's refits); the process's first call (first-call costs: lazy imports,
    thread-pool set-up) is the first seed's fit with 200 resamples, counted in its ratio. PyMC: ``MMM(...)`` and ``fit``
    (model build, compile, sampling). Not counted, either side: importing the library (PyMC-Marketing's printed)
    and simulating the data."""
    t0 = time.perf_counter()
    try:
        from pymc_marketing.mmm import MMM, GeometricAdstock, HillSaturation
    except ImportError:
        print(
            "\nPyMC-Marketing: not installed, side-by-side skipped (optional, not a dependency of this project: "
            "run this script with --pymc N from an environment that has pymc-marketing and this checkout on "
            "PYTHONPATH)."
        )
        return
    t_import = time.perf_counter() - t0
    print(
        f"\nPyMC-Marketing side by side, weekly national, seeds {first}-{first + seeds - 1} (2 chains x (500 tune + "
        "500 draws)):"
    )
    print(f"  import pymc_marketing.mmm {t_import:.1f} s (not counted)")
    heads = ("decay ours", "[95 % ours]", "decay PyMC", "[95 % PyMC]", "half-sat ours", "half-sat PyMC")
    heads += ("s point", "s ours 50", "s ours 200", "s PyMC", "x (200)")
    print(f"  {'seed':>4} " + " ".join(f"{h:>15}" for h in heads))
    errors: dict[str, list[float]] = {k: [] for k in ("decay ours", "decay PyMC", "half ours", "half PyMC")}
    ratios = []
    for seed in range(first, first + seeds):
        data = simulate_transform_case(seed, WEEKLY_NATIONAL)
        t0 = time.perf_counter()  # first: on seed 0 it is the process's first call, and the ratio counts it
        ours = fit_transforms(data, GRAPH, SPEC, time_column="period", unit_column="unit", n_bootstrap=200, seed=seed)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit_transforms(data, GRAPH, SPEC, time_column="period", unit_column="unit")
        t_point = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit_transforms(data, GRAPH, SPEC, time_column="period", unit_column="unit", n_bootstrap=50, seed=seed)
        t_50 = time.perf_counter() - t0
        t = ours.table.set_index(["node", "parameter"])
        mmm = MMM(
            date_column="period",
            channel_columns=["tv_spend", "social_spend"],
            control_columns=["demand"],
            adstock=GeometricAdstock(l_max=8),
            saturation=HillSaturation(),
        )
        t0 = time.perf_counter()
        mmm.fit(
            data[["period", "tv_spend", "social_spend", "demand"]],
            data["visits"],
            chains=2,
            draws=500,
            tune=500,
            init="adapt_diag",
            random_seed=seed,
            progressbar=False,
        )
        t_pymc = time.perf_counter() - t0
        post = mmm.idata.posterior
        alpha = post["adstock_alpha"].sel(channel="tv_spend")
        decay, (d_lo, d_hi) = float(alpha.mean()), alpha.quantile([0.025, 0.975]).to_numpy()
        half = float(post["saturation_kappa"].sel(channel="tv_spend").mean()) * float(data["tv_spend"].abs().max())
        d = t.loc[("tv_spend", "decay")]
        ours_half = float(t.loc[("tv_spend", "half_saturation"), "value"])
        errors["decay ours"].append(abs(d["value"] - TRUE_DECAY))
        errors["decay PyMC"].append(abs(decay - TRUE_DECAY))
        errors["half ours"].append(abs(ours_half / TRUE_HALF - 1))
        errors["half PyMC"].append(abs(half / TRUE_HALF - 1))
        ratios.append(t_pymc / t_ours)
        cells = (
            f"{d['value']:.3f}",
            f"[{d['low']:.3f}, {d['high']:.3f}]",
            f"{decay:.3f}",
            f"[{d_lo:.3f}, {d_hi:.3f}]",
            f"{ours_half:,.0f}",
            f"{half:,.0f}",
            f"{t_point:.2f}",
            f"{t_50:.2f}",
            f"{t_ours:.2f}",
            f"{t_pymc:.1f}",
            f"{t_pymc / t_ours:.0f}",
        )
        print(f"  {seed:>4} " + " ".join(f"{c:>15}" for c in cells), flush=True)
    print(f"  truth: decay {TRUE_DECAY}, half-saturation {TRUE_HALF:,.0f}. s point: our fit without intervals;")
    print("  s ours 50 / 200: with 50 / 200 block-bootstrap resamples; s PyMC: model build, compile and sampling;")
    print("  x (200): s PyMC / s ours 200. The first seed's 's ours 200' is the process's first fit (first-call")
    print("  costs in).")
    med = {k: float(np.median(v)) for k, v in errors.items()}
    print(
        f"  median |decay error| ours {med['decay ours']:.4f}, PyMC {med['decay PyMC']:.4f}; median half-saturation "
        f"error ours {100 * med['half ours']:.1f} %, PyMC {100 * med['half PyMC']:.1f} %; PyMC / ours (200 "
        f"resamples) {min(ratios):.0f}-{max(ratios):.0f}x"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--weekly-boot", type=int, default=200)
    ap.add_argument("--daily-boot", type=int, default=100)
    ap.add_argument("--dowhy", action="store_true", help="also the saturating case against DoWhy (about 20 s)")
    ap.add_argument("--pymc", type=int, default=0, help="weekly seeds to fit with PyMC-Marketing too (optional)")
    ap.add_argument("--pymc-first", type=int, default=0, help="the first of those seeds")
    args = ap.parse_args()
    start = time.perf_counter()
    print("Learned carryover and saturation: TV (flighted, geometric 0.7 + Hill EUR 40k), social (always on,")
    print("Weibull + logistic); families declared as the truth's.")
    if args.seeds:
        run("Weekly national", WEEKLY_NATIONAL, args.seeds, args.weekly_boot)
        run("Daily regional", DAILY_REGIONAL, args.seeds, args.daily_boot)
        print("\nFamily choice ('auto', held-out error on runs of periods):")
        auto_choice(args.seeds, 2)
    if args.dowhy:
        dowhy_side_by_side()
    if args.pymc:
        pymc_side_by_side(args.pymc, args.pymc_first)
    else:
        print("\nPyMC-Marketing side by side: not asked (--pymc N [--pymc-first K]; optional, MCMC: 1-3 min a fit).")
    print(f"\nTotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
