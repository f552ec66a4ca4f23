"""Shared helpers for the benchmark scripts (DoWhy runners, timing, table printing)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, float]:
    """Run fn `repeat` times; return the last result and the median wall time in seconds."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times))


def dowhy_ici(
    df: pd.DataFrame, edges, target: str, setup: str, seed: int = 0, n_jobs: int | None = None
) -> tuple[dict, float, float]:
    """Fit DoWhy's SCM ('ridge': the article's set-up; 'auto': assign_causal_mechanisms defaults)
    and run the default gcm.intrinsic_causal_influence. Returns (shares %, fit s, ici s).
    n_jobs None keeps DoWhy's default (-1: joblib worker processes); 1 runs in-process."""
    from dowhy import gcm

    gcm.config.disable_progress_bars()
    gcm.config.set_default_n_jobs(-1 if n_jobs is None else n_jobs)
    gcm.util.general.set_random_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        scm = gcm.InvertibleStructuralCausalModel(nx.DiGraph(list(edges)))
        if setup == "ridge":
            for node in scm.graph.nodes:
                if scm.graph.in_degree(node) == 0:
                    scm.set_causal_mechanism(node, gcm.EmpiricalDistribution())
                else:
                    scm.set_causal_mechanism(node, gcm.AdditiveNoiseModel(gcm.ml.create_ridge_regressor()))
        else:
            gcm.auto.assign_causal_mechanisms(scm, df)
        gcm.fit(scm, df)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        ici = gcm.intrinsic_causal_influence(scm, target)
        t_ici = time.perf_counter() - t0
    total = sum(ici.values())
    return {k: 100 * v / total for k, v in ici.items()}, t_fit, t_ici


def side_by_side(nodes, truth: dict, columns: dict[str, dict]) -> str:
    """Per-node table: truth, then each method's share and its error against truth."""
    head = f"{'node':<16}{'truth':>8}" + "".join(f"{name:>14}{'err':>8}" for name in columns)
    lines = [head, "-" * len(head)]
    for n in nodes:
        row = f"{n:<16}{truth[n]:>8.2f}"
        for shares in columns.values():
            row += f"{shares[n]:>14.2f}{shares[n] - truth[n]:>+8.2f}"
        lines.append(row)
    maxerr = "".join(f"{'':>14}{max(abs(s[n] - truth[n]) for n in nodes):>8.2f}" for s in columns.values())
    lines.append(f"{'max |err|':<24}" + maxerr)
    return "\n".join(lines)
