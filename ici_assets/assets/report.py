"""``ici/<model>/report``: one self-contained HTML page per model, for someone who never opens Dagster.

Built from the tables the model's assets published (read back through the warehouse resource: shares, channel
returns, response curves, the budget split, the change attribution) and, from the fitted model, the fit over time
with a held-out error by a time split and the budget split at four more totals (-20 %, -10 %, +10 %, +20 %). The
page goes to ``reports_dir`` (the component's attribute; default: a ``reports/`` folder beside the DuckDB
warehouse), its path and a one-line summary to the asset's metadata. Sections: :data:`publish.report_html.SECTIONS`.
"""

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from ici_assets import engine
from ici_assets.assets.args import ici_key, published_asset_args
from ici_assets.assets.calibration import calibration_lines
from ici_assets.assets.logs import engine_log
from ici_assets.assets.nodes import ModelFit
from ici_assets.assets.resources import WarehouseResource
from ici_assets.checks.decisions import BUDGET_CHECKS, MAX_RELATIVE_MC_ERROR, RESPONSE_CHECKS
from ici_assets.checks.ici import SCM_CHECKS, SHARES_CHECKS
from ici_assets.publish.decision_rows import decision_bootstrap
from ici_assets.publish.metadata import summary
from ici_assets.publish.report_html import ReportData, one_line, render_report
from ici_assets.publish.rows import primary_rows
from ici_assets.publish.summaries import grain_label
from ici_assets.publish.versions import scm_code_version, stable_hash
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import (
    BUDGET_ALLOCATION,
    CHANGE_ATTRIBUTION,
    CHANNEL_RETURNS,
    SHARES,
    SPEND_RESPONSE,
    WAREHOUSE_POOL,
    Equals,
    Read,
    TableLayout,
    Warehouse,
)

if TYPE_CHECKING:
    import pandas as pd

#: Budget scenarios besides today's total: fractions of it.
SCENARIOS = (-0.2, -0.1, 0.1, 0.2)
#: Months of the change attribution the report explains (largest absolute change first).
TOP_MONTHS = 3
REPORT_VERSION = 1  # bump when the page's content changes


def report_code_version(spec: IciSpec) -> str:
    """Hash of what changes the page: the SCM's code version, the decisions block, the resamples, the page."""
    block = spec.decisions.model_dump(mode="json") if spec.decisions is not None else None
    boot = decision_bootstrap(spec) if spec.decisions is not None else spec.n_bootstrap
    return stable_hash(
        {"scm": scm_code_version(spec), "decisions": block, "n_bootstrap": boot, "report": REPORT_VERSION}
    )


def report_folder(reports_dir: str | None, warehouse: WarehouseResource) -> Path:
    """Where reports go: ``reports_dir``, else ``reports/`` beside the DuckDB file; a server warehouse needs it."""
    if reports_dir:
        return Path(reports_dir)
    if warehouse.path:
        return Path(warehouse.path).resolve().parent / "reports"
    raise ValueError(
        "ici report: the warehouse is a server (no DuckDB file to put reports beside): set the component's "
        "`reports_dir` attribute to the folder the HTML reports should go to"
    )


def read_model(wh: Warehouse, layout: TableLayout, columns: tuple[str, ...], spec: IciSpec) -> "pd.DataFrame | None":
    """The model's current rows of an ``ici`` table (None when the table does not exist yet)."""
    if not wh.exists(layout.relation):
        return None
    return primary_rows(wh.read(Read(layout.relation, columns, (Equals("model", spec.model),))))


