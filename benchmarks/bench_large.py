"""Large linear case: 50-node random DAG, 1,000,000 rows, ICI + 200 bootstrap resamples.

Run: .venv/bin/python benchmarks/bench_large.py [--rows N] [--nodes D] [--bootstrap B]
Prints wall times, peak RSS (resource.getrusage) and the error of the shares against the truth
a_j^2 Var(N_j) computed from the true coefficients. DoWhy is skipped here: its ICI over ~40
noise terms at this size would take far longer than the budget (see bench_article.py for a
side-by-side on the article's case).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import networkx as nx
import numpy as np
import pandas as pd

from ici_assets.engine import compute_ici, total_effects
from ici_assets.engine.validation import relevant_nodes


def random_dag_case(n_nodes: int, n_rows: int, seed: int, p_edge: float = 0.08):
    """Random DAG (edges only from lower to higher index), linear Gaussian ANM, last node the target."""
    rng = np.random.default_rng(seed)
    names = [f"x{i:02d}" for i in range(n_nodes)]
    g = nx.DiGraph()
    g.add_nodes_from(names)
    coefs: dict[str, dict[str, float]] = {n: {} for n in names}
    for j in range(1, n_nodes):
        pars = [i for i in range(j) if rng.random() < p_edge]
        if j == n_nodes - 1 and len(pars) < 4:
            pars = sorted(set(pars) | set(rng.choice(j, 4, replace=False).tolist()))
        if not pars and j > 0 and rng.random() < 0.5:
            pars = [int(rng.integers(0, j))]
        for i in pars:
            c = float(rng.choice([-1, 1]) * rng.uniform(0.3, 1.2))
            g.add_edge(names[i], names[j])
            coefs[names[j]][names[i]] = c
    sd = {n: float(rng.uniform(0.5, 2.0)) for n in names}
    X = np.empty((n_rows, n_nodes))
    for j, n in enumerate(names):
        col = rng.standard_normal(n_rows) * sd[n] + rng.uniform(-5, 5)
        for p, c in coefs[n].items():
            col += c * X[:, names.index(p)]
        X[:, j] = col
    df = pd.DataFrame(X, columns=names)
    del X
    target = names[-1]
    order = relevant_nodes(g, target)
    a = total_effects(order, coefs, target)
    ici = {n: a[n] ** 2 * sd[n] ** 2 for n in order}
    tot = sum(ici.values())
    truth = {n: 100 * v / tot for n, v in ici.items()}
    return df, g, target, truth


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    df, g, target, truth = random_dag_case(args.nodes, args.rows, args.seed)
    t_gen = time.perf_counter() - t0
    print(
        f"data: {args.rows:,} rows x {args.nodes} nodes, {g.number_of_edges()} edges, "
        f"target {target} with {len(truth) - 1} ancestors; generated in {t_gen:.1f} s, "
        f"RSS so far {peak_rss_mb():.0f} MB"
    )
    t0 = time.perf_counter()
    point = compute_ici(df, g, target, mechanisms="linear")
    t_point = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = compute_ici(df, g, target, mechanisms="linear", n_bootstrap=args.bootstrap, seed=1)
    t_boot = time.perf_counter() - t0
    err = np.array([table.share[i] - truth[n] for i, n in enumerate(table.node)])
    cover = np.mean([lo <= truth[n] <= hi for n, lo, hi in zip(table.node, table.share_low, table.share_high)])
    print()
    print(f"{'step':<44}{'wall s':>10}")
    print(f"{'ICI point estimate (validate+fit+closed form)':<44}{t_point:>10.2f}")
    print(f"{'ICI + ' + str(args.bootstrap) + ' bootstrap resamples (total)':<44}{t_boot:>10.2f}")
    print(f"peak RSS (whole process, incl. data): {peak_rss_mb():.0f} MB")
    print(
        f"max |share - truth| = {np.abs(err).max():.3f} points; "
        f"95% intervals cover truth for {100 * cover:.0f}% of {len(err)} nodes"
    )
    print(f"budget: < 60 s and < 4096 MB -> {'OK' if t_boot < 60 and peak_rss_mb() < 4096 else 'MISSED'}")
    top = table.assign(truth=[truth[n] for n in table.node]).sort_values("share", ascending=False)
    print(
        top.head(8)[["node", "share", "share_low", "share_high", "truth"]].to_string(
            index=False, float_format=lambda v: f"{v:.3f}"
        )
    )
    sys.stdout.flush()
    del point


if __name__ == "__main__":
    main()
