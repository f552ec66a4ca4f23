"""The decision assets of a dbt model whose ``ici`` meta has a ``decisions`` block (opt-in, no new Python):

    ici/<model>/scm -> ici/<model>/spend_response       E[target | do(spend = level)] per spend node and level
    ici/<model>/scm -> ici/<model>/budget               recommended split of the spend total
    <model>         -> ici/<model>/change_attribution   monthly: each month against the one before

Like the shares, each computes from the engine, runs blocking checks (:mod:`ici_assets.checks.decisions`)
and publishes only what passed, replacing its current rows and appending them to the history table,
in one transaction. Code versions hash the SCM's settings and the relevant part of the block; data
versions are the content hash of the rows used.
"""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

from ici_assets import engine  # lazy: the numeric stack loads when a step computes
from ici_assets.assets.args import fanned_out_asset, ici_key, published_asset_args
from ici_assets.assets.calibration import beside, least_squares_fit, uncalibrated_metadata
from ici_assets.assets.change_partitions import MonthlyChanges, run_change_partitions
from ici_assets.assets.logs import engine_log
from ici_assets.assets.nodes import ModelFit
from ici_assets.assets.resources import WarehouseResource
from ici_assets.checks.asset_checks import check_results, report_checks
from ici_assets.checks.decisions import (
    BUDGET_CHECKS,
    CHANGE_CHECKS,
    MAX_RELATIVE_MC_ERROR,
    RESPONSE_CHECKS,
    budget_checks,
    response_checks,
)
from ici_assets.checks.ici import CheckOutcome
from ici_assets.publish.decision_charts import budget_chart, response_chart, response_title
from ici_assets.publish.decision_rows import (
    budget_items,
    decision_bootstrap,
    decision_code_version,
    response_items,
    returns_items,
    returns_preview,
    stamp,
    with_marginal,
)
from ici_assets.publish.metadata import chart_metadata, count, summary, table_metadata
from ici_assets.publish.rows import ResultKey
from ici_assets.publish.summaries import (
    budget_summary,
    grain_label,
    not_identified_nodes,
    returns_summary,
    round_to_interval,
    tidy,
)
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import (
    BUDGET_ALLOCATION,
    CHANGE_ATTRIBUTION,
    CHANNEL_RETURNS,
    SPEND_RESPONSE,
    WAREHOUSE_POOL,
    Publish,
    Relation,
    TableLayout,
)

if TYPE_CHECKING:
    import pandas as pd

#: Columns of the budget's table preview (narrow: the Overview tab's metadata box; the full rows, bounds and marginal
#: returns included, are in ici.budget_allocation). The response curves have no preview: 18 rows read better as
#: the chart, and their rows are in ici.spend_response.
BUDGET_SHOWN = ["node", "current", "recommended"]


def axis_label(spec: IciSpec, what: str, node: str, period: str | None) -> str:
    """'expected revenue per region-day (EUR)': an axis title with the grain and the node's unit."""
    unit = spec.units.get(node)
    return f"{what} {grain_label(spec.unit, spec.time_column, period)}" + (f" ({unit})" if unit else "")


def log_precision(context: dg.AssetExecutionContext, what: str, facts: Any) -> None:
    """One line in the run's log: how many rows an estimate simulated and the Monte Carlo error it reached."""
    if facts.method != "simulation":
        how = "through learned transforms, " if facts.method == "closed_form_transforms" else ""
        context.log.info(f"{what}: closed form ({how}linear mechanisms), no Monte Carlo error")
        return
    exact = facts.n_samples >= facts.n_rows
    context.log.info(
        f"{what}: {facts.n_samples:,} of {facts.n_rows:,} rows simulated, largest Monte Carlo error "
        f"{100 * facts.max_relative_mc_se:.3f} % of its level"
        + (" (every row: exact)" if exact else "")
        + (" (stopped at monte_carlo.max_samples)" if facts.mc_capped else "")
    )


