"""Run the definitions in-process: the unpartitioned job, then every partition of the ICI assets.

Used by ``make demo`` and the tests; in production the same jobs run from the Dagster UI,
schedules or ``dagster job backfill``.
"""

from collections.abc import Callable

import dagster as dg


def partition_jobs(defs: dg.Definitions) -> list[dg.JobDefinition]:
    """The partitioned ICI jobs (one per partitions definition)."""
    return [j for j in (defs.resolve_job_def(job.name) for job in defs.jobs) if j.partitions_def is not None]


def run_all(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    *,
    run_config: dict | None = None,
    partitions: bool = True,
    log: Callable[[str], None] = print,
) -> list[dg.ExecuteInProcessResult]:
    """Materialise ``ici_demo``, then each partition of each partitioned job, in order.

    Stops at the first failed run and returns the results so far (the last one failed).
    """
    run_config = run_config or {}
    part_config = {k: v for k, v in run_config.items() if k == "loggers"}
    results = [defs.resolve_job_def("ici_demo").execute_in_process(
        instance=instance, run_config=run_config, raise_on_error=False)]
    if not results[-1].success or not partitions:
        return results
    for job in partition_jobs(defs):
        keys = job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        log(f"{job.name}: {len(keys)} partitions")
        for key in keys:
            results.append(job.execute_in_process(
                instance=instance, partition_key=key, run_config=part_config, raise_on_error=False))
            if not results[-1].success:
                return results
    return results
