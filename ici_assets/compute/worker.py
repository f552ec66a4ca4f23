"""The work one partition needs, as a plain function: a frame slice and settings in, a table and facts out.

It calls only the engine (no Dagster, no warehouse), so it runs the same in this process, in a
local worker process or on a Dask worker; every process that imports this module has the engine
loaded. BLAS and OpenMP run single-threaded here: a pool runs one task per core, and the same
thread count everywhere gives the same floating-point results in any process.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import networkx as nx
import pandas as pd
from threadpoolctl import threadpool_limits

from ici_assets import engine  # lazy: the numeric stack loads when a step computes


@dataclass(frozen=True)
class FitSettings:
    """Everything the engine needs besides the data (picklable, no Dagster types)."""

    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    target: str
    mechanisms: str | dict[str, str] = "auto"  # or a kind per non-root node
    n_bootstrap: int = 200
    seed: int = 0
    markov_alpha: float = 0.01
    with_contributions: bool = False
    time_column: str | None = None  # each row's period: the bootstrap then resamples blocks of periods

    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        g.add_edges_from(self.edges)
        return g


@dataclass
class FitOutcome:
    """The engine's ICI table and the facts the checks and metadata need."""

    table: pd.DataFrame  # node, ici, share, share_low, share_high, mechanism, r2
    kinds: dict[str, str]
    r2: dict[str, float]
    markov: pd.DataFrame  # local Markov statements and their tests
    contributions: pd.DataFrame | None = None  # per row of the slice, one column per node
    seconds: float = 0.0
    pid: int = field(default_factory=os.getpid)


def fit_slice(frame: pd.DataFrame, settings: FitSettings) -> FitOutcome:
    """Fit the SCM on ``frame`` (node columns), its ICI with bootstrap intervals, and the graph's tests."""
    start = time.perf_counter()
    nodes = frame[list(settings.nodes)]
    data = frame[[*settings.nodes, settings.time_column]] if settings.time_column else nodes
    graph = settings.graph()
    with threadpool_limits(limits=1):
        scm = engine.fit_scm(
            data, graph, mechanisms=settings.mechanisms, seed=settings.seed, time_column=settings.time_column
        )
        table = engine.ici_from_scm(scm, settings.target, n_bootstrap=settings.n_bootstrap, seed=settings.seed)
        markov = engine.local_markov_test(nodes, graph, alpha=settings.markov_alpha)
        contrib = engine.contributions(scm, settings.target) if settings.with_contributions else None
    table.attrs.clear()  # engine bookkeeping; the facts travel as fields
    return FitOutcome(
        table=table,
        kinds={str(k): str(v) for k, v in scm.kinds.items()},
        r2={str(k): float(v) for k, v in scm.r2.items()},
        markov=markov,
        contributions=contrib,
        seconds=time.perf_counter() - start,
    )


@dataclass
class ChangeOutcome:
    """One month's change attribution table and how it was obtained."""

    table: pd.DataFrame  # node, part, contribution, low, high, ..., observed_change, old_mean, new_mean
    facts: dict
    seconds: float = 0.0
    pid: int = field(default_factory=os.getpid)


def change_slice(old: pd.DataFrame, new: pd.DataFrame, settings: FitSettings) -> ChangeOutcome:
    """Attribute the change in the target's mean from ``old`` rows (the month before) to ``new`` rows."""
    start = time.perf_counter()
    columns = [*settings.nodes, *([settings.time_column] if settings.time_column else [])]
    with threadpool_limits(limits=1):
        table = engine.change_attribution(
            old[columns],
            new[columns],
            settings.graph(),
            settings.target,
            mechanisms=settings.mechanisms,
            seed=settings.seed,
            n_bootstrap=settings.n_bootstrap,
            time_column=settings.time_column,
        )
    facts = dict(table.attrs.pop("facts", {}))
    return ChangeOutcome(table=table, facts=facts, seconds=time.perf_counter() - start)