def allocation_preview(table: "pd.DataFrame", unit: str) -> "pd.DataFrame":
    """The budget split as the UI's table shows it: spend per node now and recommended, in the spend's unit."""
    suffix = f" ({unit})" if unit else ""
    return table[BUDGET_SHOWN].rename(columns={"current": f"now{suffix}", "recommended": f"recommended{suffix}"})


def fit_table_asset(
    spec: IciSpec,
    name: str,
    layout: TableLayout,
    checks: Sequence[str],
    description: str,
    *,
    compute: "Callable[[dg.AssetExecutionContext, ModelFit], pd.DataFrame]",
    evaluate: "Callable[[pd.DataFrame], list[CheckOutcome]]",
    items: "Callable[[pd.DataFrame], list[Publish]]",
    present: "Callable[[dg.AssetExecutionContext, pd.DataFrame, ModelFit, dict[str, pd.DataFrame]], dict[str, Any]]",
    pool: str | None,
    kind: str,
    companions: "Callable[[dg.AssetExecutionContext, ModelFit, pd.DataFrame], dict[str, pd.DataFrame]] | None" = None,
    companion_items: "dict[str, tuple[TableLayout, Callable[[pd.DataFrame], list[Publish]]]] | None" = None,
) -> dg.AssetsDefinition:
    """``ici/<model>/<name>`` over the fitted model: ``compute`` a table, ``evaluate`` its blocking checks and,
    only if all pass, publish its rows (``items``, one transaction) and report ``present``'s metadata.
    ``companions`` computes further tables from the same fit and the first table (by name; each published
    with its ``companion_items`` entry, layout and items, in the same transaction)."""
    key, code = ici_key(spec, name), decision_code_version(spec, name)

    @dg.asset(**published_asset_args(spec, name, layout, checks, code, description, pool=pool, kind=kind))
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, fit: ModelFit):
        with engine_log(context):
            table = compute(context, fit)
            extras = companions(context, fit, table) if companions is not None else {}
        results = check_results({None: evaluate(table)}, checks)
        if all(r.passed for r in results):
            plain, plain_extras = _least_squares_tables(context, fit, compute, companions)
            result_key = ResultKey(key.to_user_string(), code, context.run.run_id)
            version = fit.facts.data_version
            publish = items(stamp(beside(table, plain), layout, spec, result_key, version))
            for extra, frame in extras.items():
                extra_layout, extra_items = (companion_items or {})[extra]
                rows = beside(frame, plain_extras.get(extra))
                publish += extra_items(stamp(rows, extra_layout, spec, result_key, version))
            warehouse.get().publish(publish)
            metadata = {**present(context, table, fit, extras), "code_version": code, "data_version": version}
            if plain is not None:
                metadata = uncalibrated_metadata(spec, name, table, plain, metadata)
            yield dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(fit.facts.data_version))
        yield from report_checks(context, results)

    return _asset


def _least_squares_tables(
    context: dg.AssetExecutionContext,
    fit: ModelFit,
    compute: "Callable[[dg.AssetExecutionContext, ModelFit], pd.DataFrame]",
    companions: "Callable[[dg.AssetExecutionContext, ModelFit, pd.DataFrame], dict[str, pd.DataFrame]] | None",
) -> "tuple[pd.DataFrame | None, dict[str, pd.DataFrame]]":
    """For a model calibrated to lift tests: the same tables from the least-squares SCM (published beside the
    calibrated ones with ``calibrated = false``); nothing otherwise."""
    plain_fit = least_squares_fit(fit)
    if plain_fit is None:
        return None, {}
    context.log.info("The same from the uncalibrated (least-squares) SCM, published with calibrated = false")
    with engine_log(context):
        plain = compute(context, plain_fit)
        return plain, companions(context, plain_fit, plain) if companions is not None else {}


