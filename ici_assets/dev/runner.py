"""Run the definitions in-process: the unpartitioned job, then each partitioned job as one run over all its partitions.

Used by ``make demo`` and the tests; in production the same runs come from the Dagster UI (a
backfill of a partitioned asset is one run: ``BackfillPolicy.single_run()``), schedules or
``dagster asset materialize --partition-range``.
"""

from collections.abc import Callable, Sequence

import dagster as dg

#: Run tags of a run covering a range of partitions (what Dagster's backfills and
#: ``dagster asset materialize --partition-range first...last`` set).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_jobs(defs: dg.Definitions) -> list[dg.JobDefinition]:
    """The partitioned ICI jobs (one per partitions definition)."""
    return [j for j in (defs.resolve_job_def(job.name) for job in defs.jobs or []) if j.partitions_def is not None]


def range_tags(keys: Sequence[str]) -> dict[str, str]:
    """Tags of one run over the partitions ``keys[0]`` ... ``keys[-1]`` (in the definition's order)."""
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


def run_all(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    *,
    run_config: dict | None = None,
    partitions: bool = True,
    log: Callable[[str], None] = print,
) -> list[dg.ExecuteInProcessResult]:
    """Materialise ``ici_demo``, then every partition of each partitioned job in one run per job.

    Stops at the first failed run and returns the results so far (the last one failed).
    """
    run_config = run_config or {}
    part_config = {k: v for k, v in run_config.items() if k == "loggers"}
    results = [
        defs.resolve_job_def("ici_demo").execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        )
    ]
    if not results[-1].success or not partitions:
        return results
    for job in partition_jobs(defs):
        assert job.partitions_def is not None
        keys = job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        log(f"{job.name}: {len(keys)} partitions in one run")
        results.append(
            job.execute_in_process(
                instance=instance, tags=range_tags(keys), run_config=part_config, raise_on_error=False
            )
        )
        if not results[-1].success:
            return results
    return results
