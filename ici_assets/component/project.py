"""``ici_assets.IciDbtProjectComponent``: a dbt project's models, and the ICI assets of each model with an ``ici`` meta.

Built on dagster-dbt's ``DbtProjectComponent``: one ``defs.yaml`` gives the dbt models (tests as asset
checks, ``translation:``, ``select:``...) plus, for every model whose YAML carries an ``ici`` meta, its
ICI assets, the ``warehouse`` and ``compute_pool`` resources and jobs named after the model::

    type: ici_assets.IciDbtProjectComponent
    attributes:
      project: "{{ context.project_root }}/dbt"      # or {project_dir, profiles_dir, profile, target}
      ici_defaults: {n_bootstrap: 200, time_grain: week}
      compute_pool: {kind: local, max_workers: 2}
      automation: {monthly: "0 6 1 * *", sensor_interval_seconds: 30}
      warehouse_lock_wait_seconds: 120

The warehouse is the dbt profile target's (rendered by dbt), so both sides use one file. The
manifest is prepared in development (``dg`` commands, ``dagster dev``) as dagster-dbt does, and
again whenever it is missing or older than the project's files, in any process.

dagster-dbt's public surface is used wherever it has one (``project``, ``dbt_project``, ``get_asset_spec``,
``get_asset_check_spec``, ``execute``, ``build_defs_from_state``). This module is the one place that reaches
past it, written against dagster-dbt 0.29.27 and held by ``tests/component/test_dagster_dbt_contract.py``,
which fails loudly when any of these changes upstream:

- ``DbtProjectComponent._get_op_spec(project)``: the dbt step's pool (no public hook: ``op`` takes an
  ``OpSpec``, which neither package exports);
- ``dagster_dbt.dbt_project_manager.DbtProjectArgsManager``: the type ``project:`` resolves to (its
  ``profiles_dir`` is completed in dbt's own order);
- ``AssetCheckSpec._replace``: a dbt test's check with a description (namedtuple-style copy);
- the metadata key ``dagster_dbt/project`` (``dagster_dbt.asset_utils.DAGSTER_DBT_PROJECT_METADATA_KEY``,
  not exported).
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, DbtProjectComponent
from dagster_dbt.dbt_project_manager import DbtProjectArgsManager

from ici_assets.assets.factory import IciModel, ici_definitions, ici_models
from ici_assets.assets.resources import DEFAULT_LOCK_WAIT_SECONDS, ComputePoolResource, WarehouseResource
from ici_assets.component.attributes import Automation, ComputePool, IciDefaults, model_attribute, validate_attribute
from ici_assets.component.dbt_cli import ensure_dbt_on_path
from ici_assets.component.dbt_tests import describe_dbt_test
from ici_assets.component.manifest import ensure_manifest
from ici_assets.component.row_counts import with_row_counts
from ici_assets.compute import PoolSettings
from ici_assets.spec.automation import AutomationSettings
from ici_assets.spec.meta import IciSettings
from ici_assets.warehouse.dbt_target import resolve_profiles_dir

MODEL_TYPES = ("model", "seed", "snapshot")
PROJECT_KEY = "dagster_dbt/project"  # dagster_dbt.asset_utils.DAGSTER_DBT_PROJECT_METADATA_KEY (not exported)


@contextmanager
def scoped_env(extra: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block (dbt reads its env_var()s from the environment)."""
    previous = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class IciDbtProjectComponent(DbtProjectComponent):
    """A dbt project's models as assets, and the intrinsic-causal-influence assets of every model with an
    ``ici`` meta (graph in the model's YAML), with their resources and per-model jobs."""

    ici_defaults: Annotated[
        IciDefaults,
        model_attribute(
            IciSettings,
            "ici_defaults",
            description="Settings every model's `ici` meta gets unless it sets them itself "
            "(time_grain, mechanisms, n_bootstrap, seed, checks).",
            examples=[{"time_grain": "week", "n_bootstrap": 200, "checks": {"min_r2": 0.2}}],
        ),
    ] = None
    compute_pool: Annotated[
        ComputePool,
        model_attribute(
            PoolSettings,
            "compute_pool",
            description="Where partitioned assets fit their partitions (default: $ICI_COMPUTE_POOL, "
            "$ICI_DASK_SCHEDULER, $ICI_MAX_WORKERS, else local processes, one per core).",
            examples=[{"kind": "dask", "scheduler_address": "tcp://scheduler:8786"}],
        ),
    ] = None
    automation: Annotated[
        Automation,
        model_attribute(
            AutomationSettings,
            "automation",
            description="When the ICI assets materialise by themselves (every model's defaults, overridden by its "
            "`ici` meta's automation block), and the sensor the daemon evaluates them with.",
            examples=[{"whole_period": "eager", "monthly": "0 6 1 * *", "sensor_interval_seconds": 30}],
        ),
    ] = None
    warehouse_lock_wait_seconds: Annotated[
        float,
        dg.Resolver.default(
            description="Seconds a step waits for another process's lock (the DuckDB file, or a table another run "
            "is publishing on a server) before failing."
        ),
    ] = DEFAULT_LOCK_WAIT_SECONDS
    reports_dir: Annotated[
        str | None,
        dg.Resolver.default(
            description="Folder the models' HTML reports (`ici/<model>/report`) are written to. Default: a "
            "`reports/` folder beside the DuckDB warehouse; required when the warehouse is a server.",
            examples=["{{ context.project_root }}/reports"],
        ),
    ] = None
    prepare_if_dev: Annotated[
        bool,
        dg.Resolver.default(
            description="Also run `dbt parse` on every load in development (dg commands, dagster dev), as "
            "dagster-dbt's component does; off by default: the manifest is re-prepared whenever it is missing "
            "or older than the project's files (prepare_if_stale), in any process."
        ),
    ] = False
    prepare_if_stale: Annotated[
        bool,
        dg.Resolver.default(
            description="Run `dbt parse` when the manifest is missing or older than the project's files "
            "(false: refuse to load, saying which file changed)."
        ),
    ] = True
    dbt_env: Annotated[
        dict[str, str],
        dg.Resolver.default(
            description="Environment variables set for dbt (its runs, its parse and the profile's env_var()s).",
            examples=[{"ICI_WAREHOUSE": "{{ context.project_root }}/data/warehouse.duckdb"}],
        ),
    ] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ensure_dbt_on_path()
        if self.ici_defaults is not None:  # built in Python, perhaps with a plain mapping
            self.ici_defaults = validate_attribute(IciSettings, self.ici_defaults, "ici_defaults")
        if self.compute_pool is not None:
            self.compute_pool = validate_attribute(PoolSettings, self.compute_pool, "compute_pool")
        if self.automation is not None:
            self.automation = validate_attribute(AutomationSettings, self.automation, "automation")
        manager = self.project
        if isinstance(manager, DbtProjectArgsManager) and not manager.args.profiles_dir:
            # dbt's own order (DBT_PROFILES_DIR, the project folder, the current folder, ~/.dbt), not only
            # the project folder (DbtProject's default).
            profiles = resolve_profiles_dir(Path(manager.args.project_dir))
            self.project = replace(manager, args=replace(manager.args, profiles_dir=str(profiles)))

    @property
    def source_project(self) -> DbtProject:
        """The dbt project in its own folder, where dbt runs (relative paths of profiles.yml resolve there)."""
        return self.dbt_project

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        if isinstance(self.project, DbtProject):  # built in Python: no defs state
            return self.build_defs_from_state(context, None)
        return super().build_defs(context)

    def build_defs_from_state(self, context: dg.ComponentLoadContext, state_path: Path | None) -> dg.Definitions:
        manager = self.project
        local = isinstance(manager, (DbtProject, DbtProjectArgsManager))  # a folder on this machine
        project = self.source_project if local or isinstance(manager, DbtProject) else manager.get_project(state_path)
        self._built_project = project
        with scoped_env(self.dbt_env):
            manifest = ensure_manifest(project, prepare=self.prepare_if_stale)
        warehouse = self._warehouse(project)
        self._counted = (manifest["nodes"], warehouse)  # for the dbt step's row counts
        dbt_defs = super().build_defs_from_state(context, None if local else state_path)

        def key_for(unique_id: str) -> dg.AssetKey:
            return self.translator.get_asset_spec(manifest, unique_id, project).key

        def owned(model: IciModel) -> IciModel:
            dbt_spec = self.translator.get_asset_spec(manifest, model.spec.unique_id, project)
            tags = {k: v for k, v in dbt_spec.tags.items() if not k.startswith("dagster/")}  # not its kinds
            return replace(model, owners=tuple(dbt_spec.owners), tags=tags)

        nodes = manifest["nodes"]
        dbt_keys = {key_for(uid) for uid, p in nodes.items() if p.get("resource_type") in MODEL_TYPES}
        defaults = self.ici_defaults.model_dump(exclude_unset=True) if self.ici_defaults else {}
        if self.automation is not None and self.automation.model_defaults():
            defaults["automation"] = self.automation.model_defaults()
        ici = ici_definitions(
            [owned(m) for m in ici_models(manifest, key_for, defaults or None)],
            dbt_keys,
            warehouse=warehouse.model_copy(update={"wait_seconds": self.warehouse_lock_wait_seconds}),
            compute_pool=ComputePoolResource.of(self.compute_pool or PoolSettings.from_env()),
            automation=self.automation,
            sensor_name=f"ici_automation__{manifest.get('metadata', {}).get('project_name') or 'dbt'}",
            reports_dir=self.reports_dir,
        )
        return dg.Definitions.merge(dbt_defs, ici)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        """dagster-dbt's spec; a model with no group of its own is grouped by its folder (staging, marts...).

        The ``dagster_dbt/project`` entry is dropped: the UI shows it as an unserialisable metadata line, and
        dagster-dbt reads it only to copy the project for selections of over 200 models; its run-time lookups then
        pass no project, and get the one the definitions were built from (code references need it)."""
        spec = super().get_asset_spec(manifest, unique_id, project or getattr(self, "_built_project", None))
        if PROJECT_KEY in spec.metadata:
            spec = spec.replace_attributes(metadata={k: v for k, v in spec.metadata.items() if k != PROJECT_KEY})
        props = self.get_resource_props(manifest, unique_id)
        fqn = props.get("fqn") or []
        if spec.group_name in (None, "default") and props.get("resource_type") in MODEL_TYPES and len(fqn) > 2:
            return spec.replace_attributes(group_name=fqn[1])
        return spec

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetCheckSpec | None:
        """dagster-dbt's check of a dbt test, described (dbt's description, else what the test asserts)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_dbt_test(manifest["nodes"][unique_id]))

    def _get_op_spec(self, project: DbtProject):
        """The dbt step writes the warehouse: on an embedded DuckDB file one writer at a time (the pool), on a
        server no pool; ``op.pool`` overrides."""
        spec = super()._get_op_spec(project)
        if spec.pool:
            return spec
        pool = self._warehouse(project).pool
        return spec.model_copy(update={"pool": pool}) if pool else spec

    def _warehouse(self, project: DbtProject) -> WarehouseResource:
        """The warehouse of the dbt profile target this project builds in (rendered with ``dbt_env`` set)."""
        with scoped_env(self.dbt_env):
            return WarehouseResource.for_dbt_target(
                project.project_dir, profiles_dir=project.profiles_dir, profile=project.profile, target=project.target
            )

    def execute(self, context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
        """dbt's events, once the command has ended, each table's with its row count
        (:mod:`ici_assets.component.row_counts`); the events of the models built before a failure are
        released (counted) before the failure is raised."""
        held: list = []
        failure: Exception | None = None
        with scoped_env(self.dbt_env):
            try:
                for event in super().execute(context, dbt):
                    held.append(event)
            except Exception as exc:  # noqa: BLE001 - raised again below, after what dbt did build
                failure = exc
        nodes, warehouse = self._counted
        yield from with_row_counts(held, nodes, warehouse.get(), context.log)
        if failure is not None:
            raise failure
