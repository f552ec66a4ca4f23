"""Reconstructable entry points: the same jobs, rebuilt from environment variables in any process.

Executors that run steps in other processes or machines (Dagster's multiprocess executor,
dagster-dask, dagster-celery, dagster-k8s) rebuild the job there from a *reconstructable*
target: a module-level function importable by name. The functions below build the
definitions from ``$ICI_DBT_PROJECT_DIR`` / ``$ICI_WAREHOUSE`` and pick the executor from
``$ICI_EXECUTOR`` (``multiprocess``, the default, ``in_process``, or ``dask`` for a Dask cluster,
see :mod:`ici_assets.executors`), so the choice of executor is configuration, not code::

    import dagster as dg
    from ici_assets import jobs
    dg.execute_job(dg.reconstructable(jobs.shares_by_month_job), instance=instance,
                   partition_key="2025-01-01", run_config=...)

Every process that rebuilds the job must see the same environment variables.
"""

from __future__ import annotations

import functools
import os

import dagster as dg

#: Environment variable choosing the executor of every job: ``multiprocess`` (default), ``in_process`` or ``dask``.
EXECUTOR_ENV = "ICI_EXECUTOR"

DEMO_JOB = "ici_demo"
MONTHLY_JOB = "ici__marketing_nodes__shares_by_month_job"
REGION_JOB = "ici__marketing_nodes__shares_by_region_job"


def executor_from_env() -> dg.ExecutorDefinition:
    """The executor named by ``$ICI_EXECUTOR``; its settings come from the run config's ``execution``."""
    name = (os.environ.get(EXECUTOR_ENV) or "multiprocess").strip().lower()
    if name == "multiprocess":
        return dg.multiprocess_executor
    if name == "in_process":
        return dg.in_process_executor
    if name == "dask":
        from ici_assets.executors import dask_executor

        return dask_executor()
    raise ValueError(f"${EXECUTOR_ENV}={name!r} is not supported: use 'multiprocess', 'in_process' or 'dask'.")


@functools.cache
def definitions() -> dg.Definitions:
    """``build_definitions()`` (paths from the environment) with the executor from ``$ICI_EXECUTOR``.

    Cached per process: rebuilding parses the dbt manifest, which takes about a second.
    """
    from ici_assets.build import build_definitions

    base = build_definitions()
    return dg.Definitions(
        assets=base.assets,
        asset_checks=base.asset_checks,
        resources=base.resources,
        jobs=base.jobs,
        executor=executor_from_env(),
    )


def reload() -> None:
    """Forget the definitions built in this process, so the next job reads ``ICI_*`` afresh.

    Needed only when one process changes those variables between runs (tests, benchmarks):
    besides :func:`definitions`, Dagster's ``ReconstructableJob`` caches the last job it loaded.
    """
    from dagster._core.definitions.reconstruct import ReconstructableJob

    definitions.cache_clear()
    ReconstructableJob.get_definition.cache_clear()
    ReconstructableJob.get_repository_definition.cache_clear()


def demo_job() -> dg.JobDefinition:
    """Every unpartitioned asset: raw -> dbt -> SCM -> ICI shares."""
    return definitions().resolve_job_def(DEMO_JOB)


def shares_by_month_job() -> dg.JobDefinition:
    """ICI shares per month (trailing window); one run per monthly partition."""
    return definitions().resolve_job_def(MONTHLY_JOB)


def shares_by_region_job() -> dg.JobDefinition:
    """ICI shares per region; one run per dynamic partition registered by the SCM asset."""
    return definitions().resolve_job_def(REGION_JOB)


#: Modules a forkserver imports once so each step process starts in well under a second
#: instead of re-importing dagster, dagster-dbt, DoWhy and the engine.
PRELOAD_MODULES = ["ici_assets.jobs", "ici_assets.dbt", "ici_assets.factory", "ici_assets.raw_assets"]


def multiprocess_run_config(max_concurrent: int | None = None) -> dict:
    """``execution`` run config for the multiprocess executor: forkserver with preloaded modules."""
    config: dict = {"start_method": {"forkserver": {"preload_modules": PRELOAD_MODULES}}}
    if max_concurrent:
        config["max_concurrent"] = max_concurrent
    return {"execution": {"config": config}}
