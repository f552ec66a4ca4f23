"""What a dbt model's ``ici`` meta declares, as typed values (parsed by :mod:`ici_assets.spec.parse`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ici_assets.spec.anomalies import AnomaliesMeta
from ici_assets.spec.automation import AutomationMeta
from ici_assets.spec.coverage import CoverageMeta
from ici_assets.spec.decisions import DecisionsMeta
from ici_assets.spec.experiments import ExperimentsMeta
from ici_assets.spec.meta import ChecksMeta, LastClickMeta, ModelMeta, PartitionsMeta

if TYPE_CHECKING:
    import networkx as nx


class IciMetaError(ValueError):
    """The ``ici`` meta of a dbt model is malformed; the message names model and key."""


@dataclass(frozen=True)
class IciSpec:
    """Everything needed to build the ICI assets of one dbt model: its name, its graph (from the column meta)
    and its parsed ``ici`` meta. The settings are the meta's own fields (one declaration, one default each:
    :class:`~ici_assets.spec.meta.ModelMeta`), read through the properties below."""

    model: str
    unique_id: str
    parents: Mapping[str, tuple[str, ...]]
    meta: ModelMeta
    units: Mapping[str, str] = field(default_factory=dict)  # node -> its unit (EUR, sessions), from column meta
    #: root spend node -> its learned carryover and saturation, as the engine takes them (``fit_scm(transforms=)``)
    transforms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.meta.target

    @property
    def unit(self) -> tuple[str, ...]:
        """The grain: one row per combination of these columns (and the time column)."""
        return tuple(self.meta.unit)

    @property
    def time_column(self) -> str | None:
        return self.meta.time_column

    @property
    def time_grain(self) -> str:
        """day | week | month: the period one row of a unit stands for."""
        return self.meta.time_grain

    @property
    def mechanisms(self) -> str:
        return self.meta.mechanisms

    @property
    def n_bootstrap(self) -> int:
        return self.meta.n_bootstrap

    @property
    def seed(self) -> int:
        return self.meta.seed

    @property
    def last_click(self) -> LastClickMeta | None:
        return self.meta.last_click

    @property
    def partitions(self) -> PartitionsMeta:
        return self.meta.partitions

    @property
    def checks(self) -> ChecksMeta:
        return self.meta.checks

    @property
    def coverage(self) -> CoverageMeta:
        """Which gaps of the panel the coverage check accepts."""
        return self.meta.coverage

    @property
    def max_samples(self) -> int:
        """The cap on the draws of one simulated estimate (meta.ici.monte_carlo.max_samples)."""
        return self.meta.monte_carlo.max_samples

    @property
    def decisions(self) -> DecisionsMeta | None:
        """Spend response, change attribution and budget (opt-in)."""
        return self.meta.decisions

    @property
    def automation(self) -> AutomationMeta:
        """When the model's ICI assets materialise by themselves."""
        return self.meta.automation

    @property
    def anomalies(self) -> AnomaliesMeta | None:
        """The anomalies asset's settings (opt-in)."""
        return self.meta.anomalies

    @property
    def experiments(self) -> ExperimentsMeta | None:
        """Where the lift tests live (opt-in): the SCM is calibrated to them."""
        return self.meta.experiments

    @property
    def nodes(self) -> list[str]:
        """Node columns in declaration order."""
        return list(self.parents)

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(p, child) for child, ps in self.parents.items() for p in ps]

    def graph(self) -> nx.DiGraph:
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        g.add_edges_from(self.edges)
        return g
