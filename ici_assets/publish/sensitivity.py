"""Sensitivity of each spend node's edges to hidden confounding: rows of ``ici.sensitivity``, one sentence per
channel for the SCM asset's summary, and the graph check's suggested edits in the SCM asset's metadata.

The SCM asset computes the table (:func:`ici_assets.engine.confounding_sensitivity`, Cinelli and Hazlett's
robustness value from the observational least-squares fit) for every edge out of a spend node; the shares asset
publishes it with the shares, in one transaction, with the same run, code and data versions. Spend nodes are
``meta.ici.decisions.spend_nodes`` when declared, else the graph's roots that have a child (what a budget or a
hidden driver could set before the period). A line per channel reads "tv_spend's effect on search_clicks survives
a hidden confounder explaining up to 18 % of both tv_spend and search_clicks (95 % interval reaching zero at 12 %)",
the percentages being the confounder's partial R^2 with each (docs/sql.md, "ici.sensitivity").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ici_assets.publish.rows import ResultKey, run_columns
from ici_assets.publish.versions import SliceFacts
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import SENSITIVITY, SENSITIVITY_HISTORY, Append, Publish, Replace

if TYPE_CHECKING:
    import pandas as pd

#: The share of the robustness value's cut the half-way column reports (RV_0.5: the estimate halved).
HALF = 0.5
#: The interval's level: 95 %, as every other interval the plugin publishes.
ALPHA = 0.05


def spend_nodes(spec: IciSpec) -> list[str]:
    """The nodes whose edges are tested: decisions.spend_nodes when declared, else the roots with a child."""
    if spec.decisions is not None:
        return list(spec.decisions.spend_nodes)
    children = {p for p, _ in spec.edges}
    return [n for n in spec.nodes if not spec.parents[n] and n in children]


def sensitivity_table(scm: Any, spec: IciSpec) -> pd.DataFrame:
    """The engine's sensitivity rows for every edge out of a spend node, with the child's mechanism, whether the
    robustness value is available and, when not (or when it holds only given a learned transform), why."""
    from ici_assets import engine

    nodes = [n for n in spend_nodes(spec) if n in scm.graph]
    table = engine.confounding_sensitivity(scm, nodes, q=HALF, alpha=ALPHA, nonlinear="average_slope").table.copy()
    kinds = scm.kinds
    table["mechanism"] = [str(kinds[c]) for c in table["child"]]
    table["available"] = table["robustness_value"].notna()
    learned = {str(n) for n in scm.transforms}
    table["reason"] = [
        _reason(str(n), str(c), str(kinds[c]), bool(ok), learned)
        for n, c, ok in zip(table["node"], table["child"], table["available"])
    ]
    table["method"] = table["method"].where(table["available"], None)
    table.loc[~table["available"], "sentence"] = None
    return table


def _reason(node: str, child: str, kind: str, available: bool, learned: set[str]) -> str | None:
    """Why a row has no robustness value, or what its values hold only under; None for a plain linear edge."""
    if not available:
        return f"not available: {node} explains nothing of {child} beyond its other parents (no slope to test)"
    notes = []
    if kind != "linear":
        notes.append(
            f"approximate: {child}'s mechanism is {kind}, so the values are those of {node}'s average slope in a "
            f"partially linear fit ({child} and {node} residualized on {child}'s other parents by splines), not of "
            "the effect at one level"
        )
    if node in learned:
        notes.append(
            f"the effect of {node}'s learned carryover/saturation series, given its fitted parameters (their "
            "uncertainty is not in the t-statistic)"
        )
    return "; ".join(notes) or None


def sensitivity_rows(spec: IciSpec, table: pd.DataFrame | None, facts: SliceFacts, key: ResultKey) -> pd.DataFrame:
    """Rows of ``ici.sensitivity`` (non-finite values as null); none without a table (the tables exist all the
    same, with the same columns on every warehouse)."""
    import numpy as np
    import pandas as pd

    if table is None or table.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in SENSITIVITY.column_names})
    num = lambda c: table[c].astype(float).where(np.isfinite(table[c].astype(float)))  # noqa: E731
    dof = table["dof"].astype(float)
    return pd.DataFrame(
        {
            "asset_key": key.asset_key,
            "model": spec.model,
            "target": spec.target,
            "node": table["node"].astype(str),
            "child": table["child"].astype(str),
            "mechanism": table["mechanism"].astype(str),
            "estimate": num("estimate"),
            "se": num("se"),
            "t": num("t"),
            "dof": [int(d) if np.isfinite(d) else None for d in dof],
            "partial_r2": num("partial_r2"),
            "robustness_value": num("robustness_value"),
            "robustness_value_interval": num("robustness_value_interval"),
            "robustness_value_half": num("robustness_value_q"),
            "robustness_value_width": num("robustness_value_width"),
            "method": table["method"].where(table["method"].notna(), None),
            "available": table["available"].astype(bool),
            "reason": table["reason"].where(table["reason"].notna(), None),
            "sentence": table["sentence"].where(table["sentence"].notna(), None),
            **run_columns(facts, key),
        }
    )[SENSITIVITY.column_names]


def sensitivity_items(rows: pd.DataFrame) -> list[Publish]:
    """Replace the asset's current sensitivity rows; append them to the history (one transaction with the shares)."""
    return [Replace(SENSITIVITY, rows, ("asset_key",)), Append(SENSITIVITY_HISTORY, rows)]


