"""Several backfill runs at once: the 20 region partitions on DuckDB (one-slot pool) and on PostgreSQL (no pool).

Same data in both warehouses (the demo generator, ``--regions`` x ``--days``), the dbt models built by dbt
in each (dbt-duckdb, dbt-postgres), the regions registered in a persistent Dagster instance whose pool
limit is 1. Then, per warehouse, the region partitions are split into ``--runs`` contiguous ranges and as
many ``dagster asset materialize`` processes are launched at once (as a team's schedules or backfills
would); on DuckDB their writer steps queue for the pool's one slot, on PostgreSQL nothing queues. With
``--runs 1`` the whole backfill is one run (fits fanned out to 2 local worker processes). Prints the wall
time from launch to the last run's end, and checks every partition's current rows (6 nodes, one run) and
the history (each run's partitions once). PostgreSQL: ``$PGHOST`` & co., else a private server in the
temp folder (fsync on, defaults otherwise).

    python benchmarks/bench_concurrent_runs.py                   # 20 regions x 730 days, 1 and 4 runs
    python benchmarks/bench_concurrent_runs.py --runs 1 2 4 --regions 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ENTRY = """\
import os

from ici_assets.component.build import build_definitions

defs = build_definitions(os.environ["ICI_DBT_PROJECT_DIR"], os.environ.get("ICI_BENCH_DUCKDB") or None)
"""
BY_REGION = "ici/marketing_nodes/shares_by_region"
INSTANCE = "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n"


def dbt_build(project: Path, target: str, env: dict) -> float:
    t0 = time.perf_counter()
    dbt = str(Path(sys.executable).parent / "dbt")
    cmd = [dbt, "build", "--project-dir", str(project), "--profiles-dir", str(project), "--target", target, "-q"]
    subprocess.run(cmd, env=env, check=True, cwd=project)
    return time.perf_counter() - t0


def concurrent_backfill(tmp: Path, env: dict, regions: list[str], n_runs: int) -> float:
    """Launch ``n_runs`` CLI runs over contiguous ranges of ``regions`` at once; wall time to the last end."""
    entry = tmp / "defs.py"
    entry.write_text(ENTRY)
    chunks = [regions[i * len(regions) // n_runs : (i + 1) * len(regions) // n_runs] for i in range(n_runs)]
    pool = {"ICI_COMPUTE_POOL": "local", "ICI_MAX_WORKERS": "2"} if n_runs == 1 else {"ICI_COMPUTE_POOL": "inline"}
    cli = str(Path(sys.executable).parent / "dagster")
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [cli, "asset", "materialize", "-f", str(entry), "--select", BY_REGION]
            + ["--partition-range", f"{chunk[0]}...{chunk[-1]}"],
            env={**env, **pool},
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for chunk in chunks
    ]
    outputs = [p.communicate()[0] for p in procs]
    wall = time.perf_counter() - t0
    failed = [o[-3000:] for p, o in zip(procs, outputs) if p.returncode != 0]
    assert not failed, "\n".join(failed)
    return wall


def check_rows(warehouse, regions: list[str], n_runs: int) -> str:
    """Every region's current shares: 6 nodes of one run; the history: each region once per round of runs."""
    from ici_assets.warehouse import SHARES, SHARES_HISTORY, Equals, Read

    where = (Equals("asset_key", BY_REGION),)
    cur = warehouse.read(Read(SHARES.relation, ("partition_key", "node", "run_id"), where))
    hist = warehouse.read(Read(SHARES_HISTORY.relation, ("partition_key", "run_id"), where))
    per = cur.groupby("partition_key").agg(n=("node", "size"), nodes=("node", "nunique"), runs=("run_id", "nunique"))
    assert sorted(per.index) == sorted(regions) and (per[["n", "nodes"]] == 6).all().all() and (per.runs == 1).all()
    assert len(hist) == 6 * len(regions) and hist["run_id"].nunique() == n_runs, (len(hist), hist["run_id"].nunique())
    return f"{len(regions)} partitions x 6 rows, {n_runs} run(s), history {len(hist)} rows: none lost or doubled"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()

    import dagster as dg

    from ici_assets.assets.resources import WarehouseResource
    from ici_assets.demo import generate_raw_tables, write_raw_tables
    from ici_assets.dev.pg_server import LocalPostgres

    tmp = Path(tempfile.mkdtemp(prefix="ici_bench_runs_"))
    server = None
    try:
        project = tmp / "dbt_project"
        shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
        duck_path = tmp / "warehouse.duckdb"
        env = {**os.environ, "ICI_DBT_PROJECT_DIR": str(project), "ICI_WAREHOUSE": str(duck_path)}
        if not os.environ.get("PGHOST"):
            # its own temp folder: the server's account (postgres, when we are root) cannot enter ``tmp``
            server = LocalPostgres(Path(tempfile.mkdtemp(prefix="ici_bench_pg_"))).start()
            env.update(server.env())
        os.environ.update(env)
        print(f"load average at the start: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores", flush=True)
        tables = generate_raw_tables(n_regions=args.regions, n_days=args.days)
        targets = {"duckdb": "dev", "postgres": "postgres"}
        warehouses = {k: WarehouseResource.for_dbt_target(project, target=t).get() for k, t in targets.items()}
        regions = sorted(tables["demand_index"]["region"].unique())
        results = []
        for kind, warehouse in warehouses.items():
            # raw tables and dbt build per warehouse, just before its rounds: the build leaves the manifest
            # of this target (it names the schema of the node table) for the runs to load
            t0 = time.perf_counter()
            write_raw_tables(warehouse, tables)
            raw_s = time.perf_counter() - t0
            print(
                f"{kind}: raw tables {raw_s:.1f} s, dbt build {dbt_build(project, targets[kind], env):.1f} s",
                flush=True,
            )
            for n_runs in args.runs:
                run_tmp = tmp / f"{kind}_{n_runs}"
                (run_tmp / "home").mkdir(parents=True)
                (run_tmp / "home" / "dagster.yaml").write_text(INSTANCE)
                with dg.DagsterInstance.from_config(str(run_tmp / "home")) as instance:
                    instance.add_dynamic_partitions("marketing_nodes__region", regions)
                run_env = {**env, "DAGSTER_HOME": str(run_tmp / "home")}
                if kind == "duckdb":
                    run_env["ICI_BENCH_DUCKDB"] = str(duck_path)
                else:
                    run_env["DBT_TARGET"] = "postgres"
                _drop_ici_schema(kind, duck_path, env)  # every round starts with nothing published
                wall = concurrent_backfill(run_tmp, run_env, regions, n_runs)
                checked = check_rows(warehouse, regions, n_runs)
                results.append((kind, n_runs, wall, checked))
                print(f"{kind}, {n_runs} run(s) at once: {wall:.1f} s ({checked})", flush=True)
        print(f"\n{'warehouse':<10}{'runs at once':>13}{'pool':>18}{'wall s':>9}")
        for kind, n_runs, wall, _ in results:
            pool = "duckdb_warehouse" if kind == "duckdb" else "none"
            print(f"{kind:<10}{n_runs:>13}{pool:>18}{wall:>9.1f}")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
        return 0
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _drop_ici_schema(kind: str, duck_path: Path, env: dict) -> None:
    if kind == "duckdb":
        import duckdb

        with duckdb.connect(str(duck_path)) as con:
            con.execute("DROP SCHEMA IF EXISTS ici CASCADE")
        return
    import psycopg

    with psycopg.connect(
        host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"], password=env["PGPASSWORD"], dbname=env["PGDATABASE"]
    ) as con:
        con.execute("DROP SCHEMA IF EXISTS ici CASCADE")


if __name__ == "__main__":
    sys.exit(main())
