"""Dagster resources: the warehouse the assets read and write, and the pool their partition fits run on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from ici_assets.compute import POOL_KINDS, Pool, PoolSettings
from ici_assets.compute.pools import POOL_ENV
from ici_assets.warehouse import WAREHOUSE_POOL, Warehouse
from ici_assets.warehouse.dbt_target import DbtTarget, duckdb_file, load_target, peek_target, warehouse_for

#: Seconds a process waits for another's lock on the DuckDB file (one setting; see the component's YAML).
DEFAULT_LOCK_WAIT_SECONDS = 120.0


class WarehouseResource(dg.ConfigurableResource):
    """Where the ICI assets read node tables and publish ``ici.*``: the dbt profile target dbt builds in
    (:meth:`for_dbt_target`), or a DuckDB file given by ``path``.

    The config holds names (project, profiles folder, profile, target) and, for a DuckDB target, its file
    (resolved once, as dbt renders it: the component's ``dbt_env`` may set it only while it builds). A server's
    credentials are rendered from the environment by dbt's own renderer each time :meth:`get` is called, so
    no password reaches Dagster's config, metadata or logs. ``wait_seconds``: how long a step waits for
    another process's lock (the DuckDB file, a table being published) before failing with a message naming it.
    """

    path: str = ""  # a DuckDB file; when set, it is the warehouse
    wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS
    dbt_project_dir: str = ""
    dbt_profiles_dir: str = ""
    dbt_profile: str = ""
    dbt_target: str = ""
    warehouse_type: str = "duckdb"  # the target's type, resolved when the resource is made

    @classmethod
    def for_dbt_target(
        cls,
        project_dir: str | Path,
        *,
        profiles_dir: str | Path | None = None,
        profile: str | None = None,
        target: str | None = None,
        wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
    ) -> WarehouseResource:
        """The warehouse of the dbt target that ``dbt build`` uses for ``project_dir`` (``target`` None:
        ``$DBT_TARGET``, else the profile's default). Profile and target are resolved now, so that the dbt
        runs (:meth:`dbt_cli_settings`) and the ICI assets use the same one (a plain DuckDB target is read
        without dbt: :func:`~ici_assets.warehouse.dbt_target.peek_target`)."""
        resolved = peek_target(project_dir, profiles_dir=profiles_dir, profile=profile, target=target)
        return cls(
            path=duckdb_file(resolved) if resolved.type == "duckdb" else "",
            wait_seconds=wait_seconds,
            dbt_project_dir=str(resolved.project_dir),
            dbt_profiles_dir=str(resolved.profiles_file.parent),
            dbt_profile=resolved.profile,
            dbt_target=resolved.target,
            warehouse_type=resolved.type,
        )

    def target(self) -> DbtTarget | None:
        """The rendered dbt target (None for a DuckDB ``path``)."""
        if self.path or not self.dbt_project_dir:
            return None
        return load_target(
            self.dbt_project_dir, profiles_dir=self.dbt_profiles_dir, profile=self.dbt_profile, target=self.dbt_target
        )

    def get(self) -> Warehouse:
        """The warehouse; each call on it opens and closes its own short connection."""
        resolved = self.target()
        if resolved is not None:
            return warehouse_for(resolved, wait_seconds=self.wait_seconds)
        if not self.path:
            raise ValueError(
                "WarehouseResource needs a DuckDB `path` or a dbt target (WarehouseResource.for_dbt_target)."
            )
        from ici_assets.warehouse import DuckDBWarehouse  # duckdb loads when a step first uses the warehouse

        return DuckDBWarehouse(self.path, wait_seconds=self.wait_seconds)

    def dbt_cli_settings(self) -> dict[str, str]:
        """``profiles_dir``, ``profile`` and ``target`` for dagster-dbt's ``DbtCliResource`` (the ones set)."""
        settings = {"profiles_dir": self.dbt_profiles_dir, "profile": self.dbt_profile, "target": self.dbt_target}
        return {k: v for k, v in settings.items() if v}

    @property
    def pool(self) -> str | None:
        """The Dagster concurrency pool of the steps that write it: one writer for an embedded DuckDB file,
        none for a server (it serialises concurrent publishes itself)."""
        return WAREHOUSE_POOL if self.path or self.warehouse_type == "duckdb" else None

    @property
    def kind(self) -> str:
        """The warehouse type (``duckdb``, ``postgres``), for asset kinds."""
        return "duckdb" if self.path else self.warehouse_type


_POOL = PoolSettings.model_fields


class ComputePoolResource(dg.ConfigurableResource):
    """Where the fits of a partitioned asset's run go: ``local`` worker processes (default), a ``dask``
    cluster (``scheduler_address``), or ``inline`` in the run's process. Only compute moves; the run's
    own process reads the warehouse and publishes. The settings and their defaults are
    :class:`~ici_assets.compute.PoolSettings`' (checked there when the pool is made)."""

    kind: str = _POOL["kind"].default
    max_workers: int = _POOL["max_workers"].default
    start_method: str = _POOL["start_method"].default
    scheduler_address: str = _POOL["scheduler_address"].default

    @classmethod
    def of(cls, settings: PoolSettings) -> ComputePoolResource:
        return cls(**settings.model_dump())

    @classmethod
    def from_env(cls) -> ComputePoolResource:
        """Defaults from ``$ICI_COMPUTE_POOL``, ``$ICI_DASK_SCHEDULER`` and ``$ICI_MAX_WORKERS``."""
        return cls.of(PoolSettings.from_env())

    def settings(self) -> PoolSettings:
        raw = {**self.model_dump(), "kind": self.kind.strip().lower()}
        if raw["kind"] not in POOL_KINDS:
            raise ValueError(f"compute_pool kind {self.kind!r} is not one of {POOL_KINDS} (${POOL_ENV}).")
        return PoolSettings.model_validate(raw)

    def get(self) -> Pool:
        return self.settings().pool()


#: The resource key of the IO manager that keeps each model's fitted SCM (the ``scm`` asset's output) for the assets
#: downstream. Bind your own IO manager under this key (an object store, say) to keep the fits elsewhere.
FIT_STORE_KEY = "ici_fit_store"


class FitStore(dg.ConfigurableIOManagerFactory):
    """Pickles each fitted SCM to ``base_dir`` (default: the Dagster instance's storage directory) at the asset
    key's path, where Dagster's own ``FilesystemIOManager`` keeps it (so fits it stored load unchanged).

    The difference is the metadata: Dagster's records the file's absolute path, a value the asset's Overview tab
    cannot wrap, so the scm asset's Metadata table grew wider than its box (801 px in a 756 px box in Chromium)
    and clipped the summary. This one records where the fit is as a short text that wraps. The file is written
    beside its final name and renamed, so a failed write leaves the previous fit whole."""

    base_dir: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        base = self.base_dir or (context.instance.storage_directory() if context.instance is not None else None)
        if not base:
            raise ValueError("FitStore needs base_dir when no Dagster instance is given (e.g. a direct invocation)")
        return _PickledFits(Path(base))


class _PickledFits(dg.IOManager):
    def __init__(self, base: Path):
        self.base = base

    def _path(self, key: dg.AssetKey) -> Path:
        return self.base.joinpath(*key.path)

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        import os
        import pickle

        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            with partial.open("wb") as f:
                pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        where = " / ".join(context.asset_key.path)
        context.add_output_metadata({"fit_stored": dg.MetadataValue.text(f"{where} (pickle, in {FIT_STORE_KEY})")})

    def load_input(self, context: dg.InputContext) -> object:
        import pickle

        key = context.asset_key
        path = self._path(key)
        if not path.exists():
            raise FileNotFoundError(
                f"no stored fit for {key.to_user_string()} at {path}: materialise {key.to_user_string()} first "
                f"(the {FIT_STORE_KEY} resource keeps it between runs)"
            )
        with path.open("rb") as f:
            return pickle.load(f)


def asset_resources(warehouse: WarehouseResource, **more: Any) -> dict[str, Any]:
    """The resources the ICI assets need, keyed as they ask for them: for :func:`dagster.materialize` of a few of
    them (tests, notebooks) as for the definitions."""
    return {"warehouse": warehouse, FIT_STORE_KEY: FitStore(), **more}
