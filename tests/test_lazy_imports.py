"""Loading the definitions (every `dg` command, the UI's code server, each run's first step) does not import the
numeric and chart stacks: they load when a step computes or draws (``ici_assets.engine`` is a lazy package)."""

import subprocess
import sys

#: Imported only by steps that fit, compute or draw.
HEAVY = ("sklearn", "scipy.optimize", "dowhy", "altair", "vl_convert", "PIL")

LOAD = """
import sys
from ici_assets.demo.location import build_demo_definitions
defs = build_demo_definitions(sys.argv[1], sys.argv[2])
assert defs.resolve_asset_graph().get_all_asset_keys()
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


def test_loading_the_demo_definitions_leaves_the_numeric_and_chart_stacks_unloaded(dbt_project_copy, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", LOAD.format(heavy=HEAVY), str(dbt_project_copy), str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1:] in ([], [""]), f"imported at load: {done.stdout.strip()}"


def test_the_engine_package_still_exports_every_name():
    import ici_assets.engine as engine

    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
    assert "compute_ici" in dir(engine)


#: In a fresh process: import every engine submodule first (as a test run or a worker may), then check that each
#: public name of the package is the declared object. A submodule sharing a public function's name would be set
#: as a package attribute by the import system, bypassing the lazy ``__getattr__``.
SUBMODULES_FIRST = """
import importlib, inspect, pkgutil, types
import ici_assets.engine as engine
names = sorted(m.name for m in pkgutil.iter_modules(engine.__path__))
for name in names:
    importlib.import_module(f"ici_assets.engine.{name}")
clash = sorted(set(names) & set(engine.__all__))
wrong = []
for name in engine.__all__:
    value = getattr(engine, name)
    module = engine._LAZY.get(name)
    declared = getattr(importlib.import_module(f"ici_assets.engine.{module}"), name) if module else value
    if isinstance(value, types.ModuleType) or value is not declared or not (callable(value) or name.isupper()):
        wrong.append(f"{name}: {value!r}")
print("clash:", clash)
print("wrong:", wrong)
assert not clash and not wrong
"""


def test_every_engine_name_is_its_object_after_every_submodule_was_imported():
    done = subprocess.run([sys.executable, "-c", SUBMODULES_FIRST], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
