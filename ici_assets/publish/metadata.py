"""What the Dagster UI shows with each ICI materialisation: a summary line, tables, floats, versions and charts.

Conventions: the markdown ``summary`` comes first; floats are rounded to what their intervals justify
(never more than 4 significant digits); counts are text, so only quantities worth a line chart over
materialisations are numbers; at most one Vega-Lite spec per asset; ``dagster/column_schema`` is the
declared layout of the table an asset publishes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dagster as dg

from ici_assets.publish import charts
from ici_assets.publish.summaries import fit_summary, round_to_interval, shares_summary, tidy
from ici_assets.publish.versions import SliceFacts
from ici_assets.warehouse import TableLayout

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

SHOWN_COLUMNS = ["node", "share", "share_low", "share_high", "ici", "mechanism", "r2"]
SUMMARY = "summary"


def summary(text: str) -> dict[str, dg.MetadataValue]:
    """The one-line markdown answer, to be the first metadata entry."""
    return {SUMMARY: dg.MetadataValue.md(text)}


def count(n: int) -> dg.MetadataValue:
    """A count as text: the UI plots numbers over materialisations, and a count such as n_bootstrap is no series."""
    return dg.MetadataValue.text(f"{int(n):,}")


def column_schema(layout: TableLayout) -> dict[str, Any]:
    """``dagster/column_schema`` and ``dagster/table_name`` of a declared table layout."""
    columns = [
        dg.TableColumn(
            c.name, c.type.value, constraints=dg.TableColumnConstraints(nullable=c.nullable) if not c.nullable else None
        )
        for c in layout.columns
    ]
    return {
        "dagster/column_schema": dg.TableSchema(columns=columns),
        "dagster/table_name": f"{layout.relation.schema}.{layout.relation.name}",
    }


def table_metadata(frame: pd.DataFrame) -> dg.MetadataValue:
    """A Dagster table preview of a small frame (floats to 4 significant digits, or to their interval's precision)."""
    import pandas as pd

    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(str(c), "float" if pd.api.types.is_float_dtype(t) else "string")
            for c, t in frame.dtypes.items()
        ]
    )
    bounds = {"share": ("share_low", "share_high"), "contribution": ("low", "high")}
    records = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        record: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, float):
                lo, hi = bounds.get(str(k), (None, None))
                record[str(k)] = round_to_interval(v, row.get(lo) if lo else None, row.get(hi) if hi else None)
            else:
                record[str(k)] = None if v is None else str(v)
        records.append(dg.TableRecord(record))
    return dg.MetadataValue.table(records=records, schema=schema)


def chart_metadata(name: str, chart: alt.TopLevelMixin, alt_text: str, *, spec: bool = False) -> dict[str, Any]:
    """A chart as a 2x PNG in markdown (rendered by the UI), plus its Vega-Lite spec if ``spec`` (one per asset)."""
    out: dict[str, Any] = {name: dg.MetadataValue.md(charts.png_markdown(charts.chart_png(chart), alt_text=alt_text))}
    if spec:
        out[f"{name}_spec"] = dg.MetadataValue.json(charts.chart_spec(chart))
    return out


def shares_metadata(rows: pd.DataFrame, facts: SliceFacts, n_bootstrap: int, target: str) -> dict[str, Any]:
    """Summary, table preview, per-node floats (plotted over materialisations by the UI) and versions of one result."""
    shown = rows[SHOWN_COLUMNS].sort_values("share", ascending=False).reset_index(drop=True)
    metadata: dict[str, Any] = {
        **summary(shares_summary(shown, target, period=facts.label)),
        "shares": table_metadata(shown),
        "code_version": str(rows["code_version"].iloc[0]),
        "data_version": facts.data_version,
        "n_rows": count(facts.n_rows),
        "n_bootstrap": count(n_bootstrap),
        "period_start": facts.period_start or "",
        "period_end": facts.period_end or "",
        "dagster/row_count": len(rows),
    }
    metadata.update(
        {
            f"share/{r.node}": round_to_interval(r.share, r.share_low, r.share_high)
            for r in rows[["node", "share", "share_low", "share_high"]].itertuples()
        }
    )
    return metadata


def shares_chart_metadata(rows: pd.DataFrame, title: str, target: str) -> dict[str, Any]:
    """Bar chart of one result's shares with their intervals (the target's own noise in the subtitle), and its spec."""
    shown = rows[SHOWN_COLUMNS].sort_values("share", ascending=False).reset_index(drop=True)
    chart = charts.share_bar_chart(shown, title=title, target=target)
    return chart_metadata("shares_chart", chart, "ICI shares", spec=True)


def fit_metadata(facts: SliceFacts, kinds: dict[str, str], r2: dict[str, float]) -> dict[str, Any]:
    """The SCM asset's metadata: summary, rows, versions, the mechanism chosen per node and its R^2."""
    import pandas as pd

    metadata: dict[str, Any] = {
        **summary(fit_summary(kinds, r2, facts.n_rows)),
        "n_rows": count(facts.n_rows),
        "data_version": facts.data_version,
        "period_start": facts.period_start or "",
        "period_end": facts.period_end or "",
        "mechanisms": dg.MetadataValue.json(dict(kinds)),
    }
    metadata.update({f"r2/{node}": tidy(v) for node, v in r2.items() if pd.notna(v)})
    return metadata
