"""Executors offered by ``$ICI_EXECUTOR``: Dagster's own, and dagster-dask for a Dask cluster.

``dask`` is dagster-dask's executor (same name, same config: ``cluster: {local: {...}}``,
``{existing: {address: ...}}``, ``{kube: ...}``, ``{slurm: ...}`` ...; steps run by
dagster-dask's own worker function) with four repairs. dagster-dask 0.29 passes the run, the
known execution state and the rest to ``Client.submit`` as separate arguments. Dask walks tuple
arguments looking for futures (every release checked here, 2024.11 through 2026.8), and
Dagster's ``@record`` types refuse iteration: a run whose assets use a concurrency pool
(``RunOpConcurrency``) or time-window partitions (``TimeWindowPartitionsDefinition``) fails
before any step with "Iteration is not allowed on `@record` ...". Here the step's arguments
travel as one opaque object that Dask pickles without looking inside; only the futures of the
upstream steps, which order the graph, stay visible to Dask. Task keys also carry the run id:
dagster-dask names them ``<job>.<step>``, so two runs of one job on a shared cluster (a
backfill) would be merged by Dask into one task. And dagster-dask starts a step even when the step
it depends on failed (a failed blocking asset check included); here it does not start, and the
run's log says so in the words of Dagster's own executors ("Dependencies for step ... failed:
[...]. Not executing."). A re-execution of some steps of a run (from failure, or a step
selection) works too: dagster-dask looks up every upstream step among this run's steps and fails
with a KeyError on one that ran in the parent run.

Dask does not enforce Dagster's concurrency pools (only executors built on Dagster's own step
scheduler do). Writers of the embedded DuckDB file still cannot collide: every connection is
short and waits for the file lock (see :func:`ici_assets.warehouse.connect`). A shared
warehouse adapter has no single-writer lock to begin with.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Iterator

import dagster as dg

#: cluster type of dagster-dask's config -> (module, class) building it
_CLUSTERS = {
    "local": ("dask.distributed", "LocalCluster"),
    "ssh": ("dask.distributed", "SSHCluster"),
    "yarn": ("dask_yarn", "YarnCluster"),
    "pbs": ("dask_jobqueue", "PBSCluster"),
    "moab": ("dask_jobqueue", "MoabCluster"),
    "sge": ("dask_jobqueue", "SGECluster"),
    "lsf": ("dask_jobqueue", "LSFCluster"),
    "slurm": ("dask_jobqueue", "SLURMCluster"),
    "oar": ("dask_jobqueue", "OARCluster"),
    "kube": ("dask_kubernetes", "KubeCluster"),
}


class _Opaque:
    """Values Dask must carry without looking inside (pickled as a whole)."""

    def __init__(self, *values):
        self.values = values


def _opaque_sizeof(obj: _Opaque) -> int:
    # Dask sizes task results to manage worker memory; its generic walk fails on Dagster's
    # @record values (and logs a warning each time), so report the pickled size instead.
    return len(pickle.dumps(obj.values, protocol=pickle.HIGHEST_PROTOCOL))


try:  # registered wherever this module is imported: the run's process and every Dask worker
    from dask.sizeof import sizeof as _dask_sizeof
except ImportError:  # pragma: no cover - the 'dask' extra is optional
    pass
else:
    _dask_sizeof.register(_Opaque)(_opaque_sizeof)


def _succeeded(events: _Opaque) -> bool:
    return any(event.event_type == dg.DagsterEventType.STEP_SUCCESS for event in events.values)


def _upstream_keys(step) -> list[str]:
    return [key for step_input in step.step_inputs for key in step_input.dependency_keys]


def _not_executed_message(step, outcome: dict[str, str]) -> str:
    """Dagster's own wording for a step its executors abandon (``ActiveExecution``)."""
    upstream = _upstream_keys(step)
    failed = [key for key in upstream if outcome.get(key) == "failed"]
    abandoned = [key for key in upstream if outcome.get(key) == "not executed"]
    return (
        f"Dependencies for step {step.key}"
        + (f" failed: {failed}" if failed else "")
        + (f" were not executed: {abandoned}" if abandoned else "")
        + ". Not executing."
    )


