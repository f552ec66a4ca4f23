"""Categorical roots (weekday, promotion type as strings) with known truth: our engine vs DoWhy, same data.

Run: .venv/bin/python benchmarks/bench_categorical.py
Prints, for the linear and the saturating reference case (ici_assets/engine/categoricalcases.py, 20,000 rows),
each node's share against the analytic population share for ours (linear closed form; auto) and, on the linear
case, DoWhy (the article's ridge set-up and auto-assign; both one-hot encode the string parents), with wall times;
then the spread of our categorical shares over 10 seeds (the sampling floor at this n). Under 3 minutes.
"""

from __future__ import annotations

import numpy as np
from _common import dowhy_ici, side_by_side, timed

from ici_assets.engine import compute_ici
from ici_assets.engine.categoricalcases import EDGES, CategoricalCase

N = 20_000


def main() -> None:
    for case in (CategoricalCase(), CategoricalCase(saturating=True)):
        name = "saturating" if case.saturating else "linear"
        df = case.sample(N, seed=0)
        truth = case.shares()
        nodes = list(truth)
        columns, times = {}, {}
        if not case.saturating:
            lin, times["ours linear"] = timed(lambda df=df: compute_ici(df, EDGES, "revenue", mechanisms="linear"), 3)
            columns["ours linear"] = dict(zip(lin.node, lin.share))
        auto, times["ours auto"] = timed(lambda df=df: compute_ici(df, EDGES, "revenue", n_bootstrap=0))
        columns["ours auto"] = dict(zip(auto.node, auto.share))
        for setup in () if case.saturating else ("ridge", "auto"):  # DoWhy auto on the saturating case: ~2 min
            shares, t_fit, t_ici = dowhy_ici(df, EDGES, "revenue", setup, seed=0)
            columns[f"DoWhy {setup}"], times[f"DoWhy {setup}"] = shares, t_fit + t_ici
        print(f"\n{name} case, {N:,} rows, target revenue (ours auto: {dict(zip(auto.node, auto.mechanism))})\n")
        print(side_by_side(nodes, truth, columns))
        print("wall s: " + ", ".join(f"{k} {v:.2f}" for k, v in times.items()))

    case = CategoricalCase()
    truth = case.shares()
    runs = np.array(
        [
            compute_ici(case.sample(N, seed=s), EDGES, "revenue", mechanisms="linear", n_bootstrap=0)
            .set_index("node")
            .loc[["weekday", "promo"], "share"]
            .to_numpy()
            for s in range(1, 11)
        ]
    )
    err = runs - np.array([truth["weekday"], truth["promo"]])
    print(
        f"\nours linear over 10 seeds at {N:,} rows: weekday error mean {err[:, 0].mean():+.3f} sd "
        f"{err[:, 0].std(ddof=1):.3f}; promo error mean {err[:, 1].mean():+.3f} sd {err[:, 1].std(ddof=1):.3f} points"
    )


if __name__ == "__main__":
    main()
