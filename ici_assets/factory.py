"""Asset factory: for every dbt model that declares an ``ici`` meta, a fitted SCM and its ICI shares.

This is the plugin's core. It turns an :class:`~ici_assets.spec.IciSpec` read from the dbt
manifest into Dagster assets, so a new graph needs YAML, not Python:

    <dbt model> -> ici/<model>/scm -> ici/<model>/shares          (whole period)
    <dbt model> -> ici/<model>/shares_by_month                    (monthly partitions, trailing window)
    <dbt model> -> ici/<model>/shares_by_<segment>                (one dynamic partition per segment)

All of them write ``ici.ici_shares`` (latest per asset and partition) and
``ici.ici_shares_history`` (append-only) in one transaction each.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ici_assets import charts, checks
from ici_assets.engine import ENGINE_VERSION, FittedSCM, contributions, fit_scm, ici_from_scm
from ici_assets.resources import WarehouseResource
from ici_assets.spec import IciSpec
from ici_assets.sql import quote_identifier
from ici_assets.versions import frame_hash, stable_hash
from ici_assets.warehouse import ICI_SCHEMA, SHARES_TABLE, replace_rows, write_shares

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
    times: np.ndarray | None = None  # time column of each training row (for contributions)


def scm_code_version(spec: IciSpec) -> str:
    """Hash of what changes the fitted model: graph, target, mechanisms, seed, engine version."""
    return stable_hash(
        {
            "edges": sorted(spec.edges),
            "nodes": sorted(spec.nodes),
            "target": spec.target,
            "mechanisms": spec.mechanisms,
            "seed": spec.seed,
            "engine": ENGINE_VERSION,
        }
    )


def shares_code_version(spec: IciSpec, extra: Any = None) -> str:
    """Hash of what changes the shares: the SCM's code version, bootstrap settings, window."""
    return stable_hash({"scm": scm_code_version(spec), "n_bootstrap": spec.n_bootstrap, "extra": extra})


def segment_partitions_name(spec: IciSpec) -> str:
    return f"{spec.model}__{spec.partitions.segment_column}"


def read_node_table(
    con, spec: IciSpec, schema: str, table: str, where: str = "", params: list | None = None
) -> pd.DataFrame:
    """Read the unit and node columns of the model's table (optionally a slice), ordered by unit."""
    cols = list(dict.fromkeys([*spec.unit, *([spec.time_column] if spec.time_column else []), *spec.nodes]))
    col_sql = ", ".join(quote_identifier(c) for c in cols)
    order = ", ".join(quote_identifier(c) for c in (spec.unit or cols))
    relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    try:
        return con.execute(f"SELECT {col_sql} FROM {relation} {where} ORDER BY {order}", params or []).df()
    except Exception as exc:  # duckdb.CatalogException / BinderException
        present = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [schema, table],
            ).fetchall()
        }
        if not present:
            raise ValueError(
                f"Table {schema}.{table} of dbt model '{spec.model}' does not exist: build the dbt models first."
            ) from exc
        missing = [c for c in cols if c not in present]
        raise ValueError(
            f"Table {schema}.{table} (dbt model '{spec.model}') lacks column(s) {missing} that the graph declares: "
            f"add them to the model's SQL, or remove them from its `ici` meta. ({str(exc).splitlines()[0]})"
        ) from exc


def fit_frame(context: dg.AssetExecutionContext, spec: IciSpec, frame: pd.DataFrame, where: str) -> ModelFit:
    """Fit the SCM on a frame of the node table; log what was fitted."""
    if frame.empty:
        raise ValueError(
            f"No rows in {where} of dbt model '{spec.model}': nothing to fit. Check that the raw tables "
            "hold data for this period/segment and that the dbt models are built."
        )
    context.log.info(f"Fitting the SCM of {spec.model} on {len(frame):,} rows ({where})")
    scm = fit_scm(frame[spec.nodes], spec.graph(), mechanisms=spec.mechanisms, seed=spec.seed)
    times = None
    period = (None, None)
    if spec.time_column and spec.time_column in frame:
        times = pd.to_datetime(frame[spec.time_column]).to_numpy()
        period = (str(frame[spec.time_column].min())[:10], str(frame[spec.time_column].max())[:10])
    context.log.info(
        "Mechanisms: "
        + ", ".join(f"{n}={k} (R^2 {scm.r2.get(n, float('nan')):.3f})" for n, k in scm.kinds.items() if k != "root")
    )
    return ModelFit(
        scm=scm,
        data_version=frame_hash(frame),
        n_rows=len(frame),
        period_start=period[0],
        period_end=period[1],
        times=times,
    )


