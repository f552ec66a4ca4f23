"""Where the per-partition fits run: this process, local worker processes, or a Dask cluster.

A pool maps a plain function over tasks and yields ``(index, result or exception)`` as tasks
finish, so the caller can publish finished partitions while others still compute. Only the
function's arguments and results cross process boundaries (pickled); the warehouse is never
touched by a worker.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field

#: Modules every local worker imports once at start (the engine and its numeric stack).
PRELOAD = ["ici_assets.compute.worker"]

Outcome = tuple[int, Any | BaseException]
PoolKind = Literal["local", "dask", "inline"]
POOL_KINDS: tuple[str, ...] = get_args(PoolKind)
#: Environment variables giving the compute pool's defaults (the component's ``compute_pool`` overrides them).
POOL_ENV, DASK_SCHEDULER_ENV, MAX_WORKERS_ENV = "ICI_COMPUTE_POOL", "ICI_DASK_SCHEDULER", "ICI_MAX_WORKERS"


class Pool(Protocol):
    """Runs ``fn(*args)`` for each task; yields (task index, result or the exception it raised)."""

    name: str

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Outcome]: ...


class InlinePool:
    """Every task in this process, one after another (debugging, tiny jobs)."""

    name = "inline"

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Outcome]:
        for i, args in enumerate(tasks):
            try:
                yield i, fn(*args)
            except Exception as exc:
                yield i, exc


def _preload() -> None:
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)


class LocalProcessPool:
    """Worker processes on this machine (``concurrent.futures``), started by spawn or forkserver.

    A forkserver imports the engine once and forks ready workers from it; spawn starts fresh
    interpreters that import it at start. Never fork the run's process itself: it holds threads
    and open handles (Dagster's event log, DuckDB) that a fork would copy half-way.
    """

    def __init__(self, max_workers: int | None = None, start_method: str = "forkserver"):
        if start_method not in ("forkserver", "spawn"):
            raise ValueError(f"start_method must be 'forkserver' or 'spawn', got {start_method!r}")
        self.max_workers = max_workers or os.cpu_count() or 1
        self.start_method = start_method
        self.name = f"local processes ({self.max_workers}, {start_method})"

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Outcome]:
        if not tasks:
            return
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            context.set_forkserver_preload(PRELOAD)
        workers = min(self.max_workers, len(tasks))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_preload) as executor:
            futures: dict[Future, int] = {executor.submit(fn, *args): i for i, args in enumerate(tasks)}
            try:
                yield from _as_completed(futures)
            finally:
                for f in futures:
                    f.cancel()


def _as_completed(futures: dict[Future, int]) -> Iterator[Outcome]:
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for f in sorted(done, key=futures.__getitem__):
            exc = f.exception()
            yield futures[f], (exc if exc is not None else f.result())


class DaskPool:
    """The workers of a running Dask cluster (``distributed.Client`` to its scheduler).

    Workers need this package installed (same version) and compute only: they receive a frame
    slice and return the engine's table, so they need no access to the warehouse.
    """

    def __init__(self, scheduler_address: str, timeout_seconds: float = 30.0):
        if not scheduler_address:
            raise ValueError("The Dask pool needs scheduler_address, e.g. tcp://scheduler:8786.")
        self.scheduler_address = scheduler_address
        self.timeout_seconds = timeout_seconds
        self.name = f"dask cluster {scheduler_address}"

    def run(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Outcome]:
        if not tasks:
            return
        try:
            import distributed
        except ImportError as exc:  # pragma: no cover - the dask extra is part of `make install`
            raise RuntimeError("The Dask pool needs the `dask` extra: pip install 'ici-assets[dask]'.") from exc
        try:
            client = distributed.Client(self.scheduler_address, timeout=self.timeout_seconds)
        except OSError as exc:
            raise RuntimeError(
                f"Could not reach the Dask scheduler at {self.scheduler_address} within {self.timeout_seconds:.0f} s: "
                "start it (`dask scheduler`) or fix compute_pool.scheduler_address."
            ) from exc
        with contextlib.closing(client):
            futures = {client.submit(fn, *args, pure=False): i for i, args in enumerate(tasks)}
            try:
                for future in distributed.as_completed(list(futures)):
                    error = future.exception()
                    yield futures[future], (error if error is not None else future.result())
            finally:
                client.cancel(list(futures))


class PoolSettings(BaseModel):
    """Where the fits of a partitioned asset's run go, declared once: the component's ``compute_pool`` attribute,
    the ``compute_pool`` resource's config and ``$ICI_COMPUTE_POOL`` all become this."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: PoolKind = Field(
        default="local",
        description="local: worker processes on this machine; dask: a Dask cluster; inline: the run's own process.",
    )
    max_workers: int = Field(default=0, ge=0, description="local: worker processes (0: one per core).")
    start_method: Literal["forkserver", "spawn"] = Field(
        default="forkserver", description="local: how worker processes start."
    )
    scheduler_address: str = Field(default="", description="dask: the scheduler, as tcp://host:8786.")

    @classmethod
    def from_env(cls) -> PoolSettings:
        """Defaults from ``$ICI_COMPUTE_POOL``, ``$ICI_DASK_SCHEDULER`` and ``$ICI_MAX_WORKERS``."""
        address = os.environ.get(DASK_SCHEDULER_ENV, "")
        kind = (os.environ.get(POOL_ENV) or ("dask" if address else "local")).strip().lower()
        if kind not in POOL_KINDS:
            raise ValueError(f"${POOL_ENV}={kind!r} is not one of {POOL_KINDS}.")
        return cls.model_validate(
            {"kind": kind, "scheduler_address": address, "max_workers": int(os.environ.get(MAX_WORKERS_ENV) or 0)}
        )

    def pool(self) -> Pool:
        """The pool these settings name."""
        if self.kind == "local":
            return LocalProcessPool(self.max_workers or None, self.start_method)
        if self.kind == "dask":
            return DaskPool(self.scheduler_address)
        return InlinePool()
