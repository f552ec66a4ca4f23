"""Command line: ``python -m ici_assets.cli demo|parse|shares|postgres``.

``demo`` serves the demo's code location (``workspace.yaml``: ``ici_assets/demo/defs``) with the dev server
for the time of its runs, launches runs that materialise every asset into the warehouse of the dbt target
(``DBT_TARGET``: the DuckDB file by default, ``postgres`` for PostgreSQL) with a persistent Dagster instance (so
``make dev`` shows the runs, on the Overview and the job pages too) and prints the headline shares. With
``DBT_TARGET=postgres`` and no ``PGHOST``, it starts a local server under ``.postgres/`` first (``postgres stop``
stops it). ``shares`` prints the current shares of any warehouse (``--warehouse`` or ``--dbt-project``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ici_assets.demo.paths import WAREHOUSE_ENV, demo_dbt_project, demo_root, warehouse_path

if TYPE_CHECKING:
    from ici_assets.assets.resources import WarehouseResource
    from ici_assets.warehouse import Warehouse

DAGSTER_YAML = """\
# Written by `python -m ici_assets.cli`: the embedded DuckDB file allows one writer,
# so runs that write it share one concurrency pool slot.
concurrency:
  pools:
    default_limit: 1
# Runs start when they are launched (no queue, so no daemon is needed to start them); the pool
# above still lets one writing step run at a time.
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""
_OURS = DAGSTER_YAML.splitlines()[0]


