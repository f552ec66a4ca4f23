"""mechanisms="auto" on linear data: our model choice + fit + ICI against DoWhy's auto-assign + fit + ICI.

Run: .venv/bin/python benchmarks/bench_auto.py
Cases: the article's linear case (20,000 rows, 6 nodes) and a 9-node linear marketing graph
(20,000 rows). Ours: compute_ici(..., mechanisms="auto") (validate, staged model choice, fit,
closed-form ICI), median of 5 calls for each seed 0-4; the chosen mechanisms per seed are printed
and compared. DoWhy: gcm.auto.assign_causal_mechanisms + gcm.fit + gcm.intrinsic_causal_influence
with its defaults, twice (cold, then warm); the ratio uses the faster DoWhy run.
"""

from __future__ import annotations

from _common import dowhy_ici, side_by_side, timed

from ici_assets.engine import compute_ici, fit_scm
from ici_assets.engine.cases import ARTICLE
from ici_assets.engine.timecases import NINE_NODE

CASES = {"article, 6 nodes": ARTICLE, "9-node linear graph": NINE_NODE}


def main() -> None:
    for name, anm in CASES.items():
        df = anm.simulate(20_000, seed=0)
        truth = anm.truth()
        times, kinds = [], []
        table = None
        for seed in range(5):
            table, t = timed(
                lambda seed=seed, df=df, anm=anm: compute_ici(df, anm.edges, anm.target, mechanisms="auto", seed=seed),
                repeat=5,
            )
            times.append(t)
            kinds.append({n: k for n, k in fit_scm(df, anm.edges, seed=seed).kinds.items() if k != "root"})
        assert table is not None
        dw0, fit0, ici0 = dowhy_ici(df, anm.edges, anm.target, "auto", seed=0)
        dw1, fit1, ici1 = dowhy_ici(df, anm.edges, anm.target, "auto", seed=1)
        t_dw = min(fit0 + ici0, fit1 + ici1)
        t_ours = max(times)
        print(f"{name}: 20,000 rows, target {anm.target}")
        print(f"  ours, mechanisms='auto' (slowest seed's median of 5) {t_ours:8.3f} s")
        print(f"  DoWhy auto-assign + fit + ICI, seed 0 (cold)         {fit0 + ici0:8.2f} s  (fit {fit0:.2f})")
        print(f"  DoWhy auto-assign + fit + ICI, seed 1 (warm)         {fit1 + ici1:8.2f} s  (fit {fit1:.2f})")
        print(f"  ratio (faster DoWhy / ours)                          {t_dw / t_ours:8.0f}x")
        same = all(k == kinds[0] for k in kinds)
        print(f"  chosen mechanisms, seeds 0-4 identical: {same}: {kinds[0]}")
        print(side_by_side(list(truth), truth, {"ours auto": dict(zip(table.node, table.share)), "DoWhy s1": dw1}))
        print()


if __name__ == "__main__":
    main()
