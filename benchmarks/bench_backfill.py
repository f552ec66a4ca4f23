"""Backfill at scale: 200 regions x 3 years of daily demo data, every monthly and region partition.

Writes the raw tables, builds the dbt models and the whole-period ICI (job ``ici_demo``), then
backfills all partitions of both partitioned assets the way Dagster does with
``BackfillPolicy.single_run()``: one run per asset over all its partitions, whose step fans the
per-partition fits out to the compute pool. ``--pool local`` uses local worker processes,
``--pool dask`` a local Dask cluster of ``--workers`` worker processes (through the
``compute_pool`` resource, as a remote cluster would be), ``--pool both`` runs the backfill twice
on the same warehouse, local processes first. Prints wall time per phase (and, inside each
backfill run, reading, computing and publishing) and peak memory of the whole process tree.

    python benchmarks/bench_backfill.py                       # 200 regions x 1095 days, local processes
    python benchmarks/bench_backfill.py --pool both           # ... and again on a 2-worker Dask cluster
    python benchmarks/bench_backfill.py --regions 20 --days 730

Everything lives in a temporary folder (warehouse, dbt project copy), removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: Figures of the per-partition-run path this replaces (README before issue 14, same machine, quiet):
#: 19 monthly + 200 region partitions as separate runs, two at a time.
OLD_PATH = {"multiprocess executor": 1_486.0, "Dask executor (dagster-dask)": 450.0}


class TreeMemory:
    """Samples the RSS of this process and all its descendants (pool workers, Dask workers, the dbt
    subprocess) every ``interval`` seconds; keeps the peak of their sum and the largest process."""

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
                with contextlib.suppress(psutil.Error):
                    rss.append(proc.memory_info().rss)
            self.peak_total = max(self.peak_total, sum(rss))
            self.peak_single = max(self.peak_single, max(rss))
            self._stop.wait(self._interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def backfill(defs, instance, pool_config: dict, quiet: dict) -> list[tuple[str, int, float, dict]]:
    """One single run per partitioned job over all its partitions; (job, partitions, wall s, step phases)."""
    from ici_assets.assets.fanout import logged_worker_pids
    from ici_assets.dev.runner import partition_jobs, range_tags

    out = []
    for job in partition_jobs(defs):
        keys = job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        t0 = time.perf_counter()
        result = job.execute_in_process(
            instance=instance, tags=range_tags(keys), run_config={**quiet, **pool_config}, raise_on_error=False
        )
        wall = time.perf_counter() - t0
        assert result.success, f"{job.name} failed"
        mats = result.get_asset_materialization_events()
        assert sorted(e.partition for e in mats) == sorted(keys), f"{job.name}: not every partition once"
        last = next(e.materialization.metadata for e in mats if "seconds/read" in e.materialization.metadata)
        phases = {k.split("/")[1]: v.value for k, v in last.items() if k.startswith("seconds/")}
        phases["workers"] = len(logged_worker_pids(instance, result.run_id))
        out.append((job.name.replace("ici__marketing_nodes__", "").replace("_job", ""), len(keys), wall, phases))
        print(f"{out[-1][0]}: {len(keys)} partitions in {wall:.1f} s (step: {phases})", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regions", type=int, default=200)
    parser.add_argument("--days", type=int, default=1095)
    parser.add_argument("--workers", type=int, default=2, help="local worker processes / Dask workers")
    parser.add_argument("--pool", choices=["local", "dask", "both"], default="local")
    parser.add_argument("--n-bootstrap", type=int, default=None, help="override the model's n_bootstrap (YAML: 200)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ici_bench_"))
    try:
        project = tmp / "dbt_project"
        shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
        if args.n_bootstrap is not None:
            yml = project / "models" / "marts" / "_marts.yml"
            text = yml.read_text()
            assert "n_bootstrap: 200" in text, "the model's n_bootstrap line changed; update this script"
            yml.write_text(text.replace("n_bootstrap: 200", f"n_bootstrap: {args.n_bootstrap}"))
        os.environ["ICI_WAREHOUSE"] = str(tmp / "warehouse.duckdb")

        import dagster as dg
        import duckdb

        from ici_assets.component.manifest import prepare_manifest
        from ici_assets.demo.location import build_demo_definitions

        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        print(
            f"data: {args.regions} regions x {args.days} days = {args.regions * args.days:,} unit rows; "
            f"pool: {args.pool}, {args.workers} workers; load: {os.getloadavg()[0]:.2f} (1-min average)",
            flush=True,
        )
        phases: list[tuple[str, int | str, float]] = []
        with contextlib.ExitStack() as stack:
            memory = stack.enter_context(TreeMemory())
            t0 = time.perf_counter()
            prepare_manifest(project)
            phases.append(("dbt parse", "", time.perf_counter() - t0))
            defs = build_demo_definitions(project, tmp / "warehouse.duckdb")
            instance = stack.enter_context(dg.DagsterInstance.ephemeral())
            raw = {"ops": {"raw_marketing_tables": {"config": {"n_regions": args.regions, "n_days": args.days}}}}
            t0 = time.perf_counter()
            demo = defs.resolve_job_def("ici_demo").execute_in_process(instance=instance, run_config={**quiet, **raw})
            assert demo.success
            phases.append(("ici_demo (raw+dbt+ICI)", "", time.perf_counter() - t0))
            print(f"ici_demo (raw + dbt build + SCM + whole-period ICI): {phases[-1][2]:.1f} s", flush=True)

            pools = ["local", "dask"] if args.pool == "both" else [args.pool]
            details = {}
            for kind in pools:
                config: dict = {"kind": kind, "max_workers": args.workers}
                if kind == "dask":
                    import distributed

                    cluster = stack.enter_context(
                        distributed.LocalCluster(
                            n_workers=args.workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
                        )
                    )
                    config = {"kind": "dask", "scheduler_address": cluster.scheduler_address}
                runs = backfill(defs, instance, {"resources": {"compute_pool": {"config": config}}}, quiet)
                details[kind] = runs
                for name, n, wall, _ in runs:
                    phases.append((f"{name} [{kind}]", n, wall))
                shares = [r for r in runs if "shares_by" in r[0]]  # the media model's change attribution is apart
                phases.append((f"all share partitions [{kind}]", sum(r[1] for r in shares), sum(r[2] for r in shares)))

        with duckdb.connect(os.environ["ICI_WAREHOUSE"], read_only=True) as con:
            groups = con.execute(
                "SELECT count(*), min(n), max(n) FROM (SELECT asset_key, partition_key, count(*) n "
                "FROM ici.ici_shares WHERE partition_key IS NOT NULL GROUP BY ALL)"
            ).fetchone()
            n_orders = con.execute("SELECT count(*) FROM raw.orders").fetchone()[0]
        n_partitions = sum(n for name, n, _, _ in details[pools[0]] if "shares_by" in name)
        assert groups == (n_partitions, 6, 6), groups

        print(f"\n{'phase':<34}{'partitions':>11}{'wall s':>9}")
        for name, n, wall in phases:
            print(f"{name:<34}{n!s:>11}{wall:>9.1f}")
        print(f"\nsteps of the backfill runs (s): {'run':<28}{'read':>7}{'compute':>9}{'publish':>9}{'chart':>7}")
        for kind, runs in details.items():
            for name, _, _, p in runs:
                print(
                    f"{'':<32}{name + ' [' + kind + ']':<28}{p['read']:>7.1f}{p['compute']:>9.1f}"
                    f"{p['publish']:>9.1f}{p.get('chart', 0.0):>7.1f}"
                )
        print(f"\nraw.orders: {n_orders:,} rows; checked: {groups[0]} (asset, partition) groups x 6 nodes")
        print(
            f"peak RSS (sampled every 0.2 s): all processes together {memory.peak_total / 2**20:,.0f} MB, "
            f"largest single process {memory.peak_single / 2**20:,.0f} MB"
        )
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
        print(
            "old path (one run per partition, README before this change): "
            + ", ".join(f"{k} {v:,.0f} s total" for k, v in OLD_PATH.items())
        )
        return 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
