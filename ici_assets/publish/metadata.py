"""What the Dagster UI shows with each ICI materialisation: a summary line, tables, floats, versions and charts.

Conventions: the markdown ``summary`` comes first; floats are rounded to what their intervals justify
(never more than 4 significant digits); counts are text, so only quantities worth a line chart over
materialisations are numbers; at most one Vega-Lite spec per asset; ``dagster/column_schema`` is the
declared layout of the table an asset publishes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import dagster as dg

from ici_assets.publish import charts
from ici_assets.publish.summaries import fit_summary, fmt, round_to_interval, shares_summary, tidy
from ici_assets.publish.versions import SliceFacts
from ici_assets.warehouse import TableLayout

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

SHOWN_COLUMNS = ["node", "share", "share_low", "share_high"]
SUMMARY = "summary"
#: The asset Overview tab's Metadata table in dagster-webserver 1.13 at 1,400 x 900 (measured in headless Chromium):
#: a 756 px box; a row is its key (monospace, about 8.4 px a character), a 119 px timestamp, its value, and about
#: 76 px of cell padding. A row wider than the box makes the whole table scroll sideways and clips the summary
#: mid-word; markdown (the summary) wraps, a table preview, a path or a long text does not.
OVERVIEW_BOX_PX = 756
KEY_CHAR_PX = 8.4
TIMESTAMP_PX = 119
ROW_PADDING_PX = 76
#: A table preview's cells: about 7.8 px a character (monospace) and 12 px of padding per column (measured).
CHAR_PX = 7.8
CELL_PADDING_PX = 12


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


def interval_text(low: Any, high: Any) -> str:
    """'28.5–30.6': a 95 % interval as one cell, both ends at the interval's precision ('' without one)."""
    import pandas as pd

    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    return f"{fmt(low, low, high)}–{fmt(high, low, high)}"


def table_metadata(frame: pd.DataFrame, intervals: Mapping[str, tuple[str, str]] | None = None) -> dg.MetadataValue:
    """A Dagster table preview of a small frame, narrow enough for the Overview tab's metadata box.

    ``intervals`` maps a value column to its low and high columns: the value is rounded to what its interval
    justifies and the two bounds become one text column '95 % interval' right after it ('28.5–30.6'). Other
    floats keep at most 4 significant digits."""
    import pandas as pd

    intervals = dict(intervals or {})
    bounds = {c for pair in intervals.values() for c in pair}
    named = {v: "95 % interval" if len(intervals) == 1 else f"{v}: 95 % interval" for v in intervals}
    columns: list[dg.TableColumn] = []
    for c, t in frame.dtypes.items():
        if c in bounds:
            continue
        columns.append(dg.TableColumn(str(c), "float" if pd.api.types.is_float_dtype(t) else "string"))
        if c in intervals:
            columns.append(dg.TableColumn(named[str(c)], "string"))
    records = []
    for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        record: dict[str, Any] = {}
        for k, v in row.items():
            if k in bounds:
                continue
            if k in intervals:
                lo, hi = (row[b] for b in intervals[str(k)])
                record[str(k)] = None if v is None else round_to_interval(v, lo, hi)
                record[named[str(k)]] = interval_text(lo, hi)
            elif isinstance(v, float):
                record[str(k)] = tidy(v)
            else:
                record[str(k)] = None if v is None else str(v)
        records.append(dg.TableRecord(record))
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))


def preview_width(table: dg.TableMetadataValue) -> int:
    """Estimated width in pixels of a table preview in the UI: per column, its longest text (header or cell) at
    :data:`CHAR_PX` a character plus :data:`CELL_PADDING_PX` (within a few percent of what Chromium lays out)."""
    width = 0
    for column in table.schema.columns:
        cells = [column.name, *(_cell_text(r.data.get(column.name)) for r in table.records)]
        width += round(max(len(c) for c in cells) * CHAR_PX) + CELL_PADDING_PX
    return width


def value_width(value: Any) -> int:
    """Estimated width in pixels of a metadata value that does not wrap in the Overview tab (a table preview, a
    path, a text); 0 for what wraps or stays short (markdown, a JSON or markdown link, a number)."""
    if isinstance(value, dg.TableMetadataValue):
        return preview_width(value)
    if isinstance(value, (dg.TextMetadataValue, dg.PathMetadataValue)) or isinstance(value, str):
        text = value if isinstance(value, str) else str(value.value)
        longest = max((len(w) for w in text.split()), default=0)  # a text wraps at its spaces, a path does not
        return round(longest * KEY_CHAR_PX)
    return 0


def overview_width(metadata: Mapping[str, Any]) -> int:
    """Estimated width in pixels of the Overview tab's Metadata table showing ``metadata``: the widest key, the
    timestamp, the widest value that does not wrap, and the padding (constants above). At most
    :data:`OVERVIEW_BOX_PX`, the table fits its box and the summary wraps inside it."""
    key = round(max((len(k) for k in metadata), default=0) * KEY_CHAR_PX)
    value = max((value_width(v) for v in metadata.values()), default=0)
    return key + TIMESTAMP_PX + ROW_PADDING_PX + value


def _cell_text(value: Any) -> str:
    """How the UI writes a cell: floats as Python prints them, None as nothing."""
    return "" if value is None else str(value)


def chart_metadata(name: str, chart: alt.TopLevelMixin, alt_text: str, *, spec: bool = False) -> dict[str, Any]:
    """A chart as a 2x PNG in markdown (rendered by the UI), plus its Vega-Lite spec if ``spec`` (one per asset)."""
    out: dict[str, Any] = {name: dg.MetadataValue.md(charts.png_markdown(charts.chart_png(chart), alt_text=alt_text))}
    if spec:
        out[f"{name}_spec"] = dg.MetadataValue.json(charts.chart_spec(chart))
    return out


def shares_metadata(rows: pd.DataFrame, facts: SliceFacts, n_bootstrap: int, target: str) -> dict[str, Any]:
    """Summary, table preview, per-node floats (plotted over materialisations by the UI) and versions of one result.

    The preview shows each node's share and interval; the mechanism and R^2 are the SCM asset's, and ``ici`` (the
    node's part of the target's variance, in the target's unit squared) stays in ``ici.ici_shares``."""
    shown = rows[SHOWN_COLUMNS].sort_values("share", ascending=False).reset_index(drop=True)
    preview = shown.rename(columns={"share": "share (%)"})
    metadata: dict[str, Any] = {
        **summary(shares_summary(shown, target, period=facts.label)),
        "shares": table_metadata(preview, {"share (%)": ("share_low", "share_high")}),
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
        "mechanisms": dg.MetadataValue.json({n: k for n, k in kinds.items() if k != "root"}),
        "inputs": dg.MetadataValue.text(
            ", ".join(n for n, k in kinds.items() if k == "root") + " (no parents in the graph: each follows its "
            "observed distribution)"
        ),
    }
    metadata.update({f"r2/{node}": tidy(v) for node, v in r2.items() if pd.notna(v)})
    return metadata