def spend_response_asset(spec: IciSpec, pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb") -> dg.AssetsDefinition:
    decisions = spec.decisions
    assert decisions is not None
    n_boot = decision_bootstrap(spec)

    def compute(context: dg.AssetExecutionContext, fit: ModelFit) -> "pd.DataFrame":
        import pandas as pd

        bootstrap = engine.Bootstrap(n_bootstrap=n_boot, seed=spec.seed)
        tables = []
        for node in decisions.spend_nodes:
            result = engine.spend_response(
                fit.scm,
                spec.target,
                node,
                decisions.levels_for(node, fit.scm.spend(node)),  # spend, also for a node with learned transforms
                bootstrap=bootstrap,
                max_samples=spec.max_samples,
                mc_tolerance=MAX_RELATIVE_MC_ERROR,
            )
            log_precision(context, f"spend_response of {spec.target} to {node}", result.facts)
            tables.append(result.table)
        return pd.concat(tables, ignore_index=True)

    def returns(context: dg.AssetExecutionContext, fit: ModelFit, table: "pd.DataFrame") -> "dict[str, pd.DataFrame]":
        result = engine.channel_returns(
            fit.scm,
            spec.target,
            decisions.spend_nodes,
            bootstrap=engine.Bootstrap(n_bootstrap=n_boot, seed=spec.seed),
        )
        context.log.info(f"channel returns of {spec.target}: {result.facts.method}, {result.facts.seconds:.1f} s")
        return {"channel_returns": with_marginal(result.table, table)}

    def present(
        context: dg.AssetExecutionContext, table: "pd.DataFrame", fit: ModelFit, extras: "dict[str, pd.DataFrame]"
    ) -> dict[str, Any]:
        period = fit.facts.period
        channel = extras["channel_returns"].set_index("node")
        title = response_title(spec.target, fit.facts.label)
        chart = response_chart(
            table,
            target=spec.target,
            title=title,
            x_title=axis_label(spec, "spend", decisions.spend_nodes[0], period),
            y_title=axis_label(spec, f"expected {spec.target}", spec.target, period),
        )
        current = table.groupby("node", sort=False).first()
        return {
            **summary(returns_summary(table, spec.target, spec.units)),
            "not_identified": dg.MetadataValue.text(", ".join(not_identified_nodes(table)) or "none"),
            "method": str(table["method"].iloc[0]),
            "max_mc_error_pct": tidy(100.0 * float((table["mc_se"] / table["expected_target"].abs()).max()), 4),
            "n_bootstrap": count(n_boot),
            **{
                f"marginal_return/{node}": round_to_interval(
                    row["current_marginal_return"], row["current_marginal_low"], row["current_marginal_high"]
                )
                for node, row in current.iterrows()
            },
            **{
                f"roi/{node}": round_to_interval(row["roi"], row["roi_low"], row["roi_high"])
                for node, row in channel.iterrows()
            },
            "channel_returns": table_metadata(returns_preview(channel)),
            **chart_metadata("response_chart", chart, title, spec=True),
        }

    return fit_table_asset(
        spec,
        "spend_response",
        SPEND_RESPONSE,
        RESPONSE_CHECKS,
        f"Expected `{spec.target}` of `{spec.model}` if each spend node ({', '.join(decisions.spend_nodes)}) were "
        "set to a level, everything downstream following the fitted model (an intervention, do(node = level)); "
        "levels per row of the node table, with 95 % intervals "
        f"({n_boot} resamples), marginal and incremental returns. Tables `ici.spend_response` and "
        "`ici.spend_response_history`; from the same fit, each node's incremental revenue against zero spend, "
        "ROI and marginal ROI in `ici.channel_returns` and `ici.channel_returns_history`.",
        compute=compute,
        evaluate=lambda table: response_checks(table, n_boot > 0, max_samples=spec.max_samples),
        items=response_items,
        present=present,
        pool=pool,
        kind=kind,
        companions=returns,
        companion_items={"channel_returns": (CHANNEL_RETURNS, returns_items)},
    )


def budget_asset(spec: IciSpec, pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb") -> dg.AssetsDefinition:
    decisions = spec.decisions
    assert decisions is not None and decisions.budget is not None
    budget, n_boot = decisions.budget, decision_bootstrap(spec)

    def compute(context: dg.AssetExecutionContext, fit: ModelFit) -> "pd.DataFrame":
        total = None if budget.total == "current" else float(budget.total)
        result = engine.optimise_budget(
            fit.scm,
            spec.target,
            decisions.spend_nodes,
            total,
            **budget.constraints(),
            bootstrap=engine.Bootstrap(n_bootstrap=n_boot, seed=spec.seed),
            max_samples=spec.max_samples,
            mc_tolerance=MAX_RELATIVE_MC_ERROR,
        )
        log_precision(context, f"budget of {spec.target}", result.facts)
        return result.table

    def present(
        context: dg.AssetExecutionContext, table: "pd.DataFrame", fit: ModelFit, _: "dict[str, pd.DataFrame]"
    ) -> dict[str, Any]:
        first = table.iloc[0]
        per = grain_label(spec.unit, spec.time_column, fit.facts.period)
        unit = spec.units.get(spec.target, "")
        title = (
            f"Budget {per}: expected {spec.target} {first['expected_uplift']:+,.1f} {unit} "
            f"({first['uplift_pct']:+.2f} %, 95 % {first['uplift_low']:+,.1f} to {first['uplift_high']:+,.1f})"
        )
        context.log.info(str(first["note"]))
        x_title = axis_label(spec, "spend", decisions.spend_nodes[0], fit.facts.period)
        return {
            **summary(budget_summary(table, spec.target, unit, per)),
            "not_identified": dg.MetadataValue.text(", ".join(not_identified_nodes(table)) or "none"),
            "allocation": table_metadata(allocation_preview(table, spec.units.get(decisions.spend_nodes[0], ""))),
            "note": dg.MetadataValue.text(str(first["note"])),
            "expected_uplift": round_to_interval(first["expected_uplift"], first["uplift_low"], first["uplift_high"]),
            "uplift_pct": tidy(first["uplift_pct"], 3),
            "no_diminishing_returns": bool(first["no_diminishing_returns"]),
            **chart_metadata(
                "budget_chart",
                budget_chart(table, title=title, x_title=x_title),
                "Current vs recommended split",
                spec=True,
            ),
        }

    return fit_table_asset(
        spec,
        "budget",
        BUDGET_ALLOCATION,
        BUDGET_CHECKS,
        f"The split of the spend total per row over {', '.join(decisions.spend_nodes)} that maximises expected "
        f"`{spec.target}` under the fitted model, beside the current split, with the expected uplift and its "
        "95 % interval. Tables `ici.budget_allocation` and `ici.budget_allocation_history`.",
        compute=compute,
        evaluate=budget_checks,
        items=budget_items,
        present=present,
        pool=pool,
        kind=kind,
    )


def change_attribution_asset(
    spec: IciSpec,
    model_key: dg.AssetKey,
    relation: Relation,
    pool: str | None = WAREHOUSE_POOL,
    kind: str = "duckdb",
) -> dg.AssetsDefinition:
    code = decision_code_version(spec, "change_attribution")

    description = (
        f"Why mean `{spec.target}` of `{spec.model}` moved: each month against the one before, the change "
        "split over the nodes (Shapley values over old -> new mechanisms; roots: their distribution), "
        "summing to the observed change, with 95 % intervals, a waterfall chart and one sentence. Both "
        "months are fitted with the mechanism kinds the whole period's model chooses. Tables "
        "`ici.change_attribution` and `ici.change_attribution_history`. A backfill is one run on the "
        "compute pool."
    )

    asset_args = published_asset_args(
        spec,
        "change_attribution",
        CHANGE_ATTRIBUTION,
        CHANGE_CHECKS,
        code,
        description,
        pool=pool,
        kind=kind,
        upstream=model_key,
        partitions_def=MonthlyChanges(spec).partitions_def(),
    )
    return fanned_out_asset(
        asset_args,
        lambda context, warehouse, compute: run_change_partitions(context, spec, relation, warehouse, compute, code),
    )
