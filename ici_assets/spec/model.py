"""What a dbt model's ``ici`` meta declares, as typed values (parsed by :mod:`ici_assets.spec.parse`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx

from ici_assets.spec.decisions import DecisionsMeta
from ici_assets.spec.meta import ChecksMeta, LastClickMeta, ModelMeta, PartitionsMeta

DEFAULT_N_BOOTSTRAP = 200


class IciMetaError(ValueError):
    """The ``ici`` meta of a dbt model is malformed; the message names model and key."""


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
    time_grain: str = "day"  # day | week | month: the period of one row of a unit
    mechanisms: str = "auto"
    n_bootstrap: int = DEFAULT_N_BOOTSTRAP
    seed: int = 0
    last_click: LastClickMeta | None = None
    partitions: PartitionsMeta = field(default_factory=PartitionsMeta)
    checks: ChecksMeta = field(default_factory=ChecksMeta)
    decisions: DecisionsMeta | None = None  # spend response, change attribution, budget (opt-in)
    description: str = ""
    meta: ModelMeta | None = None  # the whole parsed meta, for blocks that have no field here

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
