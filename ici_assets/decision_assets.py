"""The decision assets of a dbt model whose ``ici`` meta has a ``decisions`` block (opt-in, no new Python):

    ici/<model>/scm -> ici/<model>/spend_response       E[target | do(spend = level)] per spend node and level
    ici/<model>/scm -> ici/<model>/budget               recommended split of the spend total
    <model>         -> ici/<model>/change_attribution   monthly: each month against the one before

Like the shares, each computes from the engine, runs blocking checks (:mod:`ici_assets.decision_checks`)
and publishes only what passed, replacing its current rows and appending them to the history table,
in one transaction. Code versions hash the SCM's settings and the relevant part of the block; data
versions are the content hash of the rows used.
"""

from typing import Any

import dagster as dg
import pandas as pd

from ici_assets.asset_checks import check_results, check_specs
from ici_assets.assets import ICI_GROUP, PARTITIONED_TAG, ici_key, report_checks
from ici_assets.change_partitions import MonthlyChanges, run_change_partitions
from ici_assets.decision_charts import budget_chart, response_chart
from ici_assets.decision_checks import BUDGET_CHECKS, CHANGE_CHECKS, RESPONSE_CHECKS, budget_checks, response_checks
from ici_assets.decision_rows import budget_items, decision_bootstrap, decision_code_version, response_items, stamp
from ici_assets.engine import optimise_budget, spend_response
from ici_assets.metadata import chart_metadata, column_schema, count, summary, table_metadata
from ici_assets.nodes import ModelFit
from ici_assets.publish import ResultKey
from ici_assets.resources import ComputePoolResource, WarehouseResource
from ici_assets.spec import IciSpec
from ici_assets.summaries import budget_summary, grain_label, returns_summary, round_to_interval, tidy
from ici_assets.warehouse import BUDGET_ALLOCATION, CHANGE_ATTRIBUTION, SPEND_RESPONSE, WAREHOUSE_POOL, Relation

RESPONSE_SHOWN = ["node", "level", "expected_target", "low", "high", "marginal_return", "incremental_return"]
BUDGET_SHOWN = ["node", "current", "recommended", "lower_bound", "upper_bound", "marginal_return_recommended"]


def build_decision_assets(
    spec: IciSpec,
    model_key: dg.AssetKey,
    relation: Relation,
    *,
    pool: str | None = WAREHOUSE_POOL,
    kind: str = "duckdb",
) -> list[dg.AssetsDefinition]:
    """The decision assets the model's ``decisions`` block asks for (none without the block). ``pool``: the
    concurrency pool of steps that write the warehouse (None for a server); ``kind``: its type, for the UI."""
    if spec.decisions is None:
        return []
    assets = [spend_response_asset(spec, pool, kind)]
    if spec.decisions.budget is not None:
        assets.append(budget_asset(spec, pool, kind))
    if spec.decisions.change_attribution is not None:
        assets.append(change_attribution_asset(spec, model_key, relation, pool, kind))
    return assets


def axis_label(spec: IciSpec, what: str, node: str, period: str | None) -> str:
    """'expected revenue per region-day (EUR)': an axis title with the grain and the node's unit."""
    unit = spec.units.get(node)
    return f"{what} {grain_label(spec.unit, spec.time_column, period)}" + (f" ({unit})" if unit else "")


def _publish_checked(
    context: dg.AssetExecutionContext,
    results: list[dg.AssetCheckResult],
    publish: dg.MaterializeResult | None,
):
    """Yield the materialisation only if every check passed (it was published), then the check results."""
    if publish is not None and all(r.passed for r in results):
        yield publish
    yield from report_checks(context, results)


def spend_response_asset(spec: IciSpec, pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb") -> dg.AssetsDefinition:
    key, code = ici_key(spec, "spend_response"), decision_code_version(spec, "spend_response")
    decisions = spec.decisions
    assert decisions is not None
    n_boot = decision_bootstrap(spec)

    @dg.asset(
        key=key,
        ins={"fit": dg.AssetIn(ici_key(spec, "scm"))},
        group_name=ICI_GROUP,
        code_version=code,
        check_specs=check_specs(key, RESPONSE_CHECKS),
        output_required=False,
        kinds={"python", kind},
        pool=pool,
        metadata=column_schema(SPEND_RESPONSE),
        description=(
            f"Expected `{spec.target}` of `{spec.model}` under do(node = level) for each spend node "
            f"({', '.join(decisions.spend_nodes)}), levels per row of the node table, with 95 % intervals "
            f"({n_boot} resamples), marginal and incremental returns. Tables `ici.spend_response` and "
            "`ici.spend_response_history`."
        ),
    )
    def _spend_response(context: dg.AssetExecutionContext, warehouse: WarehouseResource, fit: ModelFit):
        data = fit.scm.data
        tables = [
            spend_response(
                fit.scm,
                spec.target,
                node,
                decisions.levels_for(node, data[node].to_numpy(dtype=float)),
                n_bootstrap=n_boot,
                seed=spec.seed,
            )
            for node in decisions.spend_nodes
        ]
        table = pd.concat(tables, ignore_index=True)
        results = check_results({None: response_checks(table, n_boot > 0)}, RESPONSE_CHECKS)
        done: dg.MaterializeResult | None = None
        if all(r.passed for r in results):
            result_key = ResultKey(key.to_user_string(), code, context.run.run_id)
            rows = stamp(table, SPEND_RESPONSE, spec, result_key, fit.facts.data_version)
            warehouse.get().publish(response_items(rows))
            period = fit.facts.period
            title = f"Expected {spec.target} under do(spend = level) ({fit.facts.label})"
            chart = response_chart(
                table,
                target=spec.target,
                title=title,
                x_title=axis_label(spec, "spend", decisions.spend_nodes[0], period),
                y_title=axis_label(spec, f"expected {spec.target}", spec.target, period),
            )
            metadata: dict[str, Any] = {
                **summary(returns_summary(table, spec.target, spec.units)),
                "response": table_metadata(table[RESPONSE_SHOWN]),
                "method": str(table["method"].iloc[0]),
                "code_version": code,
                "data_version": fit.facts.data_version,
                "n_bootstrap": count(n_boot),
                **{
                    f"marginal_return/{t['node'].iloc[0]}": round_to_interval(
                        t["current_marginal_return"].iloc[0],
                        t["current_marginal_low"].iloc[0],
                        t["current_marginal_high"].iloc[0],
                    )
                    for t in tables
                },
                **chart_metadata("response_chart", chart, title, spec=True),
            }
            done = dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(fit.facts.data_version))
        yield from _publish_checked(context, results, done)

    return _spend_response