def ensure_dagster_home() -> Path:
    """``$DAGSTER_HOME`` (default ``.dagster_home``) with a dagster.yaml limiting the writer pool (rewritten when
    an older version of ours is there; a file of the user's is left alone)."""
    home = Path(os.environ.get("DAGSTER_HOME") or demo_root() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    current = cfg.read_text() if cfg.exists() else None
    if current is None or (current.startswith(_OURS) and current != DAGSTER_YAML):
        cfg.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def print_shares(warehouse: Warehouse) -> None:
    """Print the current whole-period ICI shares beside the demo's ground truth, when present."""
    import pandas as pd

    from ici_assets.publish.rows import primary_rows
    from ici_assets.warehouse import SHARES, Read, Relation

    columns = ("model", "node", "share", "share_low", "share_high", "partition_key", "calibrated")
    shares = primary_rows(warehouse.read(Read(SHARES.relation, columns)))
    shares = shares[shares["partition_key"].isna()].drop(columns=["partition_key", "calibrated"])
    truth = Relation("raw", "ground_truth_ici")
    if warehouse.exists(truth):  # the truth of the article's model (marketing_nodes)
        true_share = warehouse.read(Read(truth, ("node", "share"))).rename(columns={"share": "true_share"})
        shares = shares.merge(true_share.assign(model="marketing_nodes"), on=["model", "node"], how="left")
    shares = shares.sort_values(["model", "share"], ascending=[True, False]).round(2)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(shares.to_string(index=False))


def print_decisions(warehouse: Warehouse) -> None:
    """Print the media model's decisions beside their truth: the event months' attributions and the budget."""
    import pandas as pd

    from ici_assets.demo.media import CTR_DROP_MONTH, TV_FLIGHT_MONTH
    from ici_assets.warehouse import BUDGET_ALLOCATION, CHANGE_ATTRIBUTION, Read, Relation

    truth = Relation("raw", "ground_truth_change")
    if not (warehouse.exists(CHANGE_ATTRIBUTION.relation) and warehouse.exists(truth)):
        return
    cols = ("model", "period", "node", "contribution", "low", "high", "sentence")
    changes = warehouse.read(Read(CHANGE_ATTRIBUTION.relation, cols))
    true = warehouse.read(Read(truth, ("period", "node", "contribution"))).rename(columns={"contribution": "truth"})
    changes["period"] = pd.to_datetime(changes["period"]).dt.strftime("%Y-%m")
    true["period"] = pd.to_datetime(true["period"]).dt.strftime("%Y-%m")
    events = changes[changes["period"].isin([CTR_DROP_MONTH, TV_FLIGHT_MONTH])].merge(true, on=["period", "node"])
    print("\nChange attribution, event months (ici.change_attribution; truth from raw.ground_truth_change):")
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(events.drop(columns="sentence").round(1).to_string(index=False))
    for sentence in events.drop_duplicates("period")["sentence"]:
        print(f"  {sentence}")
    if warehouse.exists(BUDGET_ALLOCATION.relation):
        cols = ("model", "node", "current", "recommended", "expected_uplift", "uplift_low", "uplift_high")
        budget = warehouse.read(Read(BUDGET_ALLOCATION.relation, cols))
        print("\nBudget split per region-day (ici.budget_allocation):")
        print(budget.round(1).to_string(index=False))
    print_returns(warehouse)
    print_transforms(warehouse)


def print_transforms(warehouse: Warehouse) -> None:
    """Print the learned carryover and saturation (ici.transforms) beside the media generator's true curves."""
    import math

    from ici_assets.demo.media import BASE
    from ici_assets.warehouse import TRANSFORMS, Read

    if not warehouse.exists(TRANSFORMS.relation):
        return
    cols = ("model", "node", "transform", "family", "parameter", "value", "low", "high", "identified")
    learned = warehouse.read(Read(TRANSFORMS.relation, cols, order_by=("model", "node", "transform", "parameter")))
    if not len(learned):
        return
    scales = {"tv_spend": BASE.search_scale, "social_spend": BASE.social_scale}
    curves = ", ".join(f"{n} 1 - exp(-spend / {k:,.0f})" for n, k in scales.items())
    half = ", ".join(f"{n} {k * math.log(2):,.0f}" for n, k in scales.items())
    print(f"\nLearned saturation, EUR per region-day (ici.transforms; the media generator's curves are {curves}:")
    print(f"half of the effect at {half} EUR):")
    print(learned.round(3).to_string(index=False))


def print_returns(warehouse: Warehouse) -> None:
    """Print each channel's ROI (ici.channel_returns) beside the true ROI of the demo's generator."""
    from ici_assets.warehouse import CHANNEL_RETURNS, Read, Relation

    truth = Relation("raw", "ground_truth_returns")
    if not (warehouse.exists(CHANNEL_RETURNS.relation) and warehouse.exists(truth)):
        return
    cols = ("model", "node", "roi", "roi_low", "roi_high", "marginal_roi", "spend_share", "contribution_share")
    returns = warehouse.read(Read(CHANNEL_RETURNS.relation, (*cols, "calibrated")))
    returns = returns[returns["model"] == "media_nodes"].drop(columns="calibrated")  # weekly_nodes: print_calibration
    true = warehouse.read(Read(truth, ("node", "roi"))).rename(columns={"roi": "true_roi"})
    print("\nReturn on spend, EUR of revenue per EUR (ici.channel_returns; truth from raw.ground_truth_returns):")
    print(returns.merge(true, on="node", how="left").round(3).to_string(index=False))


def print_calibration(warehouse: Warehouse) -> None:
    """Print the weekly model's answers calibrated to its lift test beside the uncalibrated ones and the truth:
    each channel's return (ici.channel_returns) and each node's share (ici.ici_shares)."""
    import pandas as pd

    from ici_assets.warehouse import CHANNEL_RETURNS, SHARES, Equals, Read, Relation

    truth = Relation("raw", "ground_truth_calibration")
    if not (warehouse.exists(CHANNEL_RETURNS.relation) and warehouse.exists(truth)):
        return
    model = (Equals("model", "weekly_nodes"),)
    returns = warehouse.read(
        Read(CHANNEL_RETURNS.relation, ("node", "roi", "roi_low", "roi_high", "calibrated"), model)
    )
    shares = warehouse.read(Read(SHARES.relation, ("node", "share", "calibrated", "partition_key"), model))
    if returns.empty or shares.empty:
        return
    true = warehouse.read(Read(truth, ("node", "true_return", "share"))).rename(columns={"share": "true_share"})

    def side_by_side(frame: pd.DataFrame, value: str) -> pd.DataFrame:
        wide = frame.pivot_table(index="node", columns="calibrated", values=value, aggfunc="first")
        return wide.rename(columns={True: f"{value}_calibrated", False: f"{value}_uncalibrated"})

    roi = side_by_side(returns, "roi").join(true.set_index("node")["true_return"], how="left")
    share = side_by_side(shares[shares["partition_key"].isna()], "share").join(
        true.set_index("node")["true_share"], how="left"
    )
    print(
        "\nCalibrated to a lift test (weekly_nodes; TV spend follows a demand signal that is not a node; "
        "truth from raw.ground_truth_calibration):"
    )
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(roi.reset_index().round(3).to_string(index=False))
        print(share.reset_index().round(2).to_string(index=False))


def local_postgres_dir() -> Path:
    """``.postgres/`` in the clone (elsewhere in the temp folder when the server's account cannot reach it)."""
    from ici_assets.dev.pg_server import server_may_use

    folder = demo_root() / ".postgres"
    if server_may_use(folder):
        return folder
    import hashlib
    import tempfile

    return Path(tempfile.gettempdir()) / f"ici-postgres-{hashlib.sha256(str(demo_root()).encode()).hexdigest()[:8]}"


def ensure_warehouse() -> WarehouseResource:
    """The dbt target's warehouse; for a PostgreSQL target with no PGHOST set, a local server started now."""
    from ici_assets.assets.resources import WarehouseResource
    from ici_assets.warehouse.dbt_target import peek_target

    os.environ[WAREHOUSE_ENV] = str(warehouse_path())  # the default target's DuckDB file, made absolute
    if peek_target(demo_dbt_project()).type == "postgres" and not os.environ.get("PGHOST"):
        from ici_assets.dev.pg_server import LocalPostgres

        server = LocalPostgres(local_postgres_dir()).start()
        os.environ.update(server.env())
        print(
            f"PostgreSQL:     local server in {server.root} on 127.0.0.1:{server.port} (PGHOST unset); "
            "stop it with `uv run python -m ici_assets.cli postgres stop`",
            file=sys.stderr,
        )
    return WarehouseResource.for_dbt_target(demo_dbt_project())


def cmd_parse(_: argparse.Namespace) -> int:
    from ici_assets.component.manifest import prepare_manifest

    print(f"dbt manifest: {prepare_manifest(demo_dbt_project())}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    home = ensure_dagster_home()
    resource = ensure_warehouse()
    from ici_assets.component.manifest import prepare_manifest

    prepare_manifest(demo_dbt_project())  # for the target the dbt step builds in ($DBT_TARGET or the profile's)
    import dagster as dg

    from ici_assets.demo.location import defs as demo_defs
    from ici_assets.demo.raw_assets import ICI_DEMO_JOB, ICI_REPORTS_JOB
    from ici_assets.dev.launch import CodeLocationServer, launch_all

    defs = demo_defs()  # the demo's code location (its manifest is prepared when missing or stale)
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    # Launched through the code location (workspace.yaml), as the UI launches runs: the Overview, the job
    # pages and Re-execute see them (in-process runs have no code-location origin).
    with (
        dg.DagsterInstance.get() as instance,
        CodeLocationServer("-w", str(demo_root() / "workspace.yaml"), cwd=demo_root(), daemon=False) as server,
    ):
        results = launch_all(
            server,
            defs,
            instance,
            first_job=ICI_DEMO_JOB.name,
            run_config=quiet,
            partitions=not args.no_partitions,
            last_job=ICI_REPORTS_JOB.name if not args.no_partitions else None,
        )
    result = results[0]
    failed = [r for r in results if not r.success]
    if failed:
        print(f"Run {failed[0].run_id} of {failed[0].job} failed; see the log above.", file=sys.stderr)
        return 1
    print()
    warehouse = resource.get()
    print(f"Warehouse:      {warehouse.location}  (dbt target '{resource.dbt_target}')")
    print(f"Dagster home:   {home}  (run `make dev` to browse lineage, charts and runs)")
    print(f"Runs:           {len(results)} (ici_demo {result.run_id}, single-run backfills, then ici_reports)")
    print("Shares (table ici.ici_shares; true_share from raw.ground_truth_ici):")
    print_shares(warehouse)
    print_decisions(warehouse)
    print_calibration(warehouse)
    reports = sorted((demo_root() / "data" / "reports").glob("*.html"))  # the demo's reports_dir (defs.yaml)
    if reports:
        print("\nReports (one self-contained HTML page per model; open in any browser):")
        for path in reports:
            print(f"  {path}")
    print(f"\nDone in {time.perf_counter() - start:.0f} s.")
    return 0


def cmd_shares(args: argparse.Namespace) -> int:
    from ici_assets.assets.resources import WarehouseResource

    if args.warehouse:
        resource = WarehouseResource(path=str(Path(args.warehouse).resolve()))
    elif args.dbt_project:
        resource = WarehouseResource.for_dbt_target(args.dbt_project, target=args.target)
    else:
        resource = ensure_warehouse()
    print_shares(resource.get())
    return 0


def cmd_postgres(args: argparse.Namespace) -> int:
    """``env``: start the local server if the target is PostgreSQL and PGHOST is unset, print its variables
    as shell exports (``eval "$(python -m ici_assets.cli postgres env)"``); ``stop``: stop the local server."""
    from ici_assets.dev.pg_server import LocalPostgres

    if args.action == "stop":
        LocalPostgres(local_postgres_dir()).stop()
        return 0
    before = dict(os.environ)
    ensure_warehouse()
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"):
        if os.environ.get(name) and before.get(name) != os.environ[name]:
            print(f"export {name}={os.environ[name]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ici_assets.cli", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("parse", help="run dbt parse so the manifest exists").set_defaults(func=cmd_parse)
    demo = sub.add_parser("demo", help="materialise every demo asset and print the shares")
    demo.add_argument("--no-partitions", action="store_true", help="skip the monthly and per-region partitions")
    demo.set_defaults(func=cmd_demo)
    shares = sub.add_parser("shares", help="print the current whole-period shares of every model")
    shares.add_argument("--warehouse", help="the DuckDB file (default: $ICI_WAREHOUSE or the demo's)")
    shares.add_argument("--dbt-project", help="read the warehouse from this dbt project's profile target instead")
    shares.add_argument("--target", help="the dbt target (default: the profile's)")
    shares.set_defaults(func=cmd_shares)
    pg = sub.add_parser("postgres", help="the local PostgreSQL server of DBT_TARGET=postgres (env | stop)")
    pg.add_argument("action", choices=["env", "stop"])
    pg.set_defaults(func=cmd_postgres)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
