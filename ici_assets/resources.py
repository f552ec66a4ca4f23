"""Dagster resources: the warehouse the assets read and write, and the pool their partition fits run on."""

from __future__ import annotations

import os

import dagster as dg

from ici_assets.compute import DaskPool, InlinePool, LocalProcessPool, Pool
from ici_assets.warehouse import DuckDBWarehouse, Warehouse

#: Environment variables giving the compute pool's defaults (run config overrides them).
POOL_ENV, DASK_SCHEDULER_ENV, MAX_WORKERS_ENV = "ICI_COMPUTE_POOL", "ICI_DASK_SCHEDULER", "ICI_MAX_WORKERS"
POOL_KINDS = ("local", "dask", "inline")


class WarehouseResource(dg.ConfigurableResource):
    """The embedded DuckDB warehouse file (``$ICI_WAREHOUSE``, default ``data/warehouse.duckdb``)."""

    path: str
    wait_seconds: float = 120.0

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