def budget_asset(spec: IciSpec, pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb") -> dg.AssetsDefinition:
    key, code = ici_key(spec, "budget"), decision_code_version(spec, "budget")
    decisions = spec.decisions
    assert decisions is not None and decisions.budget is not None
    budget, n_boot = decisions.budget, decision_bootstrap(spec)

    @dg.asset(
        key=key,
        ins={"fit": dg.AssetIn(ici_key(spec, "scm"))},
        group_name=ICI_GROUP,
        code_version=code,
        check_specs=check_specs(key, BUDGET_CHECKS),
        output_required=False,
        kinds={"python", kind},
        pool=pool,
        metadata=column_schema(BUDGET_ALLOCATION),
        description=(
            f"The split of the spend total per row over {', '.join(decisions.spend_nodes)} that maximises expected "
            f"`{spec.target}` under the fitted model, beside the current split, with the expected uplift and its "
            "95 % interval. Tables `ici.budget_allocation` and `ici.budget_allocation_history`."
        ),
    )
    def _budget(context: dg.AssetExecutionContext, warehouse: WarehouseResource, fit: ModelFit):
        total = None if budget.total == "current" else float(budget.total)
        table = optimise_budget(
            fit.scm,
            spec.target,
            decisions.spend_nodes,
            total,
            bounds=budget.bounds,
            n_bootstrap=n_boot,
            seed=spec.seed,
        )
        results = check_results({None: budget_checks(table)}, BUDGET_CHECKS)
        done: dg.MaterializeResult | None = None
        if all(r.passed for r in results):
            result_key = ResultKey(key.to_user_string(), code, context.run.run_id)
            rows = stamp(table, BUDGET_ALLOCATION, spec, result_key, fit.facts.data_version)
            warehouse.get().publish(budget_items(rows))
            first = table.iloc[0]
            per = grain_label(spec.unit, spec.time_column, fit.facts.period)
            unit = spec.units.get(spec.target, "")
            title = (
                f"Budget {per}: expected {spec.target} {first['expected_uplift']:+,.1f} {unit} "
                f"({first['uplift_pct']:+.2f} %, 95 % {first['uplift_low']:+,.1f} to {first['uplift_high']:+,.1f})"
            )
            context.log.info(str(first["note"]))
            x_title = axis_label(spec, "spend", decisions.spend_nodes[0], fit.facts.period)
            metadata: dict[str, Any] = {
                **summary(budget_summary(table, spec.target, unit, per)),
                "allocation": table_metadata(table[BUDGET_SHOWN]),
                "note": dg.MetadataValue.text(str(first["note"])),
                "expected_uplift": round_to_interval(
                    first["expected_uplift"], first["uplift_low"], first["uplift_high"]
                ),
                "uplift_pct": tidy(first["uplift_pct"], 3),
                "no_diminishing_returns": bool(first["no_diminishing_returns"]),
                "code_version": code,
                "data_version": fit.facts.data_version,
                **chart_metadata(
                    "budget_chart",
                    budget_chart(table, title=title, x_title=x_title),
                    "Current vs recommended split",
                    spec=True,
                ),
            }
            done = dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(fit.facts.data_version))
        yield from _publish_checked(context, results, done)

    return _budget


def change_attribution_asset(
    spec: IciSpec,
    model_key: dg.AssetKey,
    relation: Relation,
    pool: str | None = WAREHOUSE_POOL,
    kind: str = "duckdb",
) -> dg.AssetsDefinition:
    key, code = ici_key(spec, "change_attribution"), decision_code_version(spec, "change_attribution")

    @dg.asset(
        key=key,
        deps=[model_key],
        partitions_def=MonthlyChanges(spec).partitions_def(),
        backfill_policy=dg.BackfillPolicy.single_run(),
        tags={PARTITIONED_TAG: ""},  # not in a demo's "run it all" job (factory.UNPARTITIONED)
        check_specs=check_specs(key, CHANGE_CHECKS),
        output_required=False,
        group_name=ICI_GROUP,
        code_version=code,
        kinds={"python", kind},
        pool=pool,
        metadata=column_schema(CHANGE_ATTRIBUTION),
        description=(
            f"Why mean `{spec.target}` of `{spec.model}` moved: each month against the one before, the change split "
            "over the nodes (Shapley values over old -> new mechanisms; roots: their distribution), summing to the "
            "observed change, with 95 % intervals, a waterfall chart and one sentence. Both months are fitted with "
            "the mechanism kinds the whole period's model chooses. Tables `ici.change_attribution` and "
            "`ici.change_attribution_history`. A backfill is one run on the compute pool."
        ),
    )
    def _change_attribution(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        compute_pool: ComputePoolResource,
    ):
        yield from run_change_partitions(
            context,
            spec=spec,
            relation=relation,
            warehouse=warehouse.get(),
            pool=compute_pool.get(),
            code_version=code,
        )

    return _change_attribution
