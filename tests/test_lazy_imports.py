"""Loading the definitions (every `dg` command, the UI's code server, each run's first step) does not import the
numeric, data-frame, warehouse and chart stacks: they load when a step computes, reads or draws
(``ici_assets.engine``, ``ici_assets.demo`` and ``ici_assets.warehouse`` are lazy packages)."""

import subprocess
import sys

import pytest

#: Imported only by steps that fit, compute, read or draw; dbt's config and the DuckDB adapter only when dbt
#: renders a profile target that plain YAML cannot name (``peek_target``).
HEAVY = ("sklearn", "scipy", "dowhy", "altair", "vl_convert", "PIL", "pandas", "numpy", "duckdb", "dbt.config")

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
import importlib, inspect, pkgutil, sys, types
engine = importlib.import_module(sys.argv[1])
names = sorted(m.name for m in pkgutil.iter_modules(engine.__path__))
for name in names:
    importlib.import_module(f"{sys.argv[1]}.{name}")
clash = sorted(set(names) & set(engine.__all__))
wrong = []
for name in engine.__all__:
    value = getattr(engine, name)
    module = engine._LAZY.get(name)
    declared = getattr(importlib.import_module(f"{sys.argv[1]}.{module}"), name) if module else value
    same = value is declared if callable(declared) else value == declared  # constants may be computed per use
    kind_ok = callable(value) or name.isupper() or isinstance(value, types.UnionType)
    if isinstance(value, types.ModuleType) or not same or not kind_ok:
        wrong.append(f"{name}: {value!r}")
print("clash:", clash)
print("wrong:", wrong)
assert not clash and not wrong
"""


@pytest.mark.parametrize("package", ["ici_assets.engine", "ici_assets.demo", "ici_assets.warehouse"])
def test_every_public_name_of_a_lazy_package_is_its_object_after_every_submodule_was_imported(package):
    done = subprocess.run([sys.executable, "-c", SUBMODULES_FIRST, package], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
