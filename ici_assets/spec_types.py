"""What a dbt model's ``ici`` meta declares, as typed values (parsed by :mod:`ici_assets.spec`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ici_assets.decisions_meta import DecisionsMeta

DEFAULT_N_BOOTSTRAP = 200


class IciMetaError(ValueError):
    """The ``ici`` meta of a dbt model is malformed; the message names model and key."""


@dataclass(frozen=True)
class LastClickSpec:
    """Where the finance team's last-click revenue lives and how its channels map to nodes."""

    model: str
    channel_column: str
    value_column: str
    channels: Mapping[str, str]  # channel value -> causal node
    time_column: str | None = None


@dataclass(frozen=True)
class PartitionSpec:
    """How the model's ICI is also computed per month (trailing window) and per segment."""

    monthly_start: str | None = None  # first month (YYYY-MM-01) with a full trailing window
    monthly_end: str | None = None  # exclusive end month; None = up to the current month
    window_months: int = 6
    segment_column: str | None = None  # e.g. region: one dynamic partition per value


@dataclass(frozen=True)
class CheckSpec:
    """Thresholds of the blocking asset checks that guard every ICI materialisation."""

    min_r2: float = 0.1  # each non-root mechanism must explain at least this share of its variance
    markov_alpha: float = 0.01  # family-wise level of the local Markov (partial correlation) tests
    markov_min_abs_corr: float = 0.02  # ignore rejections weaker than this partial correlation
    min_rows: int = 100


@dataclass(frozen=True)
class IciSpec:
    """Everything needed to build the ICI assets of one dbt model."""

    model: str
    unique_id: str
    relation_name: str
    target: str
    parents: Mapping[str, tuple[str, ...]]
    units: Mapping[str, str] = field(default_factory=dict)  # node -> its unit (EUR, sessions), from column meta
    unit: tuple[str, ...] = ()  # the grain: one row per combination of these columns
    time_column: str | None = None
    mechanisms: str = "auto"
    n_bootstrap: int = DEFAULT_N_BOOTSTRAP
    seed: int = 0
    last_click: LastClickSpec | None = None
    partitions: PartitionSpec = field(default_factory=PartitionSpec)
    checks: CheckSpec = field(default_factory=CheckSpec)
    decisions: DecisionsMeta | None = None  # spend response, change attribution, budget (opt-in)
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def nodes(self) -> list[str]:
        """Node columns in declaration order."""
        return list(self.parents)

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(p, child) for child, ps in self.parents.items() for p in ps]

    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        g.add_edges_from(self.edges)
        return g
