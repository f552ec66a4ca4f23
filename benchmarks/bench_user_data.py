"""Sampling floor of the user-project tests: how far shares land from their generator's truth over seeds.

Run: uv run --frozen python benchmarks/bench_user_data.py [--seeds 50]
Data: tests/user_data.py (a linear media process with two one-week event dummies), in the three shapes
of tests/e2e/test_user_project.py: weekly national (200 weeks, one series), weekly regional (150 weeks x 8
regions), daily regional (730 days x 20 regions). For each shape and seed: the engine's shares
(mechanisms="auto", no bootstrap) against the population truth. Printed per node: the truth, the mean
and standard deviation of (share - truth) over seeds, the largest miss, the tolerance the test uses,
max(1 point, 4 sd) (1 point where the sample allows it), and the standard deviation against the sample's
own truth (the variances of the noises drawn), which is what is left of the estimator's own error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ici_assets.engine import compute_ici  # noqa: E402
from tests.user_data import MEDIA, SHAPES, media_table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=50)
    args = ap.parse_args()
    for name, shape in SHAPES.items():
        t0 = time.perf_counter()
        errors, own = [], []
        for seed in range(args.seeds):
            table, sample, truth = media_table(MEDIA, seed=seed, **shape)
            res = compute_ici(table, MEDIA.edges, MEDIA.target, time_column="period", n_bootstrap=0, seed=0)
            est = dict(zip(res["node"], res["share"]))
            errors.append([est[n] - truth[n] for n in truth])
            own.append([est[n] - sample[n] for n in truth])
        err, err_own = np.array(errors), np.array(own)
        units = len(shape["units"] or [""])
        print(
            f"\n{name}: {shape['n_periods']} periods x {units} unit(s), {args.seeds} seeds, "
            f"{time.perf_counter() - t0:.1f} s"
        )
        print(f"{'node':<14}{'truth':>8}{'mean err':>10}{'sd':>7}{'max |err|':>11}{'tolerance':>11}{'sd own':>8}")
        for j, node in enumerate(truth):
            sd = float(err[:, j].std(ddof=1))
            print(
                f"{node:<14}{truth[node]:>8.2f}{err[:, j].mean():>10.2f}{sd:>7.2f}"
                f"{np.abs(err[:, j]).max():>11.2f}{max(1.0, 4 * sd):>11.2f}{err_own[:, j].std(ddof=1):>8.2f}"
            )


if __name__ == "__main__":
    main()
