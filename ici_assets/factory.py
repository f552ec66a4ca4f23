"""Asset factory: for every dbt model that declares an ``ici`` meta, a fitted SCM and its ICI shares.

This is the plugin's core. It turns an :class:`~ici_assets.spec.IciSpec` read from the dbt
manifest into Dagster assets, so a new graph needs YAML, not Python:

    <dbt model>  ->  ici/<model>/scm  ->  ici/<model>/shares  (-> ici.ici_shares in DuckDB)
"""


from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import dagster as dg
import pandas as pd

from ici_assets import charts
from ici_assets.engine import ENGINE_VERSION, FittedSCM, fit_scm, ici_from_scm
from ici_assets.resources import WarehouseResource
from ici_assets.spec import IciSpec
from ici_assets.sql import quote_identifier
from ici_assets.versions import frame_hash, stable_hash
from ici_assets.warehouse import write_shares

ICI_GROUP = "ici"
#: Dagster concurrency pool serialising writers of the embedded DuckDB file.
WAREHOUSE_POOL = "duckdb_warehouse"


@dataclass
class ModelFit:
    """The SCM asset's value: the fitted model plus what the downstream assets must know."""

    scm: FittedSCM
    data_version: str
    n_rows: int
    period_start: str | None
    period_end: str | None


def scm_code_version(spec: IciSpec) -> str:
    """Hash of what changes the fitted model: graph, target, mechanisms, seed, engine version."""
    return stable_hash(
        {"edges": sorted(spec.edges), "nodes": sorted(spec.nodes), "target": spec.target,
         "mechanisms": spec.mechanisms, "seed": spec.seed, "engine": ENGINE_VERSION}
    )


def shares_code_version(spec: IciSpec) -> str:
    """Hash of what changes the shares: the SCM's code version plus the bootstrap settings."""
    return stable_hash({"scm": scm_code_version(spec), "n_bootstrap": spec.n_bootstrap})


def read_node_table(con, spec: IciSpec, schema: str, table: str) -> pd.DataFrame:
    """Read the unit and node columns of the model's table, ordered by the unit columns."""
    cols = [*spec.unit, *spec.nodes]
    col_sql = ", ".join(quote_identifier(c) for c in cols)
    order = ", ".join(quote_identifier(c) for c in spec.unit) if spec.unit else col_sql
    relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    try:
        return con.execute(f"SELECT {col_sql} FROM {relation} ORDER BY {order}").df()
    except Exception as exc:  # duckdb.CatalogException / BinderException
        raise ValueError(
            f"Could not read columns {cols} of table {schema}.{table} (dbt model '{spec.model}'): "
            f"{str(exc).splitlines()[0]}. Check that the model is built and declares every node column."
        ) from exc


def _table_metadata(frame: pd.DataFrame) -> dg.MetadataValue:
    """A Dagster table preview of a small frame (floats rounded for reading)."""
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(str(c), "float" if pd.api.types.is_float_dtype(t) else "string")
            for c, t in frame.dtypes.items()
        ]
    )
    records = [
        dg.TableRecord({k: (round(float(v), 3) if isinstance(v, float) else (None if v is None else str(v)))
                        for k, v in row.items()})
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]
    return dg.MetadataValue.table(records=records, schema=schema)


