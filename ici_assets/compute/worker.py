"""The work one partition needs, as a plain function: a frame slice and settings in, the tables the checks and
rows need out.

It calls only the engine (no Dagster, no warehouse), so it runs the same in this process, in a
local worker process or on a Dask worker; every process that imports this module has the engine
loaded. BLAS and OpenMP run single-threaded here: a pool runs one task per core, and the same
thread count everywhere gives the same floating-point results in any process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from threadpoolctl import threadpool_limits

from ici_assets import engine  # lazy: the numeric stack loads when a step computes

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd


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
    time_column: str | None = None  # each row's period: the bootstrap then resamples blocks of periods
    max_samples: int = 1_000_000  # Monte Carlo cap: simulated rows or (old, new) pairs of one estimate
    mc_tolerance: float = 0.005  # Monte Carlo error wanted, relative to the level it qualifies
    transforms: dict[str, dict] | None = None  # learned carryover/saturation of root spend nodes (column meta)
    units: tuple[str, ...] = ()  # the grain's unit columns besides the time column: carryover stays within a unit

    def bootstrap(self) -> engine.Bootstrap:
        """The engine's interval settings: n_bootstrap resamples, seeded (the default resampling and interval)."""
        return engine.Bootstrap(n_bootstrap=self.n_bootstrap, seed=self.seed)

    def graph(self) -> nx.DiGraph:
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        g.add_edges_from(self.edges)
        return g


#: The column holding each row's unit when the grain has several unit columns (their values joined by '/').
UNIT_KEY = "_ici_unit"


def with_unit_column(frame: pd.DataFrame, units: tuple[str, ...] | list[str]) -> tuple[pd.DataFrame, str | None]:
    """(frame, the column naming each row's unit) for learned carryover, whose windows stay within a unit: the one
    unit column, a key joining several, or None for one national series (``units`` without the time column)."""
    if not units:
        return frame, None
    if len(units) == 1:
        return frame, units[0]
    return frame.assign(**{UNIT_KEY: frame[list(units)].astype(str).agg("/".join, axis=1)}), UNIT_KEY


@dataclass
class FitOutcome:
    """The engine's ICI table and what the checks need: the mechanism kinds, their R2, the graph's tests; and the
    worker's process id (the run reports which processes computed)."""

    table: pd.DataFrame  # node, ici, share, share_low, share_high, mechanism, r2
    kinds: dict[str, str]
    r2: dict[str, float]
    markov: pd.DataFrame  # local Markov statements and their tests
    pid: int = field(default_factory=os.getpid)


def fit_slice(frame: pd.DataFrame, settings: FitSettings) -> FitOutcome:
    """Fit the SCM on ``frame`` (node columns), its ICI with bootstrap intervals, and the graph's tests."""
    nodes = frame[list(settings.nodes)]
    data = frame[[*settings.nodes, settings.time_column]] if settings.time_column else nodes
    graph = settings.graph()
    unit_column = None
    if settings.transforms:
        data, unit_column = with_unit_column(
            frame[list(dict.fromkeys([*data.columns, *settings.units]))], settings.units
        )
    with threadpool_limits(limits=1):
        scm = engine.fit_scm(
            data,
            graph,
            mechanisms=settings.mechanisms,
            seed=settings.seed,
            time_column=settings.time_column,
            transforms=settings.transforms or None,
            unit_column=unit_column,
        )
        result = engine.estimate_ici(
            scm, settings.target, bootstrap=settings.bootstrap(), max_samples=settings.max_samples
        )
        markov = engine.local_markov_test(nodes, graph, alpha=settings.markov_alpha)
    return FitOutcome(
        table=result.table,
        kinds={str(k): str(v) for k, v in scm.kinds.items()},
        r2={str(k): float(v) for k, v in scm.r2.items()},
        markov=markov,
    )


@dataclass
class ChangeOutcome:
    """One month's change attribution table and the worker's process id."""

    table: pd.DataFrame  # node, part, contribution, low, high, ..., observed_change, old_mean, new_mean
    pid: int = field(default_factory=os.getpid)


def change_slice(old: pd.DataFrame, new: pd.DataFrame, settings: FitSettings) -> ChangeOutcome:
    """Attribute the change in the target's mean from ``old`` rows (the month before) to ``new`` rows."""
    columns = [*settings.nodes, *([settings.time_column] if settings.time_column else [])]
    with threadpool_limits(limits=1):
        result = engine.change_attribution(
            old[columns],
            new[columns],
            settings.graph(),
            settings.target,
            mechanisms=settings.mechanisms,
            time_column=settings.time_column,
            max_samples=settings.max_samples,
            mc_tolerance=settings.mc_tolerance,
            bootstrap=settings.bootstrap(),
        )
    return ChangeOutcome(table=result.table)
