"""The monthly change attribution: each month against the one before, every partition of a run at once.

A backfill is one run (``BackfillPolicy.single_run()``): the step reads the node table once, chooses
the mechanism kinds on all of it, cuts each (previous month, month) pair out of it,
and fans the pairs out to the compute pool (:func:`ici_assets.compute.change_slice`); results are
checked and published in batches (:func:`ici_assets.assets.fanout.fan_out`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import dagster as dg

from ici_assets.assets.fanout import PartitionWork, fan_out, fit_settings
from ici_assets.assets.nodes import as_fitted, fit_model, read_node_table
from ici_assets.checks.decisions import CHANGE_CHECKS, MAX_RELATIVE_MC_ERROR, change_checks
from ici_assets.compute import ChangeOutcome, Pool, change_slice
from ici_assets.publish.decision_charts import (
    change_sentence,
    monthly_change_chart,
    months_summary,
    node_label,
    waterfall_chart,
)
from ici_assets.publish.decision_rows import change_items, decision_bootstrap, stamp
from ici_assets.publish.metadata import chart_metadata, summary, table_metadata
from ici_assets.publish.rows import ResultKey
from ici_assets.publish.summaries import grain_label, tidy
from ici_assets.publish.versions import frame_hash
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import CHANGE_ATTRIBUTION, Read, Relation, Warehouse

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class MonthlyChanges:
    """One partition per month (key YYYY-MM-01); its baseline is the month before."""

    spec: IciSpec

    @property
    def time_column(self) -> str:
        assert self.spec.time_column, "checked when the meta is parsed"
        return self.spec.time_column

    def partitions_def(self) -> dg.MonthlyPartitionsDefinition:
        assert self.spec.decisions is not None and self.spec.decisions.change_attribution is not None
        change = self.spec.decisions.change_attribution
        return dg.MonthlyPartitionsDefinition(start_date=change.start, end_date=change.end)

    @staticmethod
    def bounds(key: str) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
        """(start of the month before, start of the month, start of the month after)."""
        import pandas as pd

        start = pd.Timestamp(key)
        return start - pd.DateOffset(months=1), start, start + pd.DateOffset(months=1)

    def slices(self, frame: pd.DataFrame, keys: Sequence[str]) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
        import pandas as pd

        times = pd.to_datetime(frame[self.time_column])
        out = {}
        for key in keys:
            before, start, end = self.bounds(key)
            old = frame[(times >= before) & (times < start)].reset_index(drop=True)
            out[key] = (old, frame[(times >= start) & (times < end)].reset_index(drop=True))
        return out


def contributions_table(rows: pd.DataFrame, unit: str | None) -> dg.MetadataValue:
    """One month's attribution as the UI's table shows it: what moved ('demand', 'social_clicks mechanism') and its
    part of the change in the target's unit with its 95 % interval (its share of the change is in the table
    ``ici.change_attribution``; the summary gives the largest in points)."""
    labels = [node_label(n, p).removeprefix("the ") for n, p in zip(rows["node"], rows["part"])]
    change = f"change ({unit})" if unit else "change"
    preview = rows.assign(node=labels).rename(columns={"contribution": change})
    return table_metadata(preview[["node", change, "low", "high"]], {change: ("low", "high")})


def _month(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m")


def run_change_partitions(
    context: dg.AssetExecutionContext,
    spec: IciSpec,
    relation: Relation,
    warehouse: Warehouse,
    pool: Pool,
    code_version: str,
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult]:
    """Attribute, check and publish every month of the run; yield their materialisations, then the checks.

    The mechanism kinds are chosen once, on the whole node table (as the model's SCM asset does), and
    refitted on both months of every pair: one model class for every month, no per-month model choice to
    pay for or to flip from one month to the next. Nodes with learned transforms enter as their transformed series
    under the whole table's parameters, as the SCM asset holds them."""
    key, scheme = context.asset_key, MonthlyChanges(spec)
    keys = list(context.partition_keys)
    t0 = time.perf_counter()
    frame = read_node_table(warehouse, spec, relation)
    pairs = scheme.slices(frame, keys)
    read_seconds = time.perf_counter() - t0
    whole = fit_model(spec, frame)
    kinds = {str(n): str(k) for n, k in whole.kinds.items() if k != "root"}
    # learned carryover/saturation: the months compare the nodes as the SCM holds them (the whole table's transforms)
    fitted = scheme.slices(as_fitted(spec, whole, frame), keys) if whole.transforms else pairs
    context.log.info(
        f"Read {len(frame):,} rows of {relation} once for {len(keys)} month(s); mechanisms {kinds}; "
        f"computing on {pool.name}"
    )
    errors = {}
    for k, (old, new) in pairs.items():
        before, start, _ = scheme.bounds(k)
        empty = [_month(m) for m, rows in ((before, old), (start, new)) if rows.empty]
        if empty:
            errors[k] = f"no rows in {' and '.join(empty)}"
    n_boot = decision_bootstrap(spec)
    per = grain_label(spec.unit, spec.time_column, spec.time_grain if spec.time_column else None)
    unit = spec.units.get(spec.target)

    def y_title(what: str) -> str:
        return f"{what} {spec.target} {per}" + (f" ({unit})" if unit else "")

    settings = replace(
        fit_settings(spec, markov_alpha=spec.checks.markov_alpha),
        n_bootstrap=n_boot,
        mechanisms=dict(kinds),
        max_samples=spec.max_samples,
        mc_tolerance=MAX_RELATIVE_MC_ERROR,
    )

    def rows(part: str, outcome: ChangeOutcome) -> pd.DataFrame:
        import pandas as pd

        before, start, _ = scheme.bounds(part)
        table = outcome.table.assign(period=start.date(), baseline_period=before.date())
        sentence = change_sentence(table, target=spec.target, period=_month(start), baseline=_month(before))
        result_key = ResultKey(key.to_user_string(), code_version, context.run.run_id, part, "month")
        version = frame_hash(pd.concat(pairs[part], ignore_index=True))
        return stamp(table.assign(sentence=sentence), CHANGE_ATTRIBUTION, spec, result_key, version)

    def metadata(part: str, part_rows: pd.DataFrame) -> dict:
        before, start, _ = scheme.bounds(part)
        title = f"{spec.target}: {_month(start)} against {_month(before)}"
        first = part_rows.iloc[0]
        chart = waterfall_chart(part_rows, target=spec.target, title=title, x_title=y_title("change of mean"))
        return {
            **summary(str(first["sentence"])),
            "change": tidy(first["observed_change"]),  # short keys: the Overview tab's key column sets its width
            "change_pct": tidy(100.0 * float(first["observed_change"]) / float(first["old_mean"]), 3),
            "contributions": contributions_table(part_rows, unit),
            "code_version": code_version,
            "data_version": str(first["data_version"]),
            **chart_metadata("waterfall_chart", chart, title),
        }

    def run_metadata() -> dict:
        """Every month's current attribution: the summary of the months that moved most (it replaces the last
        partition's own sentence: that materialisation is the one the asset's pages show) and their chart."""
        columns = ("period", "node", "part", "contribution", "observed_change", "old_mean")
        current = warehouse.read(Read.of_asset(CHANGE_ATTRIBUTION.relation, key.to_user_string(), columns, "period"))
        title = f"Change of mean {spec.target} against the month before, by node"
        chart = monthly_change_chart(current, target=spec.target, title=title, y_title=y_title("change of mean"))
        return {
            **summary(months_summary(current, target=spec.target)),
            **chart_metadata("months_chart", chart, title, spec=True),
        }

    work = PartitionWork(
        fn=change_slice,
        tasks={k: (*fitted[k], settings) for k in keys},
        check_names=CHANGE_CHECKS,
        evaluate=lambda part, outcome: change_checks(outcome.table, n_boot > 0),
        rows=rows,
        items=change_items,
        metadata=metadata,
        run_metadata=run_metadata,
    )
    yield from fan_out(context, work, warehouse=warehouse, pool=pool, errors=errors, read_seconds=read_seconds)
