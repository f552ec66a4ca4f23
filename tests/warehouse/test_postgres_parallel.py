"""Partition runs at once on PostgreSQL, with no concurrency pool: three runs in separate processes over
overlapping region partitions publish at the same time, into one Dagster instance, and no row is lost or
doubled. (Each process loads the definitions and runs in process, as a run worker does, without the CLI's
extra step process.)"""

from __future__ import annotations

import multiprocessing
import sys

import dagster as dg
import pytest

from tests.conftest import INSTANCE_YAML
from tests.postgres_fixtures import environment

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def run_at_once(project: str, home: str, selections: list[list[str]]) -> None:
    """Load the definitions once, then fork one process per selection, each running the region job over its
    keys at the same moment; exit code 0 when every run succeeded. (Forked before any run, from a process
    with no threads yet: each run starts in a second instead of reloading Dagster, dbt and the engine.)"""
    import os

    from ici_assets.component.build import build_definitions
    from ici_assets.dev.runner import partition_jobs, range_tags
    from tests.postgres_fixtures import INLINE

    defs = build_definitions(project, target="postgres")
    (job,) = [j for j in partition_jobs(defs) if "region" in j.name]
    children = []
    for keys in selections:
        pid = os.fork()
        if pid == 0:
            try:
                with dg.DagsterInstance.from_config(home) as instance:
                    tags = range_tags(keys)
                    result = job.execute_in_process(
                        instance=instance, tags=tags, run_config=INLINE, raise_on_error=False
                    )
                os._exit(0 if result.success else 1)
            except BaseException:
                os._exit(2)
        children.append(pid)
    codes = [os.waitpid(pid, 0)[1] for pid in children]
    sys.exit(0 if all(c == 0 for c in codes) else 1)


def test_concurrent_partition_runs_lose_and_double_nothing(pg_server, pg_demo, pg_clone, tmp_path):
    with pg_server.admin(pg_clone) as con:  # start with no partition published
        for t in ("ici_shares", "ici_shares_history"):
            con.execute(f"DELETE FROM ici.{t} WHERE partition_key IS NOT NULL")
        regions = [r for (r,) in con.execute("SELECT DISTINCT region FROM public.marketing_nodes ORDER BY 1")]
    assert len(regions) == 5
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)  # a pool limit of 1 exists, but no asset is in a pool
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("marketing_nodes__region", regions)
    selections = [regions[0:3], regions[2:5], regions[2:3]]
    spawn = multiprocessing.get_context("spawn")
    with environment(pg_server.env(pg_clone)):  # the runs render the dbt target from it
        process = spawn.Process(target=run_at_once, args=(str(pg_demo["project"]), str(home), selections))
        process.start()
        process.join(timeout=300)
    assert process.exitcode == 0

    with pg_server.admin(pg_clone) as con:
        current = con.execute(
            "SELECT partition_key, count(*), count(DISTINCT node), count(DISTINCT run_id) FROM ici.ici_shares "
            "WHERE partition_key IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        history = dict(
            con.execute(
                "SELECT partition_key, count(*) FROM ici.ici_shares_history WHERE partition_key IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
    assert current == [(r, 6, 6, 1) for r in regions]  # one current set per partition: none lost, none doubled
    assert history == {regions[0]: 6, regions[1]: 6, regions[2]: 18, regions[3]: 6, regions[4]: 6}  # 3 runs did r2

    with dg.DagsterInstance.from_config(str(home)) as instance:
        spans = []
        for run in instance.get_runs():
            events = [e for e in instance.all_logs(run.run_id) if e.dagster_event]
            start = next(e.timestamp for e in events if e.dagster_event.event_type == dg.DagsterEventType.STEP_START)
            end = next(e.timestamp for e in events if e.dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS)
            spans.append((start, end))
    spans.sort()
    assert len(spans) == 3 and any(b[0] < a[1] for a, b in zip(spans, spans[1:]))  # writer steps ran at once
