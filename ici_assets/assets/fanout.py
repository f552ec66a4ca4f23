"""The step of a partitioned ICI asset: every partition of the run at once, fanned out to a compute pool.

A backfill is one run (``BackfillPolicy.single_run()``), so per-run overhead is paid once. The
step reads the node table once for all its partitions, cuts each partition's rows out of it, and
sends (rows, settings) to the pool's workers, which only compute (:func:`fit_slice`). As results
come back it evaluates the checks and publishes the partitions that pass, one transaction per
batch, from this process only. A partition that fails a check is not published and is named in
the check results; one whose computation raised is named in the step's error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import dagster as dg

from ici_assets.assets.nodes import read_node_table, unit_columns
from ici_assets.assets.partitions import MonthlyWindows, Scheme
from ici_assets.checks.asset_checks import check_results
from ici_assets.checks.coverage import coverage_check
from ici_assets.checks.ici import SCM_CHECKS, SHARES_CHECKS, CheckOutcome, graph_check, mechanisms_check
from ici_assets.checks.ici import shares_checks as evaluate_shares
from ici_assets.checks.stability import COLUMNS as STABILITY_COLUMNS
from ici_assets.checks.stability import STABILITY_CHECK, previous_shares, stability_check, warn_only
from ici_assets.compute import FitOutcome, FitSettings, Pool, fit_slice
from ici_assets.publish import charts
from ici_assets.publish.metadata import chart_metadata, count, shares_metadata
from ici_assets.publish.rows import ResultKey, primary_rows, shares_items, shares_rows
from ici_assets.publish.summaries import tidy
from ici_assets.publish.versions import slice_facts
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import SHARES, MissingColumnsError, Publish, Read, Relation, Warehouse

if TYPE_CHECKING:
    import pandas as pd

#: How the step's last log line names the pool's worker processes (ids are no result: not in the metadata).
WORKERS_LOGGED = "worker processes"
#: Partitions published per transaction: progress survives a crash, and few commits stay cheap.
PUBLISH_BATCH = 50
ALL_CHECKS = (*SCM_CHECKS, *SHARES_CHECKS, STABILITY_CHECK)


def fit_settings(spec: IciSpec, *, markov_alpha: float) -> FitSettings:
    """What the worker needs from the model's meta (no Dagster types, picklable)."""
    return FitSettings(
        nodes=tuple(spec.nodes),
        edges=tuple(spec.edges),
        target=spec.target,
        mechanisms=spec.mechanisms,
        n_bootstrap=spec.n_bootstrap,
        seed=spec.seed,
        markov_alpha=markov_alpha,
        time_column=spec.time_column,
        max_samples=spec.max_samples,
        transforms={n: dict(t) for n, t in spec.transforms.items()} or None,
        units=unit_columns(spec),
    )


def slice_checks(spec: IciSpec, frame: pd.DataFrame, outcome: FitOutcome, markov_alpha: float) -> list[CheckOutcome]:
    """All five checks on one partition's rows and results."""
    limits = spec.checks.model_copy(update={"markov_alpha": markov_alpha})
    return [
        mechanisms_check(limits, outcome.kinds, outcome.r2),
        graph_check(limits, outcome.markov),
        coverage_check(spec, frame),
        *evaluate_shares(outcome.table["share"]),
    ]


