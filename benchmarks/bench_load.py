"""How long loading the demo's definitions takes: what every `dg` command, code server and run start pays.

Run: .venv/bin/python benchmarks/bench_load.py [--repeat 5]
Each figure is the median wall time of fresh processes (python -c ...), printed side by side with the floor
that is not ours: importing dagster and dagster_dbt alone, and dagster-dbt's own DbtProjectComponent loading
the same dbt project with no ICI side. The demo's manifest is prepared first (as `make parse` does).
Target (issue 20): the demo's definitions in at most 4 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CASES = {
    "import dagster, dagster_dbt (floor)": "import dagster, dagster_dbt",
    "dagster-dbt DbtProjectComponent alone (peer)": (
        "import dagster as dg\n"
        "from dagster.components import build_defs_for_component\n"
        "from dagster_dbt import DbtProject, DbtProjectComponent\n"
        "p = DbtProject(project_dir={project!r})\n"
        "d = build_defs_for_component(DbtProjectComponent(project=p))\n"
        "d.resolve_asset_graph()"
    ),
    "import ici_assets.definitions (ours, no load)": "import ici_assets.definitions",
    "demo definitions loaded (ours)": (
        "from ici_assets.demo.location import defs\nd = defs()\nassert d.resolve_asset_graph().get_all_asset_keys()"
    ),
}


def once(code: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=os.environ)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed:\n{code}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "ici_assets.cli", "parse"], cwd=REPO, check=True, capture_output=True)
    project = str(REPO / "dbt_project")
    print(f"{'what':<48}{'median s':>10}{'min s':>8}   ({args.repeat} fresh processes each)")
    for name, code in CASES.items():
        times = [once(code.format(project=project)) for _ in range(args.repeat)]
        print(f"{name:<48}{statistics.median(times):>10.2f}{min(times):>8.2f}")


if __name__ == "__main__":
    main()
