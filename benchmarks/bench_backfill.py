"""Backfill at scale: 200 regions x 3 years of daily demo data, every monthly and region partition.

Writes the raw tables, builds the dbt models and the whole-period ICI (job ``ici_demo``), then
backfills all partitions of both partitioned jobs as parallel Dagster runs against one embedded
DuckDB file: on Dagster's multiprocess executor (writer steps serialised on the
``duckdb_warehouse`` pool), or with ``--executor dask`` on a local Dask cluster of ``--workers``
worker processes shared by all runs (steps wait for the DuckDB file lock instead).
Prints wall time per phase and peak memory (RSS of the whole process tree, sampled).

    python benchmarks/bench_backfill.py                      # 200 regions x 1095 days, 2 runs at a time
    python benchmarks/bench_backfill.py --regions 20 --days 730 --workers 3
    python benchmarks/bench_backfill.py --executor dask

Everything lives in a temporary folder (warehouse, DAGSTER_HOME, dbt project copy), removed at
the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


class TreeMemory:
    """Samples the RSS of this process and all its descendants (step subprocesses, forkserver
    children, Dask workers) every ``interval`` seconds; keeps the peak of their sum and the
    largest single process. (``getrusage(RUSAGE_CHILDREN)`` misses grandchildren.)"""

    def __init__(self, interval: float = 0.2):
        import psutil

        self._root, self._interval = psutil.Process(), interval
        self.peak_total = self.peak_single = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            rss = []
            for proc in [self._root, *self._root.children(recursive=True)]:
                try:
                    rss.append(proc.memory_info().rss)
                except psutil.Error:
                    pass
            self.peak_total = max(self.peak_total, sum(rss))
            self.peak_single = max(self.peak_single, max(rss))
            self._stop.wait(self._interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regions", type=int, default=200)
    parser.add_argument("--days", type=int, default=1095)
    parser.add_argument("--workers", type=int, default=2, help="concurrent partition runs (and Dask workers)")
    parser.add_argument("--executor", choices=["multiprocess", "dask"], default="multiprocess")
    parser.add_argument("--pool-limit", type=int, default=1, help="slots of the duckdb_warehouse pool")
    parser.add_argument(
        "--n-bootstrap", type=int, default=None, help="override the model's n_bootstrap (default: the dbt YAML's value)"
    )
    parser.add_argument("--max-partitions", type=int, default=None, help="backfill only the first N of each job")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ici_bench_"))
    try:
        project = tmp / "dbt_project"
        shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
        if args.n_bootstrap is not None:
            yml = next(p for p in project.rglob("*.yml") if "n_bootstrap: 200" in p.read_text())
            text = yml.read_text()
            assert "n_bootstrap: 200" in text, "the model's n_bootstrap line changed; update this script"
            yml.write_text(text.replace("n_bootstrap: 200", f"n_bootstrap: {args.n_bootstrap}"))
        home = tmp / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(
            f"concurrency:\n  pools:\n    default_limit: {args.pool_limit}\ntelemetry:\n  enabled: false\n"
        )
        os.environ.update(
            {
                "DAGSTER_HOME": str(home),
                "ICI_DBT_PROJECT_DIR": str(project),
                "ICI_WAREHOUSE": str(tmp / "warehouse.duckdb"),
                "ICI_EXECUTOR": args.executor,
            }
        )

        import contextlib

        import dagster as dg
        import duckdb

        from ici_assets import jobs
        from ici_assets.dbt import prepare_manifest
        from ici_assets.runner import backfill_parallel

        t0 = time.perf_counter()
        prepare_manifest(project)
        t_parse = time.perf_counter() - t0
        print(
            f"data: {args.regions} regions x {args.days} days = {args.regions * args.days:,} unit rows; "
            f"{args.workers} concurrent runs, executor {args.executor}"
            + (f", pool limit {args.pool_limit}" if args.executor == "multiprocess" else ""),
            flush=True,
        )
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        with contextlib.ExitStack() as stack:
            memory = stack.enter_context(TreeMemory())
            instance = stack.enter_context(dg.DagsterInstance.get())
            if args.executor == "dask":
                import distributed
                from ici_assets.executors import dask_run_config

                cluster = stack.enter_context(
                    distributed.LocalCluster(
                        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
                    )
                )
                exec_config = dask_run_config(cluster.scheduler_address)
            else:
                exec_config = jobs.multiprocess_run_config()
            t0 = time.perf_counter()
            demo_cfg = {
                **quiet,
                "ops": {"raw_marketing_tables": {"config": {"n_regions": args.regions, "n_days": args.days}}},
            }
            with dg.execute_job(
                dg.reconstructable(jobs.demo_job), instance=instance, run_config={**demo_cfg, **exec_config}
            ) as res:
                assert res.success, f"ici_demo run {res.run_id} failed"
            t_demo = time.perf_counter() - t0
            print(f"ici_demo (raw + dbt build + SCM + whole-period ICI): {t_demo:.1f} s", flush=True)

            timings = {}
            n_runs = 0
            for job_fn in (jobs.shares_by_month_job, jobs.shares_by_region_job):
                keys = job_fn().partitions_def.get_partition_keys(dynamic_partitions_store=instance)
                keys = keys[: args.max_partitions] if args.max_partitions else keys
                t0 = time.perf_counter()
                out = backfill_parallel(
                    [(job_fn, k) for k in keys], instance, workers=args.workers, run_config={**quiet, **exec_config}
                )
                timings[job_fn.__name__] = (len(keys), time.perf_counter() - t0)
                failed = [k for k, _, ok in out if not ok]
                assert not failed, f"{job_fn.__name__}: partitions failed: {failed[:5]}"
                n_runs += len(out)
                print(
                    f"{job_fn.__name__}: {len(keys)} partitions in {timings[job_fn.__name__][1]:.1f} s "
                    f"({timings[job_fn.__name__][1] / len(keys):.2f} s/partition)",
                    flush=True,
                )

        with duckdb.connect(os.environ["ICI_WAREHOUSE"], read_only=True) as con:
            groups = con.execute(
                "SELECT count(*), min(n), max(n) FROM (SELECT asset_key, partition_key, count(*) n "
                "FROM ici.ici_shares WHERE partition_key IS NOT NULL GROUP BY ALL)"
            ).fetchone()
            hist = con.execute(
                "SELECT count(DISTINCT run_id), count(*) FROM ici.ici_shares_history WHERE partition_key IS NOT NULL"
            ).fetchone()
            n_orders = con.execute("SELECT count(*) FROM raw.orders").fetchone()[0]
        assert groups == (n_runs, 6, 6), groups
        assert hist == (n_runs, 6 * n_runs), hist
        total = t_parse + t_demo + sum(t for _, t in timings.values())
        print()
        print(f"{'phase':<28}{'partitions':>11}{'wall s':>9}")
        print(f"{'dbt parse':<28}{'':>11}{t_parse:>9.1f}")
        print(f"{'ici_demo (raw+dbt+ICI)':<28}{'':>11}{t_demo:>9.1f}")
        for name, (n, t) in timings.items():
            print(f"{name:<28}{n:>11}{t:>9.1f}")
        print(f"{'total':<28}{n_runs:>11}{total:>9.1f}")
        print(f"raw.orders: {n_orders:,} rows")
        print(
            f"peak RSS (sampled every 0.2 s): all processes together {memory.peak_total / 2**20:,.0f} MB, "
            f"largest single process {memory.peak_single / 2**20:,.0f} MB"
        )
        print(
            f"checked: {groups[0]} (asset, partition) groups x 6 nodes in ici.ici_shares; "
            f"{hist[0]} runs x 6 rows in ici.ici_shares_history"
        )
        return 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