def compute_rows(
    context: dg.AssetExecutionContext,
    spec: IciSpec,
    fit: ModelFit,
    *,
    asset_key: dg.AssetKey,
    code_version: str,
    partition_kind: str | None,
) -> pd.DataFrame:
    """ICI with bootstrap intervals as rows of ``ici.ici_shares``."""
    context.log.info(f"Computing ICI of {spec.target} with {spec.n_bootstrap} bootstrap resamples")
    table = ici_from_scm(fit.scm, spec.target, n_bootstrap=spec.n_bootstrap, seed=spec.seed)
    return pd.DataFrame(
        {
            "asset_key": asset_key.to_user_string(),
            "model": spec.model,
            "partition_key": context.partition_key if context.has_partition_key else None,
            "partition_kind": partition_kind,
            "node": table["node"].astype(str),
            "ici": table["ici"].astype(float),
            "share": table["share"].astype(float),
            "share_low": table["share_low"].astype(float),
            "share_high": table["share_high"].astype(float),
            "code_version": code_version,
            "data_version": fit.data_version,
            "materialized_at": datetime.now(UTC),
            "run_id": context.run.run_id,
            "target": spec.target,
            "mechanism": table["mechanism"].astype(str),
            "r2": table["r2"].astype(float),
            "n_rows": fit.n_rows,
            "period_start": pd.to_datetime(fit.period_start).date() if fit.period_start else None,
            "period_end": pd.to_datetime(fit.period_end).date() if fit.period_end else None,
        }
    )


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
                k: (round(float(v), 3) if isinstance(v, float) else (None if v is None else str(v)))
                for k, v in row.items()
            }
        )
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]
    return dg.MetadataValue.table(records=records, schema=schema)


def chart_metadata(name: str, chart, alt_text: str) -> dict[str, dg.MetadataValue]:
    """A chart as a PNG in markdown (rendered by the UI) plus its Vega-Lite spec."""
    return {
        name: dg.MetadataValue.md(charts.png_markdown(charts.chart_png(chart), alt_text=alt_text)),
        f"{name}_spec": dg.MetadataValue.json(charts.chart_spec(chart)),
    }


def shares_metadata(rows: pd.DataFrame, fit: ModelFit, spec: IciSpec, title: str) -> dict[str, Any]:
    """Bar chart, table preview, per-node floats and versions of one ICI result."""
    shown = (
        rows[["node", "share", "share_low", "share_high", "ici", "mechanism", "r2"]]
        .sort_values("share", ascending=False)
        .reset_index(drop=True)
    )
    metadata: dict[str, Any] = {
        **chart_metadata("shares_chart", charts.share_bar_chart(shown, title=title), "ICI shares"),
        "shares": table_metadata(shown),
        "code_version": str(rows["code_version"].iloc[0]),
        "data_version": fit.data_version,
        "n_rows": fit.n_rows,
        "n_bootstrap": spec.n_bootstrap,
        "period_start": fit.period_start or "",
        "period_end": fit.period_end or "",
        "dagster/row_count": len(rows),
    }
    metadata.update({f"share/{n}": float(s) for n, s in zip(rows["node"], rows["share"])})
    return metadata


