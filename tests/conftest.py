"""Shared fixtures: a parsed dbt manifest and materialised temporary warehouses.

Tiers (markers registered in pyproject.toml): every test that needs one of the dbt-backed fixtures
below is marked ``slow`` here, so ``make test-fast`` (``-m "not slow and not browser and not
cluster"``) never pays for a dbt parse or a materialisation.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

#: PostgreSQL fixtures (pg_server, pg_demo, pg_clone): tests/postgres_fixtures.py.
pytest_plugins = ["tests.postgres_fixtures"]

REPO = Path(__file__).resolve().parent.parent
DBT_DIR = REPO / "dbt_project"


#: A code location file for Dagster's CLIs and webserver: the definitions of the dbt project and
#: warehouse named by the environment (see :func:`code_location`).
ENTRY = """\
import os
from ici_assets.demo.location import build_demo_definitions

defs = build_demo_definitions(os.environ["ICI_DBT_PROJECT_DIR"], os.environ["ICI_WAREHOUSE"])
"""
INSTANCE_YAML = "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n"


def code_location(tmp: Path, project: Path, warehouse: Path, extra_yaml: str = "") -> tuple[Path, dict[str, str]]:
    """A persistent Dagster home (one-slot warehouse pool) and a definitions file under ``tmp``;
    returns the file and the environment that points Dagster's processes at them."""
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML + extra_yaml)
    entry = tmp / "defs.py"
    entry.write_text(ENTRY)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ICI_DBT_PROJECT_DIR": str(project),
        "ICI_WAREHOUSE": str(warehouse),
    }
    return entry, env


SLOW_FIXTURES = {
    "dbt_project_copy",
    "demo_run",
    "demo_backfill",
    "small_base",
    "parsed_variants",
    "pg_demo",
    "pg_clone",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def model_chain(defs, *models: str) -> list:
    """The whole-period ICI assets of the named models (but their reports, ``ici_reports``'s) and everything
    upstream of them (raw tables, dbt models): what a test about those models needs to run in ``ici_demo``,
    without the other models' fits."""
    import dagster as dg

    from ici_assets.assets.args import PARTITIONED_TAG
    from ici_assets.demo.raw_assets import REPORTS

    own = dg.AssetSelection.key_prefixes(*[["ici", m] for m in models]) - dg.AssetSelection.tag(PARTITIONED_TAG, "")
    own = own - REPORTS
    return sorted(own.upstream().required_multi_asset_neighbors().resolve(defs.resolve_asset_graph()))


def copy_dbt_project(dest: Path) -> Path:
    """A copy of the repo's dbt project without build artefacts (so tests can edit it)."""
    shutil.copytree(DBT_DIR, dest, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return dest


@pytest.fixture(scope="session")
def dbt_project_copy(tmp_path_factory) -> Path:
    """The demo dbt project, copied and parsed (``prepare_if_dev`` does nothing under pytest)."""
    from ici_assets.component.manifest import prepare_manifest

    project = copy_dbt_project(tmp_path_factory.mktemp("dbt") / "dbt_project")
    prepare_manifest(project)
    return project


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, dbt_project_copy):
    """Materialise every demo asset once into a temporary warehouse; shared by the e2e tests."""
    import dagster as dg

    warehouse = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    from ici_assets.demo.location import build_demo_definitions

    defs = build_demo_definitions(dbt_project_copy, warehouse)
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("ici_demo").execute_in_process(instance=instance, raise_on_error=False)
    return {"result": result, "warehouse": warehouse, "defs": defs, "instance": instance}


@pytest.fixture(scope="session")
def demo_backfill(tmp_path_factory, demo_run, dbt_project_copy):
    """Every partition of each partitioned job in one run per job, on a copy of the warehouse the e2e run built
    (so the e2e tests see the whole-period results alone, whatever the order the tests run in)."""
    from ici_assets.component.build import build_definitions
    from ici_assets.dev.runner import partition_jobs, range_tags

    warehouse = tmp_path_factory.mktemp("backfill") / "warehouse.duckdb"
    shutil.copy(demo_run["warehouse"], warehouse)
    defs, instance = build_definitions(dbt_project_copy, warehouse), demo_run["instance"]
    runs = {}
    for job in partition_jobs(defs):
        keys = job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        runs[job.name] = (keys, job.execute_in_process(instance=instance, tags=range_tags(keys), raise_on_error=False))
    return {**demo_run, "defs": defs, "warehouse": warehouse, "runs": runs}


@pytest.fixture(scope="session")
def backfill_reports(demo_backfill):
    """make demo's last run, ``ici_reports``, after the backfill: every model's report, with the months the
    partitions published (shared by the report tests and the report's browser test)."""
    import dagster as dg

    from ici_assets.demo.raw_assets import ICI_REPORTS_JOB

    defs = dg.Definitions.merge(demo_backfill["defs"], dg.Definitions(jobs=[ICI_REPORTS_JOB]))
    result = defs.resolve_job_def("ici_reports").execute_in_process(instance=demo_backfill["instance"])
    return {**demo_backfill, "reports": result}


#: Both demo models small: 5 regions x 200 days of the marketing shop, 4 regions x 2 years of the media shop.
SMALL_RUN = {
    "ops": {
        "raw_marketing_tables": {"config": {"n_regions": 5, "n_days": 200}},
        "raw_media_tables": {"config": {"n_regions": 4}},
    }
}


@pytest.fixture(scope="session")
def small_base(tmp_path_factory, dbt_project_copy):
    """A small materialised warehouse (5 regions x 200 days); tests work on copies of the file."""
    import dagster as dg

    warehouse = tmp_path_factory.mktemp("small") / "base.duckdb"
    from ici_assets.demo.location import build_demo_definitions

    defs = build_demo_definitions(dbt_project_copy, warehouse)
    assert (
        defs.resolve_job_def("ici_demo")
        .execute_in_process(run_config=SMALL_RUN, instance=dg.DagsterInstance.ephemeral())
        .success
    )
    return dbt_project_copy, warehouse


@pytest.fixture(scope="session")
def parsed_variants(tmp_path_factory) -> dict[str, Path]:
    """A parsed copy of the dbt project per YAML variant of tests/variants.py (parses run side by side)."""
    from concurrent.futures import ThreadPoolExecutor

    from ici_assets.component.manifest import prepare_manifest
    from tests.variants import ALL_VARIANTS

    projects = {}
    for name, (edit, files) in ALL_VARIANTS.items():
        project = copy_dbt_project(tmp_path_factory.mktemp(f"variant_{name}") / "dbt_project")
        marts = project / "models" / "marts"
        if edit is not None:
            text = (marts / "_marts.yml").read_text()
            assert edit(text) != text, f"variant {name}: the edit no longer matches the YAML"
            (marts / "_marts.yml").write_text(edit(text))
        for file, content in files.items():
            (marts / file).write_text(content)
        projects[name] = project
    with ThreadPoolExecutor(max_workers=len(projects)) as pool:
        list(pool.map(prepare_manifest, projects.values()))
    return projects
