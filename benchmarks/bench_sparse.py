"""Weekly national table with event dummies: 200 resamples under several seeds, nothing crashes.

Run: .venv/bin/python benchmarks/bench_sparse.py [--seeds 5]
Data (ici_assets/engine/timecases.py, weekly_events_case): 180 weekly rows, one national series,
spends from about 3,000 to 250,000 a week, seasonal AR(1) demand, event_1 = 1 in one week and
event_2 = 1 in two consecutive weeks, both parents of revenue. For each seed: mechanisms="auto",
block resampling of weeks (the default with a time column) and rows, 200 resamples. Printed: the
flagged sparse nodes, degenerate resamples (a resample without an event week has a singular
design; solved by pseudo-inverse and counted), the events' shares and intervals, and whether
every interval is finite and contains its estimate.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ici_assets.engine import estimate_ici, fit_scm
from ici_assets.engine.timecases import WEEKLY_EVENTS_EDGES, weekly_events_case


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    head = f"{'seed':>4} {'resampling':>10} {'L':>3} {'degenerate':>10}  {'sparse nodes':<20}"
    print(head + f"{'event_1':>22}{'event_2':>22}")
    ok = True
    for seed in range(args.seeds):
        df = weekly_events_case(seed=seed)
        scm = fit_scm(df, WEEKLY_EVENTS_EDGES, mechanisms="auto", seed=seed, time_column="week")
        for resampling in ("block", "row"):
            t0 = time.perf_counter()
            res = estimate_ici(scm, "revenue", n_bootstrap=200, seed=seed, resampling=resampling)
            dt = time.perf_counter() - t0
            t = res.table.set_index("node")
            vals = t[["share", "share_low", "share_high"]].to_numpy()
            good = bool(np.isfinite(vals).all() and ((t.share_low <= t.share) & (t.share <= t.share_high)).all())
            ok &= good
            ev = {
                e: f"{t.loc[e, 'share']:.2f} [{t.loc[e, 'share_low']:.2f}, {t.loc[e, 'share_high']:.2f}]"
                for e in t.index
            }
            facts = res.facts
            flags = ", ".join(str(s.node) for s in facts.sparse_nodes)
            print(
                f"{seed:>4} {resampling:>10} {facts.block_length or '-':>3} {facts.n_degenerate_resamples:>6}/200  "
                f"{flags:<20}"
                f"{ev['event_1']:>22}{ev['event_2']:>22}  {'ok' if good else 'BAD'} ({dt:.2f} s)"
            )
    print("\nall intervals finite and containing their estimate:", ok)
    print("mechanisms chosen (last seed):", {n: k for n, k in scm.kinds.items() if k != "root"})
    print("flag reasons:", *[s.reason for s in res.facts.sparse_nodes], sep="\n  ")


if __name__ == "__main__":
    main()