def daily_contributions(
    spec: IciSpec, fit: ModelFit, *, asset_key: dg.AssetKey, code_version: str, run_id: str
) -> pd.DataFrame | None:
    """Each node's intrinsic contribution to the target per period (summed over units), long format."""
    if fit.times is None:
        return None
    contrib = contributions(fit.scm, spec.target)
    contrib["period"] = pd.to_datetime(fit.times).normalize()
    daily = contrib.groupby("period").sum()
    long = daily.reset_index().melt(id_vars="period", var_name="node", value_name="contribution")
    long["period"] = long["period"].dt.date
    long["node"] = long["node"].astype(str)
    long["asset_key"] = asset_key.to_user_string()
    long["model"] = spec.model
    long["code_version"] = code_version
    long["data_version"] = fit.data_version
    long["run_id"] = run_id
    return long


def last_click_comparison(
    con, spec: IciSpec, relation: tuple[str, str], rows: pd.DataFrame, fit: ModelFit
) -> pd.DataFrame:
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


def _period_label(fit: ModelFit) -> str:
    return f"{fit.period_start} to {fit.period_end}" if fit.period_start else f"{fit.n_rows:,} rows"


def build_ici_assets(
    spec: IciSpec,
    model_key: dg.AssetKey,
    *,
    schema: str,
    table: str,
    last_click_key: dg.AssetKey | None = None,
    last_click_relation: tuple[str, str] | None = None,
) -> list[dg.AssetsDefinition]:
    """The ICI assets of one dbt model carrying an ``ici`` meta."""
    prefix = ["ici", spec.model]
    scm_key = dg.AssetKey([*prefix, "scm"])
    shares_key = dg.AssetKey([*prefix, "shares"])
    graph_md = "\n".join(f"- `{p}` -> `{c}`" for p, c in spec.edges)
    seg = spec.partitions.segment_column
    segment_parts = dg.DynamicPartitionsDefinition(name=segment_partitions_name(spec)) if seg else None

    @dg.asset(
        key=scm_key,
        deps=[model_key],
        check_specs=checks.check_specs(scm_key, checks.SCM_CHECKS),
        group_name=ICI_GROUP,
        code_version=scm_code_version(spec),
        kinds={"python", "dowhy"},
        description=(
            f"Structural causal model of dbt model `{spec.model}` (target `{spec.target}`): roots "
            f"empirical, non-roots additive noise models ({spec.mechanisms}).\n\nGraph:\n{graph_md}"
        ),
    )
    def _scm(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect(read_only=True) as con:
            frame = read_node_table(con, spec, schema, table)
            segments = (
                [
                    r[0]
                    for r in con.execute(
                        f"SELECT DISTINCT CAST({quote_identifier(seg)} AS VARCHAR) FROM "
                        f"{quote_identifier(schema)}.{quote_identifier(table)} ORDER BY 1"
                    ).fetchall()
                ]
                if seg
                else []
            )
        fit = fit_frame(context, spec, frame, f"{schema}.{table}")
        if segment_parts is not None:
            new = [s for s in segments if not context.instance.has_dynamic_partition(segment_parts.name, s)]
            if new:
                context.instance.add_dynamic_partitions(segment_parts.name, new)
                context.log.info(f"Registered {len(new)} new '{seg}' partitions: {new[:10]}...")
        metadata: dict[str, Any] = {
            "n_rows": fit.n_rows,
            "data_version": fit.data_version,
            "period_start": fit.period_start or "",
            "period_end": fit.period_end or "",
            "mechanisms": dg.MetadataValue.json({str(k): v for k, v in fit.scm.kinds.items()}),
        }
        metadata.update({f"r2/{node}": float(v) for node, v in fit.scm.r2.items() if pd.notna(v)})
        yield dg.Output(fit, metadata=metadata, data_version=dg.DataVersion(fit.data_version))
        for result in checks.scm_check_results(spec, fit.scm, frame):
            if not result.passed:
                context.log.error(f"Check {result.check_name} failed: {result.description}")
            yield result

    shares_code = shares_code_version(spec)

    @dg.asset(
        key=shares_key,
        ins={"fit": dg.AssetIn(scm_key)},
        deps=[last_click_key] if last_click_key is not None else [],
        group_name=ICI_GROUP,
        code_version=shares_code,
        check_specs=checks.check_specs(shares_key, checks.SHARES_CHECKS),
        kinds={"python", "duckdb"},
        pool=WAREHOUSE_POOL,
        description=(
            f"Intrinsic causal influence of each node of `{spec.model}` on `{spec.target}` over the whole "
            f"period, in percent with 95 % bootstrap intervals ({spec.n_bootstrap} resamples), and each "
            "node's contribution per day. Tables `ici.ici_shares`, `ici.ici_shares_history`, "
            "`ici.ici_contributions`."
        ),
    )
    def _shares(context: dg.AssetExecutionContext, warehouse: WarehouseResource, fit: ModelFit) -> dg.MaterializeResult:
        rows = compute_rows(context, spec, fit, asset_key=shares_key, code_version=shares_code, partition_kind=None)
        contrib = daily_contributions(
            spec, fit, asset_key=shares_key, code_version=shares_code, run_id=context.run.run_id
        )
        comparison = None
        if spec.last_click is not None and last_click_relation is not None:
            with warehouse.connect(read_only=True) as con:
                comparison = last_click_comparison(con, spec, last_click_relation, rows, fit)
        check_results = checks.shares_check_results(rows["share"])
        if all(r.passed for r in check_results):
            with warehouse.connect() as con:
                write_shares(con, rows, contrib)
            context.log.info(f"Wrote {len(rows)} rows to ici.ici_shares and ici.ici_shares_history")
        else:
            context.log.error("Shares failed their checks: NOT written to ici.ici_shares (previous results kept)")

        period = _period_label(fit)
        metadata = shares_metadata(rows, fit, spec, f"Intrinsic causal influence on {spec.target} ({period})")
        if comparison is not None:
            metadata.update(
                chart_metadata(
                    "ici_vs_last_click_chart",
                    charts.comparison_chart(
                        comparison, title=f"{spec.target}: intrinsic causal influence vs last click ({period})"
                    ),
                    "ICI vs last click",
                )
            )
            metadata["ici_vs_last_click"] = table_metadata(comparison)
        if contrib is not None:
            metadata.update(
                chart_metadata(
                    "contributions_chart",
                    charts.contributions_chart(contrib, title=f"Intrinsic contribution to {spec.target} per week"),
                    "Contributions over time",
                )
            )
        metadata["published"] = all(r.passed for r in check_results)
        return dg.MaterializeResult(
            metadata=metadata, data_version=dg.DataVersion(fit.data_version), check_results=check_results
        )

    assets: list[dg.AssetsDefinition] = [_scm, _shares]
    if spec.last_click is not None and last_click_relation is not None:
        assets.append(_vs_last_click_asset(spec, shares_key, last_click_key, last_click_relation))
    if spec.partitions.monthly_start:
        assets.append(_monthly_asset(spec, model_key, schema, table))
    if segment_parts is not None:
        assets.append(_segment_asset(spec, model_key, schema, table, segment_parts))
    return assets


def interpret_comparison(comparison: pd.DataFrame, target: str) -> str:
    """One sentence for the marketing director, generated from the numbers."""
    gap = comparison.assign(gap=comparison["ici_share"] - comparison["last_click_share"])
    under = gap.sort_values("gap", ascending=False).iloc[0]
    over = gap.sort_values("gap").iloc[0]
    clicked = comparison[comparison["last_click_share"] > 0]
    return (
        f"Last click gives {under['node']} {under['last_click_share']:.1f} % of {target}, but its intrinsic causal "
        f"influence is {under['ici_share']:.1f} %; it credits {over['node']} with {over['last_click_share']:.1f} % "
        f"where its own influence is {over['ici_share']:.1f} % (the clicked channels get "
        f"{clicked['last_click_share'].sum():.0f} % under last click versus {clicked['ici_share'].sum():.1f} % by ICI)."
    )


def _vs_last_click_asset(spec: IciSpec, shares_key: dg.AssetKey, last_click_key, relation) -> dg.AssetsDefinition:
    key = dg.AssetKey(["ici", spec.model, "ici_vs_last_click"])

    @dg.asset(
        key=key,
        deps=[shares_key, last_click_key],
        group_name=ICI_GROUP,
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        description=(
            f"Each node's ICI share next to its last-click share of `{spec.target}` for the same period, with a "
            "sentence of interpretation. Table `ici.ici_vs_last_click`. Blocked when the shares fail their checks."
        ),
    )
    def _vs(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.connect(read_only=True) as con:
            rows = con.execute(
                f"SELECT node, share, share_low, share_high, period_start, period_end, data_version "
                f"FROM {ICI_SCHEMA}.{SHARES_TABLE} WHERE asset_key = ? AND partition_key IS NULL",
                [shares_key.to_user_string()],
            ).df()
            if rows.empty:
                raise ValueError(
                    f"No current shares for {shares_key.to_user_string()} in ici.ici_shares: materialise it first."
                )
            fit_like = ModelFit(
                scm=None,
                data_version=str(rows["data_version"].iloc[0]),
                n_rows=0,  # type: ignore[arg-type]
                period_start=str(rows["period_start"].iloc[0])[:10] if pd.notna(rows["period_start"].iloc[0]) else None,
                period_end=str(rows["period_end"].iloc[0])[:10] if pd.notna(rows["period_end"].iloc[0]) else None,
            )
            comparison = last_click_comparison(con, spec, relation, rows, fit_like)
        comparison = comparison.merge(rows[["node", "share_low", "share_high"]], on="node")
        sentence = interpret_comparison(comparison, spec.target)
        context.log.info(sentence)
        out = comparison.assign(
            asset_key=key.to_user_string(),
            model=spec.model,
            target=spec.target,
            period_start=fit_like.period_start,
            period_end=fit_like.period_end,
            run_id=context.run.run_id,
            materialized_at=datetime.now(UTC),
        )
        with warehouse.connect() as con:
            replace_rows(con, "ici_vs_last_click", out, "asset_key", key.to_user_string())
        period = f"{fit_like.period_start} to {fit_like.period_end}"
        return dg.MaterializeResult(
            metadata={
                **chart_metadata(
                    "ici_vs_last_click_chart",
                    charts.comparison_chart(
                        comparison, title=f"{spec.target}: intrinsic causal influence vs last click ({period})"
                    ),
                    "ICI vs last click",
                ),
                "ici_vs_last_click": table_metadata(
                    comparison[["node", "ici_share", "share_low", "share_high", "last_click_share"]]
                ),
                "interpretation": dg.MetadataValue.text(sentence),
            }
        )

    return _vs


def _history_chart_metadata(
    warehouse: WarehouseResource, asset_key: dg.AssetKey, chart_fn, title: str
) -> dict[str, Any]:
    """Chart of every partition's current shares of one asset (read back after the write)."""
    with warehouse.connect(read_only=True) as con:
        current = con.execute(
            f"SELECT partition_key, node, share, share_low, share_high FROM {ICI_SCHEMA}.{SHARES_TABLE} "
            "WHERE asset_key = ? ORDER BY partition_key, node",
            [asset_key.to_user_string()],
        ).df()
    return chart_metadata("partitions_chart", chart_fn(current, title=title), title)


def _publish_slice(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    spec: IciSpec,
    *,
    schema: str,
    table: str,
    where: str,
    params: list,
    label: str,
    key: dg.AssetKey,
    code: str,
    kind: str,
    title: str,
    chart_fn,
    chart_title: str,
) -> dg.MaterializeResult:
    """Fit and publish the ICI of one partition's slice of the node table, with the partitions chart.

    The shares checks run before the write: a failing slice raises and writes nothing.
    """
    with warehouse.connect(read_only=True) as con:
        frame = read_node_table(con, spec, schema, table, where, params)
    fit = fit_frame(context, spec, frame, label)
    rows = compute_rows(context, spec, fit, asset_key=key, code_version=code, partition_kind=kind)
    failed = [r.description for r in checks.shares_check_results(rows["share"]) if not r.passed]
    if failed:
        raise ValueError(
            f"ICI of {key.to_user_string()} partition {context.partition_key} failed its checks "
            f"({'; '.join(failed)}): nothing written."
        )
    with warehouse.connect() as con:
        write_shares(con, rows)
    metadata = shares_metadata(rows, fit, spec, title)
    metadata.update(_history_chart_metadata(warehouse, key, chart_fn, chart_title))
    return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(fit.data_version))


def _partitioned_asset(
    spec: IciSpec, key: dg.AssetKey, model_key: dg.AssetKey, partitions_def, code: str, description: str
):
    """Decorator for a partitioned ICI asset (shared settings of the monthly and segment assets)."""
    return dg.asset(
        key=key,
        deps=[model_key],
        partitions_def=partitions_def,
        group_name=ICI_GROUP,
        code_version=code,
        kinds={"python", "duckdb"},
        pool=WAREHOUSE_POOL,
        description=description,
    )


def _monthly_asset(spec: IciSpec, model_key: dg.AssetKey, schema: str, table: str) -> dg.AssetsDefinition:
    part = spec.partitions
    key = dg.AssetKey(["ici", spec.model, "shares_by_month"])
    partitions_def = dg.MonthlyPartitionsDefinition(start_date=part.monthly_start, end_date=part.monthly_end)
    code = shares_code_version(spec, {"window_months": part.window_months})
    time_col = quote_identifier(spec.time_column)

    @_partitioned_asset(
        spec,
        key,
        model_key,
        partitions_def,
        code,
        (
            f"ICI shares of `{spec.model}` per month, each fitted on the trailing {part.window_months} "
            "months ending with the partition's month (all segments pooled). Query them as the view "
            "`ici.ici_shares_over_time`."
        ),
    )
    def _by_month(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        end = context.partition_time_window.end.date()
        start = (pd.Timestamp(end) - pd.DateOffset(months=part.window_months)).date()
        return _publish_slice(
            context,
            warehouse,
            spec,
            schema=schema,
            table=table,
            where=f"WHERE {time_col} >= CAST(? AS DATE) AND {time_col} < CAST(? AS DATE)",
            params=[str(start), str(end)],
            label=f"{start} to {end} (exclusive)",
            key=key,
            code=code,
            kind="month",
            title=f"ICI on {spec.target}, {part.window_months} months to {context.partition_key[:7]}",
            chart_fn=charts.shares_over_time_chart,
            chart_title=f"ICI shares of {spec.target} over time ({part.window_months}-month trailing windows)",
        )

    return _by_month


def _segment_asset(
    spec: IciSpec, model_key: dg.AssetKey, schema: str, table: str, partitions_def
) -> dg.AssetsDefinition:
    seg = spec.partitions.segment_column
    key = dg.AssetKey(["ici", spec.model, f"shares_by_{seg}"])
    code = shares_code_version(spec, {"segment": seg})

    @_partitioned_asset(
        spec,
        key,
        model_key,
        partitions_def,
        code,
        (
            f"ICI shares of `{spec.model}` per `{seg}` (one dynamic partition per value, registered by "
            f"`ici/{spec.model}/scm`), each fitted on that {seg}'s rows over the whole period."
        ),
    )
    def _by_segment(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        return _publish_slice(
            context,
            warehouse,
            spec,
            schema=schema,
            table=table,
            where=f"WHERE CAST({quote_identifier(seg)} AS VARCHAR) = ?",
            params=[context.partition_key],
            label=f"{seg} = {context.partition_key}",
            key=key,
            code=code,
            kind=seg,
            title=f"ICI on {spec.target}, {seg} {context.partition_key}",
            chart_fn=charts.shares_by_segment_chart,
            chart_title=f"ICI shares of {spec.target} by {seg}",
        )

    return _by_segment
