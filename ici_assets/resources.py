"""Dagster resources: the warehouse the assets read and write, and the pool their partition fits run on."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from ici_assets.compute import DaskPool, InlinePool, LocalProcessPool, Pool
from ici_assets.warehouse import DuckDBWarehouse, Warehouse
from ici_assets.warehouse.dbt_target import render_target

#: Environment variables giving the compute pool's defaults (run config overrides them).
POOL_ENV, DASK_SCHEDULER_ENV, MAX_WORKERS_ENV = "ICI_COMPUTE_POOL", "ICI_DASK_SCHEDULER", "ICI_MAX_WORKERS"
POOL_KINDS = ("local", "dask", "inline")
#: Seconds a process waits for another's lock on the DuckDB file (one setting; see the component's YAML).
DEFAULT_LOCK_WAIT_SECONDS = 120.0


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse the ICI assets read and write: the embedded DuckDB file dbt builds into.

    ``wait_seconds``: how long a reader or writer waits for another process's lock on the file before
    failing with a message naming it (``warehouse_lock_wait_seconds`` of the component).
    """

    path: str
    wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS

    @classmethod
    def for_dbt_target(
        cls,
        project_dir: str | Path,
        *,
        profiles_dir: str | Path | None = None,
        profile: str | None = None,
        target: str | None = None,
    ) -> WarehouseResource:
        """The warehouse of the dbt project's profile target (the one ``dbt build`` writes), rendered by dbt."""
        chosen = render_target(project_dir, profiles_dir=profiles_dir, profile=profile, target=target)
        if chosen.type != "duckdb":
            raise ValueError(
                f"{chosen.describe()} is a '{chosen.type}' warehouse; the ICI assets read and write DuckDB files "
                "only. Point the target at dbt-duckdb (type: duckdb, path: <file>)."
            )
        return cls(path=str(chosen.duckdb_path()))

    def get(self) -> Warehouse:
        """The warehouse; each call on it opens and closes its own short connection."""
        return DuckDBWarehouse(self.path, wait_seconds=self.wait_seconds)


class ComputePoolResource(dg.ConfigurableResource):
    """Where the fits of a partitioned asset's run go: ``local`` worker processes (default), a ``dask``
    cluster (``scheduler_address``), or ``inline`` in the run's process. Only compute moves; the run's
    own process reads the warehouse and publishes."""

    kind: str = "local"
    max_workers: int = 0  # local: 0 = one per core
    start_method: str = "forkserver"  # local: forkserver or spawn
    scheduler_address: str = ""  # dask: tcp://host:8786

    @classmethod
    def from_env(cls) -> ComputePoolResource:
        """Defaults from ``$ICI_COMPUTE_POOL``, ``$ICI_DASK_SCHEDULER`` and ``$ICI_MAX_WORKERS``."""
        address = os.environ.get(DASK_SCHEDULER_ENV, "")
        kind = os.environ.get(POOL_ENV) or ("dask" if address else "local")
        return cls(kind=kind, scheduler_address=address, max_workers=int(os.environ.get(MAX_WORKERS_ENV) or 0))

    def get(self) -> Pool:
        kind = self.kind.strip().lower()
        if kind == "local":
            return LocalProcessPool(self.max_workers or None, self.start_method)
        if kind == "dask":
            return DaskPool(self.scheduler_address)
        if kind == "inline":
            return InlinePool()
        raise ValueError(f"compute_pool kind {self.kind!r} is not one of {POOL_KINDS} (${POOL_ENV}).")
