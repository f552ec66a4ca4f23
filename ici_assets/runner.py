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
    results = [
        defs.resolve_job_def("ici_demo").execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        )
    ]
    if not results[-1].success or not partitions:
        return results
    for job in partition_jobs(defs):
        keys = job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        log(f"{job.name}: {len(keys)} partitions")
        for key in keys:
            results.append(
                job.execute_in_process(
                    instance=instance, partition_key=key, run_config=part_config, raise_on_error=False
                )
            )
            if not results[-1].success:
                return results
    return results


def _execute_partition(
    job_fn: Callable[[], dg.JobDefinition],
    partition_key: str,
    run_config: dict,
    instance_ref: "dg._core.instance.ref.InstanceRef",
) -> tuple[str, str, bool]:
    """One partition run of a reconstructable job (runs in a worker process)."""
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        with dg.execute_job(
            dg.reconstructable(job_fn),
            instance=instance,
            tags={"dagster/partition": partition_key},
            run_config=run_config,
            raise_on_error=False,
        ) as result:
            return partition_key, result.run_id, result.success


def backfill_parallel(
    runs: list[tuple[Callable[[], dg.JobDefinition], str]],
    instance: dg.DagsterInstance,
    *,
    workers: int = 2,
    run_config: dict | None = None,
) -> list[tuple[str, str, bool]]:
    """Launch one Dagster run per (job function, partition key), ``workers`` runs at a time.

    Each run uses its job's own executor (multiprocess by default, see :mod:`ici_assets.jobs`);
    ``job_fn`` is a module-level function returning the job so runs and step processes can
    rebuild it. The instance must be persistent (a ``$DAGSTER_HOME``): its concurrency pool
    ``duckdb_warehouse`` then serialises the steps that write the embedded warehouse across
    all these runs. Returns (partition, run_id, success) in the order of ``runs``.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if not instance.is_persistent:
        raise ValueError("backfill_parallel needs a persistent DagsterInstance (set $DAGSTER_HOME).")
    ref = instance.get_ref()
    # spawn: a fresh interpreter per worker (forking a process that holds DuckDB or sqlite
    # handles and threads is unsafe).
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_execute_partition, job_fn, key, run_config or {}, ref) for job_fn, key in runs]
        return [f.result() for f in futures]
