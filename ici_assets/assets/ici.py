"""The ICI assets of one dbt model that declares an ``ici`` meta: the plugin's core.

A new graph needs YAML, not Python. For model ``<model>`` (read from the dbt manifest):

    <model> -> ici/<model>/scm -> ici/<model>/shares -> ici/<model>/ici_vs_last_click   whole period
    <model> -> ici/<model>/shares_by_month          one partition per month (trailing window)
    <model> -> ici/<model>/shares_by_<segment>      one dynamic partition per segment value

Each asset reads through the warehouse resource, checks its result (:mod:`ici_assets.checks.ici`,
reported as blocking asset checks) and publishes only what passed, in one transaction
(:mod:`ici_assets.publish.rows`). The partitioned assets backfill as single runs that fan their
partitions out to the compute pool (:mod:`ici_assets.assets.fanout`).
"""

from dataclasses import dataclass

import dagster as dg

from ici_assets import engine  # lazy: the numeric stack loads when a step computes
from ici_assets.assets import last_click
from ici_assets.assets.args import fanned_out_asset, ici_group, ici_key, published_asset_args
from ici_assets.assets.automation import automation_condition, shares_freshness
from ici_assets.assets.calibration import (
    ExperimentsSource,
    calibrate_fit,
    calibration_metadata,
    experiments_description,
    uncalibrated_shares,
    uncalibrated_shares_metadata,
    with_calibration,
)
from ici_assets.assets.fanout import ALL_CHECKS, current_shares, run_partitions
from ici_assets.assets.logs import engine_log
from ici_assets.assets.nodes import ModelFit, fit_model, read_node_table, require_rows
from ici_assets.assets.partitions import MonthlyWindows, Scheme, Segments, schemes
from ici_assets.assets.resources import FIT_STORE_KEY, WarehouseResource
from ici_assets.assets.trust import graph_trust, trust_description, trust_metadata
from ici_assets.checks.asset_checks import check_results, check_specs, publishable, report_checks
from ici_assets.checks.coverage import coverage_check
from ici_assets.checks.experiments import EXPERIMENTS_CHECK, experiments_check
from ici_assets.checks.ici import (
    SCM_CHECKS,
    SHARES_CHECKS,
    TRANSFORMS_CHECK,
    graph_check,
    mechanisms_check,
    shares_checks,
    transforms_check,
)
from ici_assets.checks.stability import STABILITY_CHECK, previous_shares, stability_check, warn_only
from ici_assets.publish import charts
from ici_assets.publish.metadata import (
    chart_metadata,
    column_schema,
    fit_metadata,
    shares_chart_metadata,
    shares_metadata,
    summary,
)
from ici_assets.publish.rows import (
    ResultKey,
    comparison_items,
    contributions_rows,
    primary_rows,
    shares_items,
    shares_rows,
)
from ici_assets.publish.sensitivity import sensitivity_items, sensitivity_rows
from ici_assets.publish.transforms import (
    learned_table,
    transform_items,
    transform_lines,
    transform_rows,
    transforms_metadata,
)
from ici_assets.publish.versions import scm_code_version, shares_code_version, slice_facts
from ici_assets.spec.grain import CHART_PERIOD
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import SHARES, VS_LAST_CLICK, WAREHOUSE_POOL, Equals, Read, Relation


@dataclass(frozen=True)
class LastClickSource:
    """The dbt model holding finance's last-click revenue: its asset key and its table."""

    key: dg.AssetKey
    relation: Relation


