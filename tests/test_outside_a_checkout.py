"""The library does not lean on the demo: installed without this repository beside it, it imports and builds
a user's definitions; only the demo asks for a clone, and says so (issue 20, bug 4)."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ici_assets"

PROBE = """
import inspect, os
import ici_assets.demo  # importing the demo reads no file
from ici_assets import build_definitions
from ici_assets.demo.paths import demo_root
assert "include_demo_raw" not in inspect.signature(build_definitions).parameters
try:
    demo_root()
except FileNotFoundError as exc:
    print("demo:", exc)
import ici_assets.demo as demo
try:
    demo.TV_ADSTOCK_DECAY
except FileNotFoundError as exc:
    print("vars:", exc)
"""


def test_the_package_imports_and_the_demo_names_what_it_needs_outside_a_checkout(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "ici_assets", ignore=shutil.ignore_patterns("__pycache__"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=elsewhere,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("demo: The demo needs a clone of the ici-assets repository") for line in lines), lines
    assert any("ICI_DEMO_ROOT" in line for line in lines if line.startswith("vars:")), lines


def test_the_launcher_takes_the_first_job_from_its_caller():
    from ici_assets.dev.launch import launch_all

    assert inspect.signature(launch_all).parameters["first_job"].kind is inspect.Parameter.KEYWORD_ONLY
    import ici_assets.dev.runner as runner

    assert not hasattr(runner, "run_all")  # the in-process copy that hard-coded ici_demo is gone
