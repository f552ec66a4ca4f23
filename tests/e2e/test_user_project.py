"""The docs' "Use it on your own dbt project" (docs/own-project.md), done in an empty temporary folder outside
the repository.

The user's own raw tables (tests/user_data.py: daily regional, weekly national with one-week events,
weekly regional) land in their DuckDB file; their dbt project has its profile in ~/.dbt (HOME is the
temporary folder) and one model per table with an ``ici`` meta. Through the Dagster CLI only:
``dg scaffold defs`` writes defs.yaml; ``dg check defs`` refuses a misspelt key naming the closest
one; after the fix (no ``dbt parse`` by hand) ``dg list defs`` loads the user's assets only;
``dg launch --job`` materialises the weekly national model; ``dagster asset materialize -f`` on
``build_definitions`` materialises the two others. Shares are checked against the engine run on the
generator's table (the pipeline changes nothing) and against the generator's truth, within
max(1 point, 4 sd of the shares over generator seeds) (``benchmarks/bench_user_data.py``).
Run with ``-s`` to see each command's wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from tests.user_data import MEDIA, SHAPES, media_table
from tests.user_project import INSTANCE, MODELS, PROFILES, write_dbt_project, write_dg_project

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUILD_DEFINITIONS = 'from ici_assets import build_definitions\n\ndefs = build_definitions("dbt")\n'
IN_PROCESS = '{"execution": {"config": {"in_process": {}}}}'
#: The demo's generated tables (the user's own raw.media_daily source is theirs: same name, not the demo's asset).
DEMO_KEYS = {
    f"raw/{t}"
    for t in (
        "ad_spend",
        "web_sessions",
        "orders",
        "demand_index",
        "ground_truth_ici",
        "ground_truth_change",
        "ground_truth_response",
        "ground_truth_returns",
    )
}
SEEDS_FOR_FLOOR = 50
#: Shares within max(1 point, K sd of the shares over seeds) of the truth: 21 nodes are checked at once, and
#: at 3 sd one in about 20 draws of the data would fail somewhere (seed 0's daily search_spend is 3.4 sd off).
K_SD = 4.0


def run(cmd: list[str], root: Path, env: dict, log: list, *, ok: bool = True) -> subprocess.CompletedProcess:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    log.append((" ".join(cmd), time.perf_counter() - t0, done.returncode))
    if ok:
        assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


@pytest.fixture(scope="module")
def user_project(tmp_path_factory):
    base = tmp_path_factory.mktemp("user")
    root, home = base / "my-ici", base / "home"
    (home / ".dbt").mkdir(parents=True)
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DBT_PROFILES_DIR", "ICI_WAREHOUSE", "DAGSTER_IS_DEV_CLI")}
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]),
        VIRTUAL_ENV=str(BIN.parent),
        DAGSTER_HOME=str(root / ".dagster"),
    )
    log: list = []
    t_start = time.perf_counter()

    # The user's data and dbt project; a typo in one model's meta, as users make them.
    warehouse = root / "warehouse.duckdb"
    (home / ".dbt" / "profiles.yml").write_text(PROFILES.format(warehouse=warehouse))
    write_dg_project(root)
    dbt = write_dbt_project(root, MEDIA, list(SHAPES))
    truths, tables = {}, {}
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA raw")
        for shape, kwargs in SHAPES.items():
            table, _, truth = media_table(MEDIA, seed=0, **kwargs)
            con.register("generated", table)
            con.execute(f"CREATE TABLE raw.{MODELS[shape][0]} AS SELECT * FROM generated")
            con.unregister("generated")
            truths[shape], tables[shape] = truth, table
    weekly_yml = dbt / "models" / "media_weekly.yml"
    weekly_yml.write_text(weekly_yml.read_text().replace("n_bootstrap:", "n_boostrap:"))
    (root / ".dagster").mkdir()
    (root / ".dagster" / "dagster.yaml").write_text(INSTANCE)
    (root / "build_defs.py").write_text(BUILD_DEFINITIONS)

    dg = str(BIN / "dg")
    run([dg, "scaffold", "defs", "ici_assets.IciDbtProjectComponent", "ici", "--project-path", "dbt"], root, env, log)
    refused = run([dg, "check", "defs"], root, env, log, ok=False)
    manifest = dbt / "target" / "manifest.json"
    first_parse = manifest.stat().st_mtime
    time.sleep(0.01)
    weekly_yml.write_text(weekly_yml.read_text().replace("n_boostrap:", "n_bootstrap:"))
    listed = run([dg, "list", "defs", "--json"], root, env, log)
    run([dg, "launch", "--job", "ici__media_weekly_job"], root, env, log)
    t_first_shares = time.perf_counter() - t_start
    others = ",".join(f"*ici/{MODELS[s][0]}/shares" for s in ("weekly_regional", "daily_regional"))
    materialize = [str(BIN / "dagster"), "asset", "materialize", "-f", "build_defs.py", "--select", others]
    run([*materialize, "--config-json", IN_PROCESS], root, env, log)
    query = run([sys.executable, "-m", "ici_assets.cli", "shares", "--dbt-project", "dbt"], root, env, log)

    print(f"\nuser project from an empty folder to the first shares: {t_first_shares:.1f} s")
    for cmd, seconds, rc in log:
        print(f"  {seconds:6.1f} s  rc={rc}  {cmd.replace(str(BIN) + '/', '')}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        shares = con.execute("SELECT model, node, share FROM ici.ici_shares WHERE partition_key IS NULL").fetchall()
    return {
        "root": root,
        "refused": refused,
        "listed": listed,
        "reparsed": manifest.stat().st_mtime > first_parse,
        "query": query.stdout,
        "shares": {(m, n): s for m, n, s in shares},
        "truths": truths,
        "tables": tables,
    }


@pytest.mark.slow
@pytest.mark.cluster
def test_misspelt_key_is_refused_at_load_naming_model_key_and_closest(user_project):
    refused = user_project["refused"]
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "dbt model 'media_weekly'" in out and "did you mean 'n_bootstrap'?" in out


@pytest.mark.slow
@pytest.mark.cluster
def test_fixed_yaml_takes_effect_without_a_manual_parse(user_project):
    assert user_project["reparsed"], "the manifest was not prepared again after the YAML changed"
    assert "Preparing the dbt manifest" in user_project["listed"].stderr


@pytest.mark.slow
@pytest.mark.cluster
def test_user_code_location_holds_only_the_users_assets(user_project):
    defs = json.loads(user_project["listed"].stdout)
    keys = {a["asset_key"] for a in defs["assets"]}
    assert not keys & DEMO_KEYS
    models = [MODELS[s][0] for s in SHAPES]
    assert {f"ici/{m}/{a}" for m in models for a in ("scm", "shares")} | set(models) <= keys
    assert {j["name"] for j in defs["jobs"]} == {f"ici__{m}_job" for m in models}
    assert {r["name"] for r in defs["resources"]} == {"warehouse", "compute_pool", "ici_fit_store"}
    # they refresh by themselves: each ICI asset carries its automation condition, one sensor evaluates them
    by_key = {a["asset_key"]: a for a in defs["assets"]}
    for m in models:
        assert by_key[f"ici/{m}/shares"]["automation_condition"]["label"] == "eager after upstream checks pass"
    assert [s["name"].split("__")[0] for s in defs["sensors"]] == ["ici_automation"]
    assert not list(user_project["root"].glob("**/.tmp_dagster_home_*"))


@pytest.mark.slow
@pytest.mark.cluster
@pytest.mark.parametrize("shape", list(SHAPES))
def test_shares_match_the_engine_and_the_generators_truth(user_project, shape):
    from ici_assets.engine import compute_ici

    model = MODELS[shape][0]
    got = {n: s for (m, n), s in user_project["shares"].items() if m == model}
    direct = compute_ici(
        user_project["tables"][shape], MEDIA.edges, MEDIA.target, time_column="period", n_bootstrap=0, seed=0
    )
    assert got == pytest.approx(dict(zip(direct["node"], direct["share"])), abs=1e-6)
    truth = user_project["truths"][shape]
    errors = []
    for seed in range(1, SEEDS_FOR_FLOOR + 1):
        table, _, population = media_table(MEDIA, seed=seed, **SHAPES[shape])
        res = compute_ici(table, MEDIA.edges, MEDIA.target, time_column="period", n_bootstrap=0, seed=0)
        errors.append([dict(zip(res["node"], res["share"]))[n] - population[n] for n in truth])
    floor = np.asarray(errors).std(axis=0, ddof=1)
    for node, sd in zip(truth, floor):
        tolerance = max(1.0, K_SD * float(sd))
        print(f"{model:<22}{node:<14} share {got[node]:6.2f}  truth {truth[node]:6.2f}  floor sd {sd:4.2f}")
        assert abs(got[node] - truth[node]) <= tolerance, (node, got[node], truth[node], tolerance)


@pytest.mark.slow
@pytest.mark.cluster
def test_query_command_prints_every_models_shares(user_project):
    out = user_project["query"]
    for shape in SHAPES:
        model = MODELS[shape][0]
        top = max((s, n) for (m, n), s in user_project["shares"].items() if m == model)
        assert any(line.split()[:3] == [model, top[1], f"{top[0]:.2f}"] for line in out.splitlines()), out


def test_readme_shows_these_files_and_commands():
    """The own-project guide (README's section before the docs moved to docs/) shows verbatim what this test runs."""
    from tests.user_project import DBT_PROJECT, DEFINITIONS, PYPROJECT, model_yaml

    section = (REPO / "docs" / "own-project.md").read_text()
    for text in (PYPROJECT, DEFINITIONS, DBT_PROJECT, INSTANCE, BUILD_DEFINITIONS):
        assert text in section
    assert model_yaml("media_weekly", "week", "week", (), MEDIA) in section
    for command in (
        "dg scaffold defs ici_assets.IciDbtProjectComponent ici --project-path dbt",
        "dg list defs",
        "dg launch --job ici__media_weekly_job",
        "python -m ici_assets.cli shares --dbt-project dbt",
        "dagster asset materialize -f build_defs.py --select",
    ):
        assert command in section, command