@dataclass
class _Progress:
    """What the step did, for its log and its last materialisation's metadata."""

    seconds: dict[str, float] = field(default_factory=lambda: {"read": 0.0, "compute": 0.0, "publish": 0.0})
    outcomes: dict[str | None, list[CheckOutcome]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    published: int = 0
    worker_pids: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class PartitionWork:
    """What a partitioned asset does with each partition of a run, for :func:`fan_out`.

    ``fn(*tasks[key])`` runs on the pool (plain data in and out, with a ``pid``); ``evaluate`` checks its
    outcome; ``rows`` turns a passing outcome into rows, ``items`` a batch of rows into one publish,
    ``metadata`` gives a partition's materialisation metadata and ``run_metadata`` (read after the last
    publish) the run's chart, attached to the last materialisation. The ``warn`` checks do not hold a
    partition back.
    """

    fn: Callable[..., Any]
    tasks: dict[str, tuple]
    check_names: tuple[str, ...]
    evaluate: Callable[[str, Any], list[CheckOutcome]]
    rows: Callable[[str, Any], pd.DataFrame]
    items: Callable[[pd.DataFrame], list[Publish]]
    metadata: Callable[[str, pd.DataFrame], dict]
    run_metadata: Callable[[], dict]
    warn: tuple[str, ...] = ()


def fan_out(
    context: dg.AssetExecutionContext,
    work: PartitionWork,
    *,
    warehouse: Warehouse,
    pool: Pool,
    errors: dict[str, str],
    read_seconds: float,
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult]:
    """Run ``work`` for every task on the pool; check, publish in batches, report; then the checks, and a
    failure naming the partitions that could not be computed (``errors``: those refused before computing)."""
    key = context.asset_key
    progress = _Progress(errors=dict(errors))
    progress.seconds["read"] = read_seconds
    todo = [k for k in work.tasks if k not in progress.errors]
    batch: list[tuple[str, pd.DataFrame]] = []
    t_loop = time.perf_counter()
    for done, (i, outcome) in enumerate(pool.run(work.fn, [work.tasks[k] for k in todo]), start=1):
        part = todo[i]
        if isinstance(outcome, BaseException):
            progress.errors[part] = f"{type(outcome).__name__}: {outcome}"
            context.log.error(f"Partition {part}: {progress.errors[part]}")
            continue
        progress.worker_pids.add(outcome.pid)
        checks = progress.outcomes[part] = work.evaluate(part, outcome)
        for c in checks:
            if not c.passed and c.name in work.warn:
                context.log.warning(f"Partition {part}, check {c.name} warns: {c.description}")
        if not all(c.passed for c in checks if c.name not in work.warn):
            failed = "; ".join(f"{c.name}: {c.description}" for c in checks if not c.passed)
            context.log.error(f"Partition {part} failed its checks, not published: {failed}")
            continue
        batch.append((part, work.rows(part, outcome)))
        if len(batch) >= PUBLISH_BATCH and done < len(todo):  # the last batch also carries the run's chart
            yield from _publish(context, warehouse, work, batch, progress, final=False)
            batch = []
    progress.seconds["compute"] = time.perf_counter() - t_loop - progress.seconds["publish"]
    yield from _publish(context, warehouse, work, batch, progress, final=True)
    context.log.info(
        f"{progress.published} of {len(context.partition_keys)} partition(s) published; read "
        f"{progress.seconds['read']:.1f} s, compute {progress.seconds['compute']:.1f} s, publish "
        f"{progress.seconds['publish']:.1f} s; {WORKERS_LOGGED} {sorted(progress.worker_pids)}"
    )
    yield from check_results(progress.outcomes, work.check_names, not_evaluated=progress.errors, warn=work.warn)
    if progress.errors:
        errs = progress.errors
        raise dg.Failure(
            description=f"{len(errs)} partition(s) of {key.to_user_string()} could not be computed, nothing "
            f"published for them: " + "; ".join(f"{k}: {v}" for k, v in sorted(errs.items())[:10]),
            metadata={"failed_partitions": dg.MetadataValue.json(sorted(errs))},
        )


def logged_worker_pids(instance: dg.DagsterInstance, run_id: str) -> set[int]:
    """The process ids of the pool workers a run's partitioned steps used, read back from the run's log (for tests
    and benchmarks that check where the work ran)."""
    import re

    pattern = re.compile(rf"{WORKERS_LOGGED} \[([\d, ]*)\]")
    found: set[int] = set()
    for entry in instance.all_logs(run_id):
        match = pattern.search(entry.user_message or "")
        if match:
            found |= {int(p) for p in match.group(1).replace(" ", "").split(",") if p}
    return found


def _publish(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    work: PartitionWork,
    batch: list[tuple[str, pd.DataFrame]],
    progress: _Progress,
    *,
    final: bool,
) -> Iterator[dg.AssetMaterialization]:
    """Publish a batch in one transaction, then report each partition in it as materialised."""
    import pandas as pd

    if not batch:
        return
    t0 = time.perf_counter()
    warehouse.publish(work.items(pd.concat([rows for _, rows in batch], ignore_index=True)))
    progress.seconds["publish"] += time.perf_counter() - t0
    progress.published += len(batch)
    context.log.info(f"Published {len(batch)} partition(s) in one transaction ({progress.published} so far)")
    last: dict = {}
    if final:
        t0 = time.perf_counter()
        last = work.run_metadata()
        progress.seconds["chart"] = time.perf_counter() - t0
        last.update({f"seconds/{k}": tidy(v, 3) for k, v in progress.seconds.items()})
        last["step/partitions"] = count(len(context.partition_keys))  # worker ids are no result: in the log
    for n, (part, rows) in enumerate(batch):
        metadata = work.metadata(part, rows)
        if n == len(batch) - 1:
            metadata.update(last)
        yield dg.AssetMaterialization(asset_key=context.asset_key, partition=part, metadata=metadata)


def run_partitions(
    context: dg.AssetExecutionContext,
    spec: IciSpec,
    scheme: Scheme,
    relation: Relation,
    warehouse: Warehouse,
    pool: Pool,
    code_version: str,
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult]:
    """Compute, check and publish every partition's shares; yield their materialisations, then the checks."""
    key = context.asset_key
    keys = list(context.partition_keys)
    t0 = time.perf_counter()
    frame = read_node_table(warehouse, spec, relation, (scheme.read_filter(keys),))
    slices = dict(scheme.slices(frame, keys))
    read_seconds = time.perf_counter() - t0
    context.log.info(
        f"Read {len(frame):,} rows of {relation} once for {len(keys)} partition(s) "
        f"in {read_seconds:.1f} s; computing on {pool.name}"
    )
    errors = {k: f"no rows in {scheme.label(k)}" for k, rows in slices.items() if rows.empty}
    # The graph test runs once per partition: its family-wise level covers all the asset's partitions.
    n_total = max(
        len(context.assets_def.partitions_def.get_partition_keys(dynamic_partitions_store=context.instance)), 1
    )
    alpha = spec.checks.markov_alpha / n_total
    settings = fit_settings(spec, markov_alpha=alpha)
    facts = {k: slice_facts(spec, rows) for k, rows in slices.items()}
    previous = current_shares(warehouse, key)
    stability: dict[str, str] = {}

    made: dict[str, pd.DataFrame] = {}  # each partition's rows, built once for shares_stable and the publish

    def rows(part: str, outcome: FitOutcome) -> pd.DataFrame:
        if part not in made:
            result_key = ResultKey(key.to_user_string(), code_version, context.run.run_id, part, scheme.kind)
            made[part] = shares_rows(spec, outcome.table, facts[part], result_key)
        return made[part]

    def evaluate(part: str, outcome: FitOutcome) -> list[CheckOutcome]:
        stable = stability_check(rows(part, outcome), previous_shares(previous, part))
        stability[part] = stable.description
        return [*slice_checks(spec, slices[part], outcome, alpha), stable]

    work = PartitionWork(
        fn=fit_slice,
        tasks={k: (slices[k], settings) for k in keys},
        check_names=ALL_CHECKS,
        evaluate=evaluate,
        rows=rows,
        items=shares_items,
        metadata=lambda part, part_rows: {
            **shares_metadata(part_rows, facts[part], spec.n_bootstrap, spec.target),
            "stability": dg.MetadataValue.text(stability[part]),
        },
        run_metadata=lambda: _partitions_chart(warehouse, spec, scheme, key),
        warn=warn_only(spec),
    )
    yield from fan_out(context, work, warehouse=warehouse, pool=pool, errors=errors, read_seconds=read_seconds)


def current_shares(warehouse: Warehouse, key: dg.AssetKey) -> pd.DataFrame:
    """The asset's shares as last published (every partition's), for ``shares_stable``; empty before the first."""
    request = Read.of_asset(SHARES.relation, key.to_user_string(), STABILITY_COLUMNS, "partition_key")
    if not warehouse.exists(SHARES.relation):
        import pandas as pd

        return pd.DataFrame(columns=list(STABILITY_COLUMNS))
    try:  # a calibrated model's least-squares rows (calibrated = false) are not its shares
        rows = warehouse.read(replace(request, columns=(*request.columns, "calibrated")))
    except MissingColumnsError:  # a table published before lift-test calibration: every row is least squares
        return warehouse.read(request)
    return primary_rows(rows).drop(columns="calibrated")


def _partitions_chart(warehouse: Warehouse, spec: IciSpec, scheme: Scheme, key: dg.AssetKey) -> dict:
    """Chart of every partition's current shares of this asset (read back after the write)."""
    columns = ("partition_key", "node", "share", "share_low", "share_high")
    current = warehouse.read(Read.of_asset(SHARES.relation, key.to_user_string(), columns, "partition_key"))
    if isinstance(scheme, MonthlyWindows):
        title = f"ICI shares of {spec.target} over time ({scheme.window_months}-month trailing windows)"
        chart = charts.shares_over_time_chart(current, title=title, target=spec.target)
    else:
        title = f"ICI shares of {spec.target} by {scheme.kind}"
        chart = charts.shares_by_segment_chart(current, title=title, target=spec.target)
    return chart_metadata("partitions_chart", chart, title, spec=True)
