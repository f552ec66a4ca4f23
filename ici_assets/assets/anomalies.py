"""``ici/<model>/anomalies``: why the latest unit-periods' target was off, for a model whose ``ici`` meta has an
``anomalies`` block (opt-in, no new Python).

    <model>, ici/<model>/scm -> ici/<model>/anomalies

It reads the fitted SCM and each unit's most recent ``periods`` periods of the node table, computes each
unit-period's deviation of the target from its expected value, its anomaly score, flag and each node's
contribution (:func:`ici_assets.engine.attribute_anomalies`), runs its blocking check and publishes the rows to
``ici.anomalies`` (replaced) and ``ici.anomalies_history`` (appended), in one transaction, with a chart and one
sentence per flagged unit-period in the metadata.
"""

from typing import TYPE_CHECKING, Any

import dagster as dg

from ici_assets import engine  # lazy: the numeric stack loads when a step computes
from ici_assets.assets.args import ici_key, published_asset_args
from ici_assets.assets.nodes import ModelFit, as_fitted, read_node_table, require_rows
from ici_assets.assets.resources import WarehouseResource
from ici_assets.checks.asset_checks import check_results, report_checks
from ici_assets.checks.decisions import ANOMALY_CHECKS, anomaly_checks
from ici_assets.publish.alerts import flagged_records
from ici_assets.publish.anomalies import (
    anomalies_chart,
    anomalies_code_version,
    anomaly_items,
    anomaly_rows,
    flagged_sentences,
    unit_label,
)
from ici_assets.publish.metadata import chart_metadata, count, summary, table_metadata
from ici_assets.publish.rows import ResultKey
from ici_assets.publish.summaries import tidy
from ici_assets.publish.versions import frame_hash
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import ANOMALIES, WAREHOUSE_POOL, Relation

if TYPE_CHECKING:
    import pandas as pd

#: The preview's columns: each unit-period's top contributor, its points of the expected target and the score (the
#: deviation and the contribution in the target's unit are in ici.anomalies: seven columns overflow the Overview box).
SHOWN = ["period", "unit", "score", "node", "points"]
#: Flagged unit-periods listed in the metadata as sentences (all of them are in the table).
LISTED = 20
#: The metadata entry holding the flagged unit-periods as JSON records (read by the webhook sensor).
FLAGGED_KEY = "flagged_periods"


def latest_periods(spec: IciSpec, frame: "pd.DataFrame", periods: int) -> "pd.DataFrame":
    """Each unit's own most recent ``periods`` periods of the node table (a unit that stopped early keeps its
    last ones), ordered by period and unit, with columns ``period`` (date) and ``unit`` (values joined by '/')."""
    import pandas as pd

    assert spec.time_column is not None
    out = frame.copy()
    out["period"] = pd.to_datetime(out[spec.time_column]).dt.date
    units = [c for c in spec.unit if c != spec.time_column]  # the grain may list the time column too
    out["unit"] = [unit_label(v) for v in out[units].itertuples(index=False)] if units else ""
    rank = out.groupby("unit")["period"].rank(method="dense", ascending=False)
    return out[rank <= periods].sort_values(["period", "unit"], kind="stable").reset_index(drop=True)


def anomalies_asset(
    spec: IciSpec, relation: Relation, pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb"
) -> dg.AssetsDefinition:
    settings = spec.anomalies
    assert settings is not None
    key, code = ici_key(spec, "anomalies"), anomalies_code_version(spec)
    description = (
        f"Why `{spec.target}` of `{spec.model}` was off in each unit's last {settings.periods} period(s): its "
        "deviation from the value the fitted model expects, an anomaly score (-log tail probability; flagged at "
        f"{settings.threshold:g} and above) and each node's contribution to the deviation (closed form on linear "
        "paths, Shapley values over the nodes' own noises otherwise; they sum to the deviation), with one "
        "sentence per flagged unit-period. Tables `ici.anomalies` and `ici.anomalies_history`."
    )
    args = published_asset_args(spec, "anomalies", ANOMALIES, ANOMALY_CHECKS, code, description, pool=pool, kind=kind)

    @dg.asset(**args)
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, fit: ModelFit):
        wh = warehouse.get()
        frame = read_node_table(wh, spec, relation)
        require_rows(spec, frame, str(relation))
        observed = latest_periods(spec, frame, settings.periods)
        recent = latest_periods(spec, as_fitted(spec, fit.scm, frame), settings.periods)  # learned transforms applied
        context.log.info(
            f"Explaining {len(recent):,} unit-periods of {spec.model} ({recent['unit'].nunique()} unit(s), "
            f"periods {recent['period'].min()} to {recent['period'].max()})"
        )
        result = engine.attribute_anomalies(fit.scm, recent, spec.target, threshold=settings.threshold, seed=spec.seed)
        results = check_results({None: anomaly_checks(result.table)}, ANOMALY_CHECKS)
        if all(r.passed for r in results):
            data_version = frame_hash(observed[[*spec.nodes, "period", "unit"]])
            result_key = ResultKey(key.to_user_string(), code, context.run.run_id)
            rows = anomaly_rows(spec, result.table, recent, result_key, data_version)
            wh.publish(anomaly_items(rows))
            metadata = {
                **_present(spec, rows, result.facts),
                "code_version": code,
                "data_version": data_version,
            }
            yield dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(data_version))
        yield from report_checks(context, results)

    return _asset


def _present(spec: IciSpec, rows: "pd.DataFrame", facts: Any) -> dict[str, Any]:
    """Summary (the flagged count and the worst sentence), the sentences, a preview, the chart."""
    sentences = flagged_sentences(rows)
    periods = rows.drop_duplicates(["period", "unit"])
    head = f"{len(sentences)} of {len(periods):,} unit-periods flagged (score ≥ {facts.threshold:g})"
    text = f"{head}. {sentences[0]}" if sentences else f"{head}."
    top = rows[rows["rank"] == 1].sort_values("score", ascending=False).head(LISTED)
    unit = spec.units.get(spec.target, "")
    title = f"Why {spec.target} was off: {head}"
    return {
        **summary(text),
        "flagged": dg.MetadataValue.md(
            "\n".join(f"- {s}" for s in sentences[:LISTED])
            + (f"\n- ... and {len(sentences) - LISTED} more (table ici.anomalies)" if len(sentences) > LISTED else "")
            or "No unit-period flagged."
        ),
        FLAGGED_KEY: dg.MetadataValue.json(flagged_records(rows)),  # what the webhook sensor posts
        "n_flagged": count(len(sentences)),
        "n_unit_periods": count(len(periods)),
        "method": facts.method,
        "expected": tidy(facts.expected),
        "max_score": tidy(rows["score"].max()) if len(rows) else 0.0,
        "top_contributors": table_metadata(top[SHOWN].astype({"period": str})),
        "dagster/row_count": len(rows),
        **chart_metadata("anomalies_chart", anomalies_chart(rows, target=spec.target, title=title, unit=unit), title),
    }