def percent(x: float) -> str:
    """0.1834 -> '18', 0.0053 -> '0.53': a partial R^2 in percent to 2 significant digits."""
    return f"{100.0 * float(x):.2g}"


def sensitivity_lines(table: pd.DataFrame) -> list[str]:
    """One sentence per spend node: how strong a hidden confounder of it and each child would have to be (partial
    R^2 with both) to remove the effect, and to bring its 95 % interval to zero; "not available" said plainly.
    "tv_spend's effect on visits survives a hidden confounder explaining up to 46 % of both tv_spend and visits,
    on revenue up to 18 % of both tv_spend and revenue (95 % interval reaching zero at 45 % and 16 %)"."""
    lines = []
    for node, rows in table.groupby("node", sort=False):
        records = rows.to_dict("records")
        shown = [r for r in records if r["available"]]
        parts = [
            f"on {r['child']} up to {percent(r['robustness_value'])} % of both {node} and {r['child']}"
            + (" (its average slope)" if r["method"] == "average_slope" else "")
            for r in shown
        ]
        line = f"{node}'s effect"
        if parts:
            parts[0] = parts[0].replace(" up to ", " survives a hidden confounder explaining up to ", 1)
            zero = " and ".join(f"{percent(r['robustness_value_interval'])} %" for r in shown)
            line += " " + ", ".join(parts) + f" (95 % interval reaching zero at {zero})"
        missing = [r for r in records if not r["available"]]
        if missing:
            line += ("; " if parts else " ") + ", ".join(
                f"on {r['child']}: robustness value not available ({r['reason'].removeprefix('not available: ')})"
                for r in missing
            )
        lines.append(line)
    return lines


def sensitivity_metadata(table: pd.DataFrame, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The SCM asset's metadata with the sensitivity: one sentence per channel appended to the summary (it stays
    first), and per spend node the weakest edge's robustness value as a float (plotted over materialisations)."""
    import dagster as dg

    from ici_assets.publish.metadata import SUMMARY

    out = dict(metadata)
    lines = sensitivity_lines(table)
    if not lines:
        return out
    head = str(out[SUMMARY].value) if SUMMARY in out else ""
    text = "Hidden confounding (partial R², table `ici.sensitivity`): " + ". ".join(lines) + "."
    out[SUMMARY] = dg.MetadataValue.md("\n\n".join([head, text]).strip())
    shown = table[table["available"]]
    for node, rv in shown.groupby("node", sort=False)["robustness_value"].min().items():
        out[f"rv/{node}"] = float(f"{float(rv):.2g}")
    return out


def graph_edits_metadata(edits: pd.DataFrame | None, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The SCM asset's metadata with the graph check's suggested edits when it fails: the same ranked list as the
    check's metadata, and a line in the summary naming the first."""
    import dagster as dg

    from ici_assets.checks.ici import edit_lines
    from ici_assets.publish.metadata import SUMMARY

    out = dict(metadata)
    if edits is None or edits.empty:
        return out
    lines = edit_lines(edits)
    head = str(out[SUMMARY].value) if SUMMARY in out else ""
    first = edits.iloc[0]
    text = (
        f"The data contradict the graph: adding {first['parent']} -> {first['child']} reconciles the most "
        "(`suggested_edits`)."
    )
    out[SUMMARY] = dg.MetadataValue.md("\n\n".join([head, text]).strip())
    out["suggested_edits"] = dg.MetadataValue.md("\n".join(lines))
    return out