def scm_asset(
    spec: IciSpec, model_key: dg.AssetKey, relation: Relation, experiments: ExperimentsSource | None = None
) -> dg.AssetsDefinition:
    key = ici_key(spec, "scm")
    segments = next((s for s in schemes(spec) if isinstance(s, Segments)), None)
    graph_md = "\n".join(f"- `{p}` -> `{c}`" for p, c in spec.edges)

    checks = (*SCM_CHECKS, TRANSFORMS_CHECK) if spec.transforms else SCM_CHECKS
    checks = (*checks, EXPERIMENTS_CHECK) if experiments is not None else checks
    learned_md = (
        "\n\nLearned carryover and saturation (table `ici.transforms`, published with the shares): "
        + ", ".join(f"`{n}`" for n in spec.transforms)
        if spec.transforms
        else ""
    )

    @dg.asset(
        key=key,
        deps=[model_key, *([experiments.key] if experiments is not None else [])],
        check_specs=check_specs(key, checks, warn=(TRANSFORMS_CHECK,)),
        group_name=ici_group(spec),
        code_version=scm_code_version(spec),
        kinds={"python", "scikitlearn"},  # fitted by the engine (numpy, scikit-learn), not by DoWhy
        automation_condition=automation_condition(spec, None),
        io_manager_key=FIT_STORE_KEY,
        description=(
            f"Structural causal model of dbt model `{spec.model}` (target `{spec.target}`): a node without parents "
            "in the graph follows its observed distribution; every other node is a function of its parents plus "
            f"its own noise (additive noise model; mechanisms: {spec.mechanisms}).\n\nGraph:\n{graph_md}{learned_md}"
            + trust_description(spec)
            + experiments_description(experiments)
        ),
    )
    def _scm(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        import pandas as pd  # here, not at the top: loading the definitions does not import pandas

        wh = warehouse.get()
        frame = read_node_table(wh, spec, relation)
        require_rows(spec, frame, str(relation))
        facts = slice_facts(spec, frame)
        context.log.info(f"Fitting the SCM of {spec.model} on {facts.n_rows:,} rows ({relation})")
        scm = fit_model(spec, frame)
        kinds, r2 = {str(n): str(k) for n, k in scm.kinds.items()}, {str(n): float(v) for n, v in scm.r2.items()}
        context.log.info(
            "Mechanisms: "
            + ", ".join(f"{n}={k} (R^2 {r2.get(n, float('nan')):.3f})" for n, k in kinds.items() if k != "root")
        )
        if segments is not None:
            _register_segments(context, segments, wh.distinct(relation, segments.column))
        times = pd.to_datetime(frame[spec.time_column]).to_numpy() if spec.time_column else None
        metadata = fit_metadata(facts, kinds, r2)
        learned = None
        if spec.transforms:
            context.log.info(f"Intervals of the learned transforms: {spec.n_bootstrap} block-bootstrap resamples")
            learned = learned_table(scm, spec, spec.n_bootstrap)
            lines = transform_lines(spec, learned)
            for line in lines:
                context.log.info(f"Learned {line}")
            metadata = transforms_metadata(spec, learned, lines, metadata)
        trust = graph_trust(spec, frame, scm)
        metadata = trust_metadata(trust, metadata)
        calibrated = calibrate_fit(context, wh, spec, experiments, scm, frame) if experiments is not None else None
        if calibrated is not None:
            metadata = calibration_metadata(spec, calibrated, metadata)
        fit = with_calibration(
            ModelFit(scm=scm, facts=facts, times=times, transforms=learned, sensitivity=trust.sensitivity), calibrated
        )
        yield dg.Output(fit, metadata=metadata, data_version=dg.DataVersion(fit.facts.data_version))
        outcomes = [
            mechanisms_check(spec.checks, kinds, r2),
            graph_check(spec.checks, trust.markov, trust.edits),
            coverage_check(spec, frame),
        ]
        if learned is not None:
            outcomes.append(transforms_check(learned.flags))
        if calibrated is not None:
            outcomes.append(experiments_check(calibrated.table, spec.target))
        yield from report_checks(context, check_results({None: outcomes}, checks, warn=(TRANSFORMS_CHECK,)))

    return _scm


def _register_segments(context: dg.AssetExecutionContext, segments: Segments, values: list[str]) -> None:
    """Add a dynamic partition for each segment value seen in the data."""
    name = segments.partitions_def().name
    new = [v for v in values if not context.instance.has_dynamic_partition(name, v)]
    if new:
        context.instance.add_dynamic_partitions(name, new)
        context.log.info(f"Registered {len(new)} new '{segments.column}' partitions: {new[:10]}...")


def shares_asset(spec: IciSpec, pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb") -> dg.AssetsDefinition:
    key, code = ici_key(spec, "shares"), shares_code_version(spec)
    description = (
        f"Intrinsic causal influence of each node of `{spec.model}` on `{spec.target}` over the whole "
        f"period, in percent with 95 % bootstrap intervals ({spec.n_bootstrap} resamples), and each "
        f"node's contribution per {spec.time_grain}. Tables `ici.ici_shares`, `ici.ici_shares_history`, "
        "`ici.ici_contributions`, the spend edges' sensitivity to hidden confounding in `ici.sensitivity`, "
        "`ici.sensitivity_history`"
        + (
            ", and the learned carryover and saturation in `ici.transforms`, `ici.transforms_history`"
            if spec.transforms
            else ""
        )
        + ". Not published when its checks fail."
    )

    checks, warn = (*SHARES_CHECKS, STABILITY_CHECK), warn_only(spec)

    asset_args = published_asset_args(spec, "shares", SHARES, checks, code, description, pool=pool, kind=kind)

    @dg.asset(**asset_args, freshness_policy=shares_freshness(spec))
    def _shares(context: dg.AssetExecutionContext, warehouse: WarehouseResource, fit: ModelFit):
        context.log.info(f"Computing ICI of {spec.target} with {spec.n_bootstrap} bootstrap resamples")
        bootstrap = engine.Bootstrap(n_bootstrap=spec.n_bootstrap, seed=spec.seed)
        with engine_log(context):
            result = engine.estimate_ici(fit.scm, spec.target, bootstrap=bootstrap, max_samples=spec.max_samples)
        table = result.table
        if result.facts.max_mc_se is not None:
            context.log.info(
                f"ICI of {spec.target}: {result.facts.n_samples:,} noise draws, largest Monte Carlo error of a share "
                f"{result.facts.max_mc_se:.3f} points"
                + (" (stopped at monte_carlo.max_samples)" if result.facts.mc_capped else "")
            )
        result_key = ResultKey(key.to_user_string(), code, context.run.run_id)
        rows = shares_rows(spec, table, fit.facts, result_key, calibrated=fit.calibration is not None)
        stability = stability_check(rows, previous_shares(current_shares(warehouse.get(), key), None))
        results = check_results({None: [*shares_checks(rows["share"]), stability]}, checks, warn=warn)
        if publishable(results, warn):
            contrib = None
            if fit.times is not None:
                per_row = engine.contributions(fit.scm, spec.target)
                contrib = contributions_rows(spec, per_row, fit.times, fit.facts, result_key)
            learned = transform_rows(spec, fit.transforms, fit.facts, result_key)
            with engine_log(context):
                published = uncalibrated_shares(spec, fit, result_key, bootstrap, rows)
            edges = getattr(fit, "sensitivity", None)  # a ModelFit pickled before the field existed has none
            sensitivity = sensitivity_rows(spec, edges, fit.facts, result_key)
            warehouse.get().publish(
                [*shares_items(published, contrib), *transform_items(learned), *sensitivity_items(sensitivity)]
            )
            if len(learned):
                context.log.info(f"Published {len(learned)} rows to ici.transforms and ici.transforms_history")
            context.log.info(f"Published {len(sensitivity)} rows to ici.sensitivity and ici.sensitivity_history")
            context.log.info(f"Published {len(published)} rows to ici.ici_shares and ici.ici_shares_history")
            title = f"Intrinsic causal influence on {spec.target} ({fit.facts.label})"
            metadata = {
                **shares_metadata(rows, fit.facts, spec.n_bootstrap, spec.target),
                "stability": dg.MetadataValue.text(stability.description),
                **uncalibrated_shares_metadata(published),
                **shares_chart_metadata(rows, title, spec.target),
            }
            if contrib is not None:
                per = CHART_PERIOD[spec.time_grain]
                unit = spec.units.get(spec.target, f"{spec.target} units")
                summed = [f"all {c}s" for c in spec.unit if c != spec.time_column]
                chart = charts.contributions_chart(
                    contrib,
                    title=f"Intrinsic contribution to {spec.target} per {per}"
                    + (f" ({', '.join(summed)})" if summed else ""),
                    unit=unit,
                    target=spec.target,
                    grain=spec.time_grain,
                )
                metadata.update(chart_metadata("contributions_chart", chart, "Contributions over time"))
            yield dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(fit.facts.data_version))
        yield from report_checks(context, results)

    return _shares


def vs_last_click_asset(
    spec: IciSpec, source: LastClickSource, pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb"
) -> dg.AssetsDefinition:
    key, shares_key = ici_key(spec, "ici_vs_last_click"), ici_key(spec, "shares")

    @dg.asset(
        key=key,
        deps=[shares_key, source.key],
        group_name=ici_group(spec),
        kinds={kind},
        pool=pool,
        metadata=column_schema(VS_LAST_CLICK),
        automation_condition=automation_condition(spec, None),
        description=(
            f"Each node's ICI share next to its last-click share of `{spec.target}` for the same period, with a "
            "sentence of interpretation. Table `ici.ici_vs_last_click`. Blocked when the shares fail their checks."
        ),
    )
    def _vs(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        import pandas as pd

        wh = warehouse.get()
        columns = ("node", "share", "share_low", "share_high", "period_start", "period_end", "calibrated", "asset_key")
        where = (Equals("asset_key", shares_key.to_user_string()), Equals("partition_key", None))
        shares = primary_rows(wh.read(Read(SHARES.relation, columns, where))).drop(columns=["calibrated", "asset_key"])
        if shares.empty:
            raise ValueError(
                f"No current shares for {shares_key.to_user_string()} in ici.ici_shares: materialise it first."
            )
        start, end = (
            str(shares[c].iloc[0])[:10] if pd.notna(shares[c].iloc[0]) else None for c in ("period_start", "period_end")
        )
        comparison = last_click.comparison(
            shares, last_click.last_click_shares(wh, spec, source.relation, (start, end))
        )
        sentence = last_click.interpret(comparison, spec.target)
        context.log.info(sentence)
        rows = comparison.assign(
            asset_key=key.to_user_string(),
            model=spec.model,
            target=spec.target,
            period_start=pd.Timestamp(start).date() if start else None,
            period_end=pd.Timestamp(end).date() if end else None,
            run_id=context.run.run_id,
            materialized_at=pd.Timestamp.now(tz="UTC"),
        )
        wh.publish(comparison_items(rows))
        title = f"{spec.target}: intrinsic causal influence vs last click ({start} to {end})"
        return dg.MaterializeResult(
            metadata={
                **summary(sentence),
                **chart_metadata(
                    "ici_vs_last_click_chart",
                    charts.comparison_chart(comparison, title=title, target=spec.target),
                    "ICI vs last click",
                    spec=True,
                ),
            }
        )

    return _vs


def partitioned_asset(
    spec: IciSpec,
    model_key: dg.AssetKey,
    relation: Relation,
    scheme: Scheme,
    pool: str | None = WAREHOUSE_POOL,
    kind: str = "duckdb",
) -> dg.AssetsDefinition:
    extra: dict[str, object] = (
        {"window_months": scheme.window_months} if isinstance(scheme, MonthlyWindows) else {"segment": scheme.kind}
    )
    code = shares_code_version(spec, extra)
    what = (
        f"per month, each fitted on the trailing {scheme.window_months} months ending with the partition's "
        f"month ({spec.time_grain}s dated in it, all segments pooled); the view `ici.ici_shares_over_time` holds "
        "the series"
        if isinstance(scheme, MonthlyWindows)
        else f"per `{scheme.kind}` (one dynamic partition per value, registered by `ici/{spec.model}/scm`), each "
        f"fitted on that {scheme.kind}'s rows over the whole period"
    )

    description = (
        f"ICI shares of `{spec.model}` {what}. A backfill is one run: its partitions are fitted in "
        "parallel on the compute pool and published in batches; a partition failing a check is not "
        "published."
    )

    asset_args = published_asset_args(
        spec,
        scheme.name,
        SHARES,
        ALL_CHECKS,
        code,
        description,
        pool=pool,
        kind=kind,
        upstream=model_key,
        partitions_def=scheme.partitions_def(),
    )
    return fanned_out_asset(
        asset_args,
        lambda context, warehouse, compute: run_partitions(context, spec, scheme, relation, warehouse, compute, code),
    )