def build_ici_assets(
    spec: IciSpec,
    model_key: dg.AssetKey,
    *,
    schema: str,
    table: str,
    last_click_key: dg.AssetKey | None = None,
    last_click_relation: tuple[str, str] | None = None,
) -> list[dg.AssetsDefinition]:
    """The SCM and shares assets of one dbt model carrying an ``ici`` meta."""
    prefix = ["ici", spec.model]
    scm_key = dg.AssetKey([*prefix, "scm"])
    shares_key = dg.AssetKey([*prefix, "shares"])
    graph_md = "\n".join(f"- `{p}` -> `{c}`" for p, c in spec.edges)

    @dg.asset(
        key=scm_key,
        deps=[model_key],
        group_name=ICI_GROUP,
        code_version=scm_code_version(spec),
        kinds={"python", "dowhy"},
        description=(
            f"Structural causal model of dbt model `{spec.model}` (target `{spec.target}`): roots "
            f"empirical, non-roots additive noise models ({spec.mechanisms}).\n\nGraph:\n{graph_md}"
        ),
    )
    def _scm(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.Output[ModelFit]:
        with warehouse.connect(read_only=True) as con:
            frame = read_node_table(con, spec, schema, table)
        context.log.info(f"Read {len(frame):,} rows x {len(spec.nodes)} nodes from {schema}.{table}")
        data_version = frame_hash(frame[spec.nodes])
        scm = fit_scm(frame[spec.nodes], spec.graph(), mechanisms=spec.mechanisms, seed=spec.seed)
        period = (None, None)
        if spec.time_column and spec.time_column in frame and len(frame):
            period = (str(frame[spec.time_column].min())[:10], str(frame[spec.time_column].max())[:10])
        kinds = {str(k): v for k, v in scm.kinds.items()}
        context.log.info(f"Fitted mechanisms: {kinds}; R^2: { {k: round(v, 4) for k, v in scm.r2.items()} }")
        metadata: dict[str, Any] = {
            "n_rows": len(frame),
            "data_version": data_version,
            "period_start": period[0] or "",
            "period_end": period[1] or "",
            "mechanisms": dg.MetadataValue.json(kinds),
        }
        metadata.update({f"r2/{node}": float(v) for node, v in scm.r2.items() if pd.notna(v)})
        value = ModelFit(scm=scm, data_version=data_version, n_rows=len(frame),
                         period_start=period[0], period_end=period[1])
        return dg.Output(value, metadata=metadata, data_version=dg.DataVersion(data_version))

    shares_deps = [last_click_key] if last_click_key is not None else []

    @dg.asset(
        key=shares_key,
        ins={"fit": dg.AssetIn(scm_key)},
        deps=shares_deps,
        group_name=ICI_GROUP,
        code_version=shares_code_version(spec),
        kinds={"python", "duckdb"},
        pool=WAREHOUSE_POOL,
        description=(
            f"Intrinsic causal influence of each node of `{spec.model}` on `{spec.target}`, in percent "
            f"with 95 % bootstrap intervals ({spec.n_bootstrap} resamples). Written to DuckDB table "
            "`ici.ici_shares` (latest) and `ici.ici_shares_history` (every materialisation)."
        ),
    )
    def _shares(context: dg.AssetExecutionContext, warehouse: WarehouseResource, fit: ModelFit) -> dg.MaterializeResult:
        context.log.info(f"Computing ICI of {spec.target} with {spec.n_bootstrap} bootstrap resamples")
        table_df = ici_from_scm(fit.scm, spec.target, n_bootstrap=spec.n_bootstrap, seed=spec.seed)
        code_version = shares_code_version(spec)
        now = datetime.now(timezone.utc)
        partition_key = context.partition_key if context.has_partition_key else None
        kinds = {str(k): v for k, v in fit.scm.kinds.items()}
        rows = pd.DataFrame(
            {
                "model": spec.model,
                "partition_key": partition_key,
                "node": table_df["node"].astype(str),
                "ici": table_df["ici"].astype(float),
                "share": table_df["share"].astype(float),
                "share_low": table_df["share_low"].astype(float),
                "share_high": table_df["share_high"].astype(float),
                "code_version": code_version,
                "data_version": fit.data_version,
                "materialized_at": now,
                "run_id": context.run_id,
                "target": spec.target,
                "mechanism": table_df["node"].map(lambda n: kinds.get(n, "root")),
                "n_rows": fit.n_rows,
            }
        )
        comparison = None
        if spec.last_click is not None and last_click_relation is not None:
            with warehouse.connect(read_only=True) as con:
                comparison = last_click_comparison(con, spec, last_click_relation, rows, fit)
        with warehouse.connect() as con:
            write_shares(con, rows)
        context.log.info("Wrote %d rows to ici.ici_shares and ici.ici_shares_history" % len(rows))

        shown = rows[["node", "share", "share_low", "share_high", "ici"]].sort_values("share", ascending=False)
        period = f"{fit.period_start} to {fit.period_end}" if fit.period_start else f"{fit.n_rows:,} rows"
        chart = charts.share_bar_chart(shown, title=f"Intrinsic causal influence on {spec.target} ({period})")
        png = charts.chart_png(chart)
        metadata: dict[str, Any] = {
            "shares_chart": dg.MetadataValue.md(charts.png_markdown(png, alt_text="ICI shares")),
            "shares_chart_spec": dg.MetadataValue.json(charts.chart_spec(chart)),
            "shares": _table_metadata(shown.reset_index(drop=True)),
            "code_version": code_version,
            "data_version": fit.data_version,
            "n_rows": fit.n_rows,
            "n_bootstrap": spec.n_bootstrap,
            "dagster/row_count": len(rows),
        }
        metadata.update({f"share/{n}": float(s) for n, s in zip(rows["node"], rows["share"])})
        if comparison is not None:
            cmp_chart = charts.comparison_chart(
                comparison, title=f"{spec.target}: intrinsic causal influence vs last click ({period})"
            )
            metadata["ici_vs_last_click_chart"] = dg.MetadataValue.md(
                charts.png_markdown(charts.chart_png(cmp_chart), alt_text="ICI vs last click")
            )
            metadata["ici_vs_last_click_spec"] = dg.MetadataValue.json(charts.chart_spec(cmp_chart))
            metadata["ici_vs_last_click"] = _table_metadata(comparison)
        return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(fit.data_version))

    return [_scm, _shares]


def last_click_comparison(con, spec: IciSpec, relation: tuple[str, str], rows: pd.DataFrame, fit: ModelFit) -> pd.DataFrame:
    """Each node's ICI share beside its last-click revenue share over the same period."""
    lc = spec.last_click
    assert lc is not None
    rel = f"{quote_identifier(relation[0])}.{quote_identifier(relation[1])}"
    where, params = "", []
    if lc.time_column and fit.period_start:
        where = f"WHERE {quote_identifier(lc.time_column)} BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)"
        params = [fit.period_start, fit.period_end]
    by_channel = con.execute(
        f"SELECT {quote_identifier(lc.channel_column)} AS channel, SUM({quote_identifier(lc.value_column)}) AS value "
        f"FROM {rel} {where} GROUP BY 1",
        params,
    ).df()
    by_channel["node"] = by_channel["channel"].map(lc.channels)
    total = float(by_channel["value"].sum())
    lc_by_node = by_channel.dropna(subset=["node"]).groupby("node")["value"].sum()
    out = rows[["node", "share"]].rename(columns={"share": "ici_share"}).copy()
    out["last_click_share"] = out["node"].map(lambda n: 100.0 * float(lc_by_node.get(n, 0.0)) / total if total else 0.0)
    return out.sort_values("ici_share", ascending=False).reset_index(drop=True)
