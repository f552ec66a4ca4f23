"""Command line: ``python -m ici_assets.cli demo|parse|shares``.

``demo`` serves the demo's code location (``workspace.yaml``: ``ici_assets/demo/defs``) with the dev server
for the time of its runs, launches runs that materialise every asset into the warehouse with a persistent
Dagster instance (so ``make dev`` shows the runs, on the Overview and the job pages too) and prints the
headline shares. ``shares`` prints the current shares of any warehouse (``--warehouse`` or ``--dbt-project``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ici_assets.paths import REPO_ROOT, WAREHOUSE_ENV, warehouse_path

DEMO_DBT_PROJECT = REPO_ROOT / "dbt_project"

DAGSTER_YAML = """\
# Written by `python -m ici_assets.cli`: the embedded DuckDB file allows one writer,
# so runs that write it share one concurrency pool slot.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def ensure_dagster_home() -> Path:
    """``$DAGSTER_HOME`` (default ``.dagster_home``) with a dagster.yaml limiting the writer pool."""
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def print_shares(path: Path) -> None:
    """Print the current whole-period ICI shares beside the demo's ground truth, when present."""
    import pandas as pd

    from ici_assets.warehouse import SHARES, DuckDBWarehouse, Read, Relation

    warehouse = DuckDBWarehouse(path)
    shares = warehouse.read(
        Read(SHARES.relation, ("model", "node", "share", "share_low", "share_high", "partition_key"))
    )
    shares = shares[shares["partition_key"].isna()].drop(columns="partition_key")
    truth = Relation("raw", "ground_truth_ici")
    if warehouse.exists(truth):  # the truth of the article's model (marketing_nodes)
        true_share = warehouse.read(Read(truth, ("node", "share"))).rename(columns={"share": "true_share"})
        shares = shares.merge(true_share.assign(model="marketing_nodes"), on=["model", "node"], how="left")
    shares = shares.sort_values(["model", "share"], ascending=[True, False]).round(2)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(shares.to_string(index=False))


def print_decisions(path: Path) -> None:
    """Print the media model's decisions beside their truth: the event months' attributions and the budget."""
    import pandas as pd

    from ici_assets.demo.media import CTR_DROP_MONTH, TV_FLIGHT_MONTH
    from ici_assets.warehouse import BUDGET_ALLOCATION, CHANGE_ATTRIBUTION, DuckDBWarehouse, Read, Relation

    warehouse = DuckDBWarehouse(path)
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


def cmd_parse(_: argparse.Namespace) -> int:
    from ici_assets.dbt import prepare_manifest

    print(f"dbt manifest: {prepare_manifest(DEMO_DBT_PROJECT)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    home = ensure_dagster_home()
    wh = warehouse_path()
    os.environ[WAREHOUSE_ENV] = str(wh)  # the demo profile's path (dbt_project/profiles.yml)
    import dagster as dg

    from ici_assets.definitions import defs as demo_defs
    from ici_assets.launch import CodeLocationServer, launch_all

    defs = demo_defs()  # the demo's code location (its manifest is prepared when missing or stale)
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    # Launched through the code location (workspace.yaml), as the UI launches runs: the Overview, the job
    # pages and Re-execute see them (in-process runs have no code-location origin).
    with (
        dg.DagsterInstance.get() as instance,
        CodeLocationServer("-w", str(REPO_ROOT / "workspace.yaml"), cwd=REPO_ROOT) as server,
    ):
        results = launch_all(server, defs, instance, run_config=quiet, partitions=not args.no_partitions)
    result = results[0]
    if not results[-1].success:
        print(f"Run {results[-1].run_id} failed; see the log above.", file=sys.stderr)
        return 1
    print()
    print(f"Warehouse:      {wh}")
    print(f"Dagster home:   {home}  (run `make dev` to browse lineage, charts and runs)")
    print(f"Runs:           {len(results)} (ici_demo {result.run_id} + {len(results) - 1} single-run backfills)")
    print("Shares (table ici.ici_shares; true_share from raw.ground_truth_ici):")
    print_shares(wh)
    print_decisions(wh)
    print(f"\nDone in {time.perf_counter() - start:.0f} s.")
    return 0


def cmd_shares(args: argparse.Namespace) -> int:
    if args.warehouse:
        path = Path(args.warehouse).resolve()
    elif args.dbt_project:
        from ici_assets.resources import WarehouseResource

        path = Path(WarehouseResource.for_dbt_target(args.dbt_project, target=args.target).path)
    else:
        path = warehouse_path()
    print_shares(path)
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
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
