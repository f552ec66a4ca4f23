"""Incremental target and return on spend per channel: what each spend node adds against spending nothing.

The incremental target of a spend node is E[target] with the node as observed (every row keeps its own spend
and noise) minus E[target | do(node = 0)], everything downstream following the fitted mechanisms, summed over
the rows of the node table (the period). The return on spend (ROI) is that per unit of the node (per EUR): the
incremental target over the node's total. Where the mechanisms on the paths from the node to the target are
linear it is the node's total effect (closed form, exact); otherwise the rows are simulated with and without the
node (the same rows and noises: common random numbers). Zero spend usually lies outside the observed range:
the mechanism is extrapolated there, and the interval (the shares' resamples, every mechanism refitted) shows
how far the data pin it down.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .interventions import DEFAULT_SAMPLES, Interventional
from .resampling import Bootstrap
from .result import EngineResult, ReturnsFacts
from .scm import FittedSCM
from .uncertainty import bootstrap_interval

RETURNS_COLUMNS = [
    "node",
    "spend",
    "incremental_target",
    "incremental_low",
    "incremental_high",
    "roi",
    "roi_low",
    "roi_high",
    "spend_share",
    "contribution_share",
    "mc_se",
    "method",
    "transform_identified",
]


def _per_row(ev: Interventional) -> tuple[float, float]:
    """(mean over rows of target as observed minus target under do(node = 0), its Monte Carlo SE)."""
    if ev.linear:
        return float(ev.slope[0] * ev.current[0]), 0.0
    diff = ev.observed_target - ev.per_row([0.0])  # learned transforms: zero spend is saturation(0) = 0
    return float(diff.mean()), ev.mc_se(diff)


def _method(evs: list[Interventional]) -> str:
    """The evaluators' common method, or simulation when they differ and one simulates."""
    methods = {ev.method for ev in evs}
    if len(methods) == 1:
        return methods.pop()
    return "simulation" if "simulation" in methods else "closed_form_transforms"


def _statistic(scm: FittedSCM, target: Any, nodes: list[Any], n_samples: int, seed: int) -> np.ndarray:
    """Incremental target per row and ROI of every node, in node order: [inc_1, roi_1, inc_2, roi_2, ...]."""
    out = []
    for node in nodes:
        ev = Interventional(scm, target, [node], n_samples=n_samples, seed=seed)
        inc, _ = _per_row(ev)
        out += [inc, inc / ev.current[0] if ev.current[0] != 0 else np.nan]
    return np.array(out)


def channel_returns(
    scm: FittedSCM,
    target: Any,
    nodes: Sequence[Any],
    *,
    n_samples: int = DEFAULT_SAMPLES,
    bootstrap: Bootstrap | None = None,
    **options: Any,
) -> EngineResult[ReturnsFacts]:
    """One row per spend node: its total over the rows (`spend`), the incremental target it causes over the same
    rows against zero spend with a 95 % interval, the ROI (incremental target per unit of spend) with its
    interval, its share of the nodes' total spend and its incremental target as a share of the target's total
    (both in percent). Simulated over at most `n_samples` rows (``mc_se``: the Monte Carlo error of the
    incremental target, 0 when every row is simulated or in closed form). Intervals and the seed: the
    :class:`Bootstrap` keywords, or ``bootstrap=Bootstrap(...)``.
    """
    start = time.perf_counter()
    settings = Bootstrap.of("channel_returns", bootstrap, options)
    nodes = list(nodes)
    if not nodes:
        raise ValueError(f"no spend nodes given for the returns on {target!r}: pass at least one node")
    evs = [Interventional(scm, target, [node], n_samples=n_samples, seed=settings.seed) for node in nodes]
    for node, ev in zip(nodes, evs):
        if ev.current[0] <= 0:
            raise ValueError(
                f"spend node {node!r} has a mean of {ev.current[0]:g}: a return per unit of spend needs spend above "
                "zero; drop the node from the spend nodes or check its column"
            )
    per_row = np.array([_per_row(ev) for ev in evs])
    estimate = np.column_stack([per_row[:, 0], per_row[:, 0] / [ev.current[0] for ev in evs]]).ravel()

    def statistic(refit: FittedSCM, _: int) -> np.ndarray:
        return _statistic(refit, target, nodes, n_samples, settings.seed)

    low, high, boot_facts = bootstrap_interval(scm, evs[0].order, estimate, statistic, settings, stream=0xA01)
    n = len(scm.data)
    spend = np.array([ev.current[0] for ev in evs]) * n
    target_total = float(scm.data[target].sum())
    inc = per_row[:, 0] * n
    table = pd.DataFrame(
        {
            "node": nodes,
            "spend": spend,
            "incremental_target": inc,
            "incremental_low": low[0::2] * n,
            "incremental_high": high[0::2] * n,
            "roi": estimate[1::2],
            "roi_low": low[1::2],
            "roi_high": high[1::2],
            "spend_share": 100.0 * spend / spend.sum(),
            "contribution_share": 100.0 * inc / target_total if target_total else np.nan,
            "mc_se": per_row[:, 1] * n,
            "method": [ev.method for ev in evs],
            "transform_identified": pd.array([scm.transform_identified(n) for n in nodes], dtype="boolean"),
        },
        columns=RETURNS_COLUMNS,
    )
    facts = ReturnsFacts(
        **{**evs[0].facts_fields(), "method": _method(evs)},
        max_mc_se=float(table["mc_se"].max()),
        target_total=target_total,
        seconds=time.perf_counter() - start,
        **boot_facts,
    )
    return EngineResult(table, facts)