def monthly_fit(holdout: "pd.DataFrame", times: Any) -> "pd.DataFrame":
    """Actual and predicted target summed per month (per block of rows without times)."""
    import pandas as pd

    frame = holdout.copy()
    if times is not None:
        frame["period"] = pd.to_datetime(pd.Series(times)).dt.to_period("M").dt.to_timestamp().to_numpy()
    else:
        frame["period"] = pd.Timestamp("2000-01-01") + pd.to_timedelta(frame["period"] // 30 * 30, unit="D")
    return frame.groupby("period", as_index=False)[["actual", "predicted"]].sum()


def budget_scenarios(spec: IciSpec, fit: ModelFit, current: "pd.DataFrame | None") -> "pd.DataFrame | None":
    """The recommended split at today's total (the published ici.budget_allocation rows) and at SCENARIOS (those
    the constraints allow)."""
    import pandas as pd

    from ici_assets.engine.budget_constraints import feasible_totals

    decisions = spec.decisions
    if decisions is None or decisions.budget is None or current is None or not len(current):
        return None
    n_boot = decision_bootstrap(spec)
    today = float(current["current"].sum())
    frames = [current.assign(change=0.0)]
    constraints = decisions.budget.constraints() | {"target_marginal_return": None}  # scenarios fix the total
    smallest, largest = feasible_totals(current)
    for change in SCENARIOS:
        if not smallest <= today * (1 + change) <= largest:  # max_change or fixed nodes rule this total out
            continue
        result = engine.optimise_budget(
            fit.scm,
            spec.target,
            decisions.spend_nodes,
            today * (1 + change),
            **constraints,
            bootstrap=engine.Bootstrap(n_bootstrap=n_boot, seed=spec.seed),
            max_samples=spec.max_samples,
            mc_tolerance=MAX_RELATIVE_MC_ERROR,
        )
        frames.append(result.table.assign(change=change))
    columns = ["change", "node", "current", "recommended", "expected_uplift", "uplift_low", "uplift_high"]
    return pd.concat([f[columns] for f in frames], ignore_index=True)


def largest_months(changes: "pd.DataFrame | None") -> "pd.DataFrame | None":
    """The rows of the TOP_MONTHS months with the largest absolute change, largest first."""
    if changes is None or not len(changes):
        return None
    months = changes.drop_duplicates("period").assign(size=lambda f: f["observed_change"].abs())
    top = months.nlargest(TOP_MONTHS, "size")["period"].tolist()
    return changes[changes["period"].isin(top)].set_index("period").loc[top].reset_index()


def latest_checks(context: dg.AssetExecutionContext, spec: IciSpec) -> list[tuple[str, str, str, str]]:
    """Each of the model's checks at its latest evaluation: (asset, check, 'passed'/'failed'/'not run', about)."""
    from ici_assets.checks.decisions import DECISION_DESCRIPTIONS
    from ici_assets.checks.ici import DESCRIPTIONS

    about = {**DESCRIPTIONS, **DECISION_DESCRIPTIONS}
    per_asset: dict[str, tuple[str, ...]] = {"scm": SCM_CHECKS, "shares": SHARES_CHECKS}
    if spec.decisions is not None:
        per_asset["spend_response"] = RESPONSE_CHECKS
        if spec.decisions.budget is not None:
            per_asset["budget"] = BUDGET_CHECKS
    out = []
    for name, checks in per_asset.items():
        for check in checks:
            record = context.instance.get_latest_asset_check_evaluation_record(
                dg.AssetCheckKey(ici_key(spec, name), check)
            )
            status = (
                "not run"
                if record is None
                else {"SUCCEEDED": "passed", "FAILED": "failed"}.get(record.status.value, record.status.value.lower())
            )
            out.append((name, check, status, str(about.get(check, ""))))
    return out


def report_asset(
    spec: IciSpec, reports_dir: str | None = None, pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb"
) -> dg.AssetsDefinition:
    """``ici/<model>/report`` over the fitted model and the model's published tables."""
    code = report_code_version(spec)
    deps = [ici_key(spec, "shares")]
    if spec.decisions is not None:
        deps.append(ici_key(spec, "spend_response"))
        if spec.decisions.budget is not None:
            deps.append(ici_key(spec, "budget"))
    args = published_asset_args(
        spec,
        "report",
        None,
        (),
        code,
        f"One page on `{spec.model}` for someone who never opens Dagster: the answer in three lines, what drives "
        f"`{spec.target}`'s variation (ICI shares), incremental `{spec.target}` and ROI per channel beside its share "
        "of spend, marginal ROI, how well the model fits (held-out error by a time split), response curves, budget "
        "scenarios (-20 % to +20 %), why it moved, the checks and a glossary; numbers with 95 % intervals. A "
        "self-contained HTML file (charts embedded; opens offline) in the component's `reports_dir`.",
        pool=pool,
        kind=kind,
    )
    args["deps"] = deps
    args["kinds"] = {"python", "html"}

    @dg.asset(**args)
    def _report(context: dg.AssetExecutionContext, warehouse: WarehouseResource, fit: ModelFit):
        wh = warehouse.get()
        key = ici_key(spec, "shares").to_user_string()
        shares = wh.read(
            Read(
                SHARES.relation,
                ("node", "share", "share_low", "share_high", "partition_key", "calibrated", "asset_key"),
                (Equals("asset_key", key), Equals("partition_key", None)),
            )
        )
        shares = primary_rows(shares).drop(columns=["calibrated", "asset_key"])
        if not len(shares):
            raise ValueError(f"ici report of {spec.model}: no shares in ici.ici_shares for {key}: materialise it first")
        returns = read_model(wh, CHANNEL_RETURNS, tuple(CHANNEL_RETURNS.column_names), spec)
        response = read_model(wh, SPEND_RESPONSE, tuple(SPEND_RESPONSE.column_names), spec)
        budget = read_model(wh, BUDGET_ALLOCATION, tuple(BUDGET_ALLOCATION.column_names), spec)
        changes = read_model(wh, CHANGE_ATTRIBUTION, tuple(CHANGE_ATTRIBUTION.column_names), spec)
        start = time.perf_counter()
        with engine_log(context):
            holdout = engine.time_split_fit(fit.scm, spec.target)
            scenarios = budget_scenarios(spec, fit, budget)
        scenario_seconds = time.perf_counter() - start
        unit = spec.units.get(spec.target, "")
        calibrated = getattr(fit, "calibration", None)  # a ModelFit pickled before calibration existed has none
        data = ReportData(
            model=spec.model,
            target=spec.target,
            unit=unit,
            grain=grain_label(spec.unit, spec.time_column, fit.facts.period),
            period=fit.facts.label,
            n_rows=fit.facts.n_rows,
            shares=shares.drop(columns="partition_key"),
            fit=monthly_fit(holdout.table, fit.times),
            holdout=holdout.facts.as_dict(),
            checks=latest_checks(context, spec),
            n_bootstrap=decision_bootstrap(spec) if spec.decisions is not None else spec.n_bootstrap,
            returns=returns,
            response=response,
            scenarios=scenarios,
            changes=largest_months(changes),
            transforms=[t.describe() for t in fit.scm.transforms.values()],
            calibration=[] if calibrated is None else calibration_lines(spec, calibrated),
            code_version=code,
        )
        folder = report_folder(reports_dir, warehouse)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{spec.model}.html"
        page = render_report(data)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(page, encoding="utf-8")
        partial.replace(path)  # a reader never sees half a page; a failed write leaves the last one
        context.log.info(
            f"report of {spec.model} written to {path} ({len(page) / 1024:.0f} KB; fit and budget scenarios "
            f"{scenario_seconds:.1f} s)"
        )
        yield dg.MaterializeResult(
            metadata={
                **summary(one_line(data)),
                "path": dg.MetadataValue.path(str(path)),
                "size_kb": round(len(page.encode("utf-8")) / 1024, 1),
                "holdout_r2": round(float(holdout.facts.holdout_r2), 3),
                "scenario_seconds": round(scenario_seconds, 1),
                "code_version": code,
                "data_version": fit.facts.data_version,
            },
            data_version=dg.DataVersion(fit.facts.data_version),
        )

    return _report