def _run_step(dependencies: list[_Opaque], step_args: _Opaque) -> _Opaque:
    """Runs on a Dask worker once ``dependencies`` (upstream steps' events) are done.

    A step whose upstream step failed (or was itself skipped) does not start, as under Dagster's
    own executors; dagster-dask would run it on whatever the upstream step had stored, so a
    failed blocking check would not block anything.
    """
    from dagster_dask.executor import query_on_dask_worker

    if not all(_succeeded(upstream) for upstream in dependencies):
        return _Opaque()
    return _Opaque(*query_on_dask_worker(None, *step_args.values))


def dask_executor() -> dg.ExecutorDefinition:
    """dagster-dask's ``dask`` executor, for runs whose arguments hold Dagster ``@record`` values."""
    try:
        import dask.distributed
        from dagster_dask import executor as upstream
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "ICI_EXECUTOR=dask needs the optional 'dask' extra: pip install 'ici-assets[dask]' "
            "(make install includes it)."
        ) from exc

    from dagster._core.errors import raise_execution_interrupts
    from dagster._utils import iterate_with_context

    class OpaqueArgsDaskExecutor(upstream.DaskExecutor):
        def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
            if not plan_context.instance.is_persistent:
                raise dg.DagsterInvariantViolationError(
                    "The dask executor needs a persistent Dagster instance: set DAGSTER_HOME."
                )
            job_name = plan_context.job_name
            if self.cluster_type == "existing":
                cluster = self.cluster_configuration["address"]
            elif self.cluster_type in _CLUSTERS:
                module, name = _CLUSTERS[self.cluster_type]
                cluster = getattr(importlib.import_module(module), name)(**self.build_dict(job_name))
            else:
                raise ValueError(
                    f"Unknown dask cluster type {self.cluster_type!r}: use 'existing' or one of {sorted(_CLUSTERS)}."
                )
            instance_ref = plan_context.instance.get_ref()
            with dask.distributed.Client(cluster) as client:
                futures, steps = {}, {}
                for level in execution_plan.get_steps_to_execute_by_level():
                    for step in level:
                        # an upstream step missing from this plan ran in the parent run (re-execution):
                        # its output is already stored, there is nothing to wait for
                        dependencies = [futures[key] for key in _upstream_keys(step) if key in futures]
                        futures[step.key] = client.submit(
                            _run_step,
                            dependencies,
                            _Opaque(
                                plan_context.reconstructable_job,
                                plan_context.dagster_run,
                                plan_context.run_config,
                                [step.key],
                                instance_ref,
                                execution_plan.known_state,
                            ),
                            key=f"{job_name}.{step.key}.{plan_context.run_id}",
                            resources=upstream.get_dask_resource_requirements(step.tags),
                            pure=False,
                        )
                        steps[futures[step.key].key] = step
                # upstream steps finish before their dependants, so their outcome is known first
                outcome: dict[str, str] = {}
                done = dask.distributed.as_completed(list(futures.values()), with_results=True)
                for future, events in iterate_with_context(raise_execution_interrupts, done):
                    step = steps[future.key]
                    if events.values:
                        outcome[step.key] = "succeeded" if _succeeded(events) else "failed"
                        yield from events.values
                    else:
                        outcome[step.key] = "not executed"
                        plan_context.for_step(step).log.error(_not_executed_message(step, outcome))

    upstream_def = upstream.dask_executor

    @dg.executor(
        name=upstream_def.name,
        config_schema=upstream_def.config_schema,
        requirements=upstream_def.get_requirements,
    )
    def _dask(init_context) -> OpaqueArgsDaskExecutor:
        ((cluster_type, cluster_configuration),) = init_context.executor_config["cluster"].items()
        return OpaqueArgsDaskExecutor(cluster_type, cluster_configuration)

    _dask.__doc__ = upstream_def.description
    return _dask


def dask_run_config(address: str | None = None, *, n_workers: int = 2) -> dict:
    """``execution`` run config for :func:`dask_executor`.

    With ``address`` (``tcp://host:8786``) steps go to an existing scheduler, whose workers must
    see the same ``ICI_*`` environment variables and code; without, each run starts a local
    cluster of ``n_workers`` single-threaded worker processes (Dagster is not thread-safe).
    """
    cluster = (
        {"existing": {"address": address}}
        if address
        else {"local": {"n_workers": n_workers, "threads_per_worker": 1, "processes": True}}
    )
    return {"execution": {"config": {"cluster": cluster}}}
