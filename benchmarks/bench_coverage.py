"""Coverage of the 95 % share intervals on autocorrelated data with a known truth.

Run: .venv/bin/python benchmarks/bench_coverage.py [--datasets 50] [--bootstrap 200]
Data: the article's linear SCM with every noise an AR(1) process over days (phi 0, 0.5, 0.9),
(a) daily regional: 20 regions x 730 days, independent regions; (b) weekly national: one series of
180 weeks, each the sum of 7 such days. The truth is the population share of the stationary
process (a_j^2 Var(N_j), the same for every phi). For each dataset and interval set-up, a pair
(node, dataset) counts when the node's true share exceeds 1 %; the table prints the share of pairs
whose interval contains the truth and the mean width in points.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ici_assets.engine import estimate_ici, fit_scm
from ici_assets.engine.cases import ARTICLE
from ici_assets.engine.timecases import regional_case, weekly_case

SETUPS = {  # name: (resampling, interval)
    "rows, percentile (before)": ("row", "percentile"),
    "blocks, percentile": ("block", "percentile"),
    "blocks, BCa": ("block", "bca"),
    "blocks, calibrated (default)": ("block", "calibrated"),
}
SHAPES = {
    "daily regional 20 x 730": lambda phi, seed: regional_case(phi, seed=seed),
    "weekly national 180": lambda phi, seed: weekly_case(phi, seed=seed),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=int, default=50)
    ap.add_argument("--bootstrap", type=int, default=200)
    args = ap.parse_args()
    truth = ARTICLE.truth()
    print(
        f"95 % intervals, {args.bootstrap} resamples, {args.datasets} datasets per row; pairs = nodes with true "
        "share > 1 % x datasets; coverage [mean width in points]\n"
    )
    head = f"{'shape':<26}{'phi':>5}{'block L':>9}" + "".join(f"{name:>31}" for name in SETUPS)
    print(head)
    print("-" * len(head))
    for shape, make in SHAPES.items():
        for phi in (0.0, 0.5, 0.9):
            t0 = time.perf_counter()
            hits: dict[str, list[bool]] = {k: [] for k in SETUPS}
            widths: dict[str, list[float]] = {k: [] for k in SETUPS}
            lengths = []
            for ds in range(args.datasets):
                scm = fit_scm(make(phi, 1000 + ds), ARTICLE.edges, mechanisms="linear", time_column="period")
                for name, (resampling, interval) in SETUPS.items():
                    res = estimate_ici(
                        scm, "revenue", n_bootstrap=args.bootstrap, seed=ds, resampling=resampling, interval=interval
                    )
                    if res.facts.block_length:
                        lengths.append(res.facts.block_length)
                    for row in res.table.itertuples():
                        if truth[row.node] > 1.0:
                            hits[name].append(bool(row.share_low <= truth[row.node] <= row.share_high))
                            widths[name].append(float(row.share_high - row.share_low))
            cells = "".join(
                f"{f'{100 * np.mean(hits[k]):.1f} % [{np.mean(widths[k]):.2f}] ({sum(hits[k])}/{len(hits[k])})':>31}"
                for k in SETUPS
            )
            print(f"{shape:<26}{phi:>5.1f}{np.median(lengths):>9.0f}{cells}   {time.perf_counter() - t0:.0f} s")
    print("\nblock L: median block length (periods) chosen from the data (Politis-White on the noises per period)")


if __name__ == "__main__":
    main()
