"""PostgreSQL for the tests (a pytest plugin loaded by conftest.py): one server per session, and the demo
materialised on it once.

With ``ICI_TEST_POSTGRES_DSN`` set (a role that may create databases and roles, on a throwaway server)
the tests use that server. Otherwise they start a private one from the distribution's packages
(``make postgres-server`` installs them): its own data folder in the temp folder, 127.0.0.1 on a free
port, run as the ``postgres`` system user when we are root, stopped and removed at the end. Each test
module works in databases of its own; ``pg_demo`` is the demo materialised once through dbt-postgres,
and ``pg_clone`` copies it (``CREATE DATABASE ... TEMPLATE``) for tests that change it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DSN_ENV = "ICI_TEST_POSTGRES_DSN"
#: Set by `make test`: the PostgreSQL tests fail rather than skip when no server can be started.
REQUIRE_ENV = "ICI_REQUIRE_POSTGRES"
PG_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


@dataclass
class PgServer:
    """A server the tests may use: an admin role (creates databases and roles) and the role the assets use."""

    host: str
    port: int
    admin_user: str
    admin_password: str
    user: str
    password: str

    def admin(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.admin_user, password=self.admin_password, dbname=dbname,
            autocommit=True,
        )  # fmt: skip

    def conninfo(self, dbname: str, **override: object) -> dict:
        info = {"host": self.host, "port": self.port, "user": self.user, "password": self.password, "dbname": dbname}
        return {**info, **override}

    def env(self, dbname: str) -> dict[str, str]:
        """The variables the demo's dbt profile (target ``postgres``) reads."""
        return dict(zip(PG_VARS, (self.host, str(self.port), self.user, self.password, dbname)))

    def fresh_database(self, name: str, template: str | None = None) -> str:
        """An empty database ``name`` owned by the assets' role (or a copy of ``template``), replacing any."""
        from psycopg import sql

        with self.admin() as con:
            con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            create = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(self.user))
            if template:
                create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            con.execute(create)
        return name

    def warehouse(self, dbname: str, **override: object):
        from ici_assets.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse(self.conninfo(dbname, **override), origin="test server")


def environment(values: dict[str, str]) -> contextlib.AbstractContextManager[None]:
    """Set environment variables (dbt renders the profile from them in subprocesses too), restore after."""
    from ici_assets.component.project import scoped_env  # dagster-dbt loads only when a test needs it

    return scoped_env(values)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    dsn = os.environ.get(DSN_ENV)
    if dsn:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(dsn)
        user, password = str(info.get("user", "")), str(info.get("password", ""))
        host, port = str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))
        yield PgServer(host, port, user, password, user, password)
        return
    from ici_assets.dev.pg_server import ADMIN_PASSWORD, ADMIN_USER, PASSWORD, USER, LocalPostgres, bin_dir

    if bin_dir() is None:
        message = f"no PostgreSQL server: `make postgres-server` installs one (apt), or set {DSN_ENV}"
        if os.environ.get(REQUIRE_ENV):  # `make test` installed it: its absence is a failure, not a skip
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="ici-pg-test-"))  # not pytest's tmp: the server's account cannot enter it
    server = LocalPostgres(root, fast=True).start()
    try:
        yield PgServer("127.0.0.1", server.port, ADMIN_USER, ADMIN_PASSWORD, USER, PASSWORD)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


PG_DEMO_DB = "ici_demo_e2e"
#: Partitions run on both warehouses: all 5 regions, and the two months the 200 days cover.
MONTHS = ("2024-06-01", "2024-07-01")
#: The media model's change attribution: the month its social click-through halves.
CHANGE_MONTHS = ("2025-03-01",)
INLINE = {"resources": {"compute_pool": {"config": {"kind": "inline"}}}}


@pytest.fixture(scope="session")
def pg_demo(pg_server, tmp_path_factory):
    """The demo (5 regions x 200 days, as ``small_base``) materialised once through dbt-postgres: raw tables,
    dbt build, SCM, shares, comparison, then every region partition and two months, one run each, then the
    reports (``ici_reports``), as ``make demo`` runs them."""
    import dagster as dg

    from ici_assets.component.manifest import prepare_manifest
    from ici_assets.demo.location import build_demo_definitions
    from tests.conftest import SMALL_RUN, copy_dbt_project

    db = pg_server.fresh_database(PG_DEMO_DB)
    with environment(pg_server.env(db)):
        project = copy_dbt_project(tmp_path_factory.mktemp("pg_dbt") / "dbt_project")
        prepare_manifest(project, target="postgres")
        defs = build_demo_definitions(project, target="postgres")
        instance = dg.DagsterInstance.ephemeral()
        result = defs.resolve_job_def("ici_demo").execute_in_process(
            run_config=SMALL_RUN, instance=instance, raise_on_error=False
        )
        runs, reports = {}, None
        if result.success:
            runs = run_partitions(defs, instance)
            from ici_assets.demo.raw_assets import ICI_REPORTS_JOB

            job = dg.Definitions.merge(defs, dg.Definitions(jobs=[ICI_REPORTS_JOB])).resolve_job_def("ici_reports")
            reports = job.execute_in_process(instance=instance, raise_on_error=False)
    yield {
        "result": result,
        "reports": reports,
        "defs": defs,
        "instance": instance,
        "db": db,
        "project": project,
        "runs": runs,
    }


def run_partitions(defs, instance) -> dict:
    """Each partitioned job once over its partitions (regions: all; months: ``MONTHS``; changes: ``CHANGE_MONTHS``),
    inline compute pool."""
    from ici_assets.dev.runner import partition_jobs, range_tags

    runs = {}
    for job in partition_jobs(defs):
        keys = job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        if "change_attribution" in job.name:
            keys = [k for k in keys if k in CHANGE_MONTHS]
        elif "month" in job.name:
            keys = [k for k in keys if k in MONTHS]
        runs[job.name] = (keys, job.execute_in_process(
            instance=instance, tags=range_tags(keys), run_config=INLINE, raise_on_error=False
        ))  # fmt: skip
    return runs


@pytest.fixture
def pg_clone(pg_server, pg_demo, request) -> str:
    """A copy of the materialised demo database, for a test that changes it."""
    name = "clone_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    return pg_server.fresh_database(name, template=pg_demo["db"])
