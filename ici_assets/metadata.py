"""What the Dagster UI shows with each ICI materialisation: tables, floats, versions and charts."""

from __future__ import annotations

from typing import Any

import altair as alt
import dagster as dg
import pandas as pd

from ici_assets import charts
from ici_assets.nodes import SliceFacts

SHOWN_COLUMNS = ["node", "share", "share_low", "share_high", "ici", "mechanism", "r2"]


def table_metadata(frame: pd.DataFrame) -> dg.MetadataValue:
    """A Dagster table preview of a small frame (floats rounded for reading)."""
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(str(c), "float" if pd.api.types.is_float_dtype(t) else "string")
            for c, t in frame.dtypes.items()
        ]
    )
    records = [
        dg.TableRecord(
            {
                str(k): (round(float(v), 3) if isinstance(v, float) else (None if v is None else str(v)))
                for k, v in row.items()
            }
        )
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]
    return dg.MetadataValue.table(records=records, schema=schema)


def chart_metadata(name: str, chart: alt.TopLevelMixin, alt_text: str) -> dict[str, dg.MetadataValue]:
    """A chart as a PNG in markdown (rendered by the UI) plus its Vega-Lite spec."""
    return {
        name: dg.MetadataValue.md(charts.png_markdown(charts.chart_png(chart), alt_text=alt_text)),
        f"{name}_spec": dg.MetadataValue.json(charts.chart_spec(chart)),
    }


def shares_metadata(rows: pd.DataFrame, facts: SliceFacts, n_bootstrap: int) -> dict[str, Any]:
    """Table preview, per-node floats (plotted over materialisations by the UI) and versions of one result."""
    shown = rows[SHOWN_COLUMNS].sort_values("share", ascending=False).reset_index(drop=True)
    metadata: dict[str, Any] = {
        "shares": table_metadata(shown),
        "code_version": str(rows["code_version"].iloc[0]),
        "data_version": facts.data_version,
        "n_rows": facts.n_rows,
        "n_bootstrap": n_bootstrap,
        "period_start": facts.period_start or "",
        "period_end": facts.period_end or "",
        "dagster/row_count": len(rows),
    }
    metadata.update({f"share/{n}": float(s) for n, s in zip(rows["node"], rows["share"])})
    return metadata


def shares_chart_metadata(rows: pd.DataFrame, title: str) -> dict[str, dg.MetadataValue]:
    """Bar chart of one result's shares with their intervals."""
    shown = rows[SHOWN_COLUMNS].sort_values("share", ascending=False).reset_index(drop=True)
    return chart_metadata("shares_chart", charts.share_bar_chart(shown, title=title), "ICI shares")


def fit_metadata(facts: SliceFacts, kinds: dict[str, str], r2: dict[str, float]) -> dict[str, Any]:
    """The SCM asset's metadata: rows, versions, the mechanism chosen per node and its R^2."""
    metadata: dict[str, Any] = {
        "n_rows": facts.n_rows,
        "data_version": facts.data_version,
        "period_start": facts.period_start or "",
        "period_end": facts.period_end or "",
        "mechanisms": dg.MetadataValue.json(dict(kinds)),
    }
    metadata.update({f"r2/{node}": float(v) for node, v in r2.items() if pd.notna(v)})
    return metadata
