"""What the SCM asset says about trusting its graph: the local Markov check's statements, the smallest graph edits
that reconcile the contradicted ones, and each spend edge's sensitivity to hidden confounding.

Kept apart from the SCM asset's body (:mod:`ici_assets.assets.ici`) so the fit, the calibration and these
diagnostics stay separate functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ici_assets.spec.model import IciSpec

if TYPE_CHECKING:
    import pandas as pd

    from ici_assets.engine import FittedSCM


@dataclass
class GraphTrust:
    """The local Markov table, the ranked edits (None when the check passes) and the sensitivity table."""

    markov: pd.DataFrame
    edits: pd.DataFrame | None
    sensitivity: pd.DataFrame


def graph_trust(spec: IciSpec, frame: pd.DataFrame, scm: FittedSCM) -> GraphTrust:
    """The graph check's statements on ``frame``, the ranked edits when a statement is contradicted (no edit gives
    a root spend node a parent: spend is set before the period), and the spend edges' robustness values."""
    from ici_assets import engine
    from ici_assets.publish.sensitivity import sensitivity_table, spend_nodes

    data, graph, limits = frame[spec.nodes], spec.graph(), spec.checks
    markov = engine.local_markov_test(data, graph, alpha=limits.markov_alpha)
    contradicted = markov["rejected_bonferroni"] & (markov["partial_corr"].abs() >= limits.markov_min_abs_corr)
    edits = None
    if contradicted.any():
        roots = [n for n in spend_nodes(spec) if not spec.parents[n]]
        edits = engine.suggest_edits(
            data, graph, alpha=limits.markov_alpha, min_abs_corr=limits.markov_min_abs_corr, roots=roots
        )
    return GraphTrust(markov, edits, sensitivity_table(scm, spec))


def trust_description(spec: IciSpec) -> str:
    """The SCM asset's description of its sensitivity sentences and the graph check's suggested edits."""
    from ici_assets.publish.sensitivity import spend_nodes

    nodes = ", ".join(f"`{n}`" for n in spend_nodes(spec)) or "none"
    return (
        f"\n\nSensitivity to hidden confounding of every edge out of a spend node ({nodes}): one sentence per "
        "channel in the summary, table `ici.sensitivity` (published with the shares). When the graph check fails, "
        "its metadata and this asset's list the contradicted statements and the ranked edits that reconcile them."
    )


def trust_metadata(trust: GraphTrust, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The SCM asset's metadata with one sensitivity sentence per channel and, when the graph check fails, the
    same ranked edits as the check's metadata."""
    from ici_assets.publish.sensitivity import graph_edits_metadata, sensitivity_metadata

    return graph_edits_metadata(trust.edits, sensitivity_metadata(trust.sensitivity, metadata))
