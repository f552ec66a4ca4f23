"""Learned carryover and saturation declared in a spend column's meta (no dbt): the meta's errors, the code version,
and ``ici/<model>/scm`` + ``shares`` on a DuckDB table with known transforms (156 weeks, TV geometric 0.7 + Hill
EUR 40k): the rows of ``ici.transforms``, their intervals, the summary line and the warning for a node the data
cannot pin down."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from ici_assets.assets.decisions import budget_asset, spend_response_asset
from ici_assets.assets.ici import scm_asset, shares_asset
from ici_assets.assets.resources import WarehouseResource, asset_resources
from ici_assets.demo.transform_cases import GRAPH_EDGES, simulate_transform_case
from ici_assets.publish.charts import fits_dialog, rendered_size
from ici_assets.publish.metadata import OVERVIEW_BOX_PX, overview_width
from ici_assets.publish.transforms import LearnedTable, transform_chart
from ici_assets.publish.versions import scm_code_version
from ici_assets.spec.model import IciSpec
from ici_assets.spec.parse import IciMetaError, parse_model_spec
from ici_assets.warehouse import Relation

SCM, SHARES = dg.AssetKey(["ici", "weekly_nodes", "scm"]), dg.AssetKey(["ici", "weekly_nodes", "shares"])
NODES = ("demand", "tv_spend", "social_spend", "visits", "revenue")
TV = {"carryover": {"kind": "auto"}, "saturation": {"kind": "hill"}}
SOCIAL = {"saturation": {"kind": "hill"}}  # truth: Weibull + logistic on always-on spend: the data cannot tell


def model_props(extra: dict[str, dict] | None = None, meta: dict | None = None) -> dict:
    parents = {n: [p for p, c in GRAPH_EDGES if c == n] for n in NODES}
    units = {"tv_spend": "EUR", "social_spend": "EUR", "revenue": "EUR"}
    columns: dict[str, dict] = {"unit": {"name": "unit"}, "period": {"name": "period"}}
    for n, ps in parents.items():
        ici = {"parents": ps, **({"unit": units[n]} if n in units else {}), **(extra or {}).get(n, {})}
        columns[n] = {"name": n, "config": {"meta": {"ici": ici}}}
    model_meta = {
        "target": "revenue",
        "unit": ["unit"],
        "time_column": "period",
        "time_grain": "week",
        "mechanisms": "linear",
        "n_bootstrap": 40,
        "checks": {"min_rows": 50},
        **(meta or {}),
    }
    return {
        "resource_type": "model",
        "name": "weekly_nodes",
        "unique_id": "model.p.weekly_nodes",
        "config": {"meta": {"ici": model_meta}},
        "columns": columns,
    }


def spec_with(extra: dict[str, dict] | None = None, meta: dict | None = None) -> IciSpec:
    return parse_model_spec(model_props(extra, meta))


def test_the_meta_carries_the_declarations_to_the_engine() -> None:
    spec = spec_with({"tv_spend": TV, "social_spend": {"carryover": {"kind": "weibull", "max_lag": 4}}})
    assert dict(spec.transforms) == {
        "tv_spend": {"carryover": {"kind": "auto", "max_lag": 8}, "saturation": {"kind": "hill"}},
        "social_spend": {"carryover": {"kind": "weibull", "max_lag": 4}},
    }
    assert dict(spec_with().transforms) == {}
    # decisions on a node with learned transforms: its levels are spend, scaled (engine.interventions)
    decided = spec_with({"tv_spend": TV}, {"decisions": {"spend_nodes": ["tv_spend"], "budget": None}})
    assert decided.decisions is not None and decided.decisions.spend_nodes == ["tv_spend"]
    assert "tv_spend" in decided.transforms


@pytest.mark.parametrize(
    ("extra", "meta", "message"),
    [
        ({"tv_spend": {"carryover": {"kind": "adstock"}}}, None, r"column 'tv_spend'.*carryover\.kind.*geometric"),
        ({"tv_spend": {"saturation": {"kind": "hill", "slope": 2}}}, None, r"unknown key.*saturation\.slope"),
        ({"tv_spend": {"carryover": {"kind": "geometric", "max_lag": 0}}}, None, r"max_lag"),
        (
            {"visits": {"carryover": {"kind": "auto"}}},
            None,
            r"dbt model 'weekly_nodes': column 'visits' declares carryover.*only a root node.*'visits' has parents",
        ),
        ({"tv_spend": TV}, {"time_column": None, "time_grain": "day"}, r"'tv_spend' declares carryover.*time_column"),
    ],
)
def test_meta_errors_name_model_and_column(extra, meta, message) -> None:
    with pytest.raises(IciMetaError, match=message):
        spec_with(extra, meta)


def test_the_declarations_are_part_of_the_scm_code_version() -> None:
    plain, auto = scm_code_version(spec_with()), scm_code_version(spec_with({"tv_spend": TV}))
    geometric = scm_code_version(spec_with({"tv_spend": {**TV, "carryover": {"kind": "geometric"}}}))
    longer = scm_code_version(spec_with({"tv_spend": {**TV, "carryover": {"kind": "auto", "max_lag": 12}}}))
    assert len({plain, auto, geometric, longer}) == 4
    assert auto == scm_code_version(spec_with({"tv_spend": TV}))  # stable


@pytest.fixture(scope="module")
def materialised(tmp_path_factory) -> tuple[Path, dg.ExecuteInProcessResult]:
    """main.weekly_nodes: 156 weeks of one national series; scm, shares, spend response and budget materialised with
    TV and social declared."""
    data = simulate_transform_case(3).assign(period=lambda d: pd.to_datetime(d["period"]).dt.date)
    path = tmp_path_factory.mktemp("transforms") / "weekly.duckdb"
    with duckdb.connect(str(path)) as con:
        con.register("frame", data)
        con.execute("CREATE TABLE main.weekly_nodes AS SELECT * FROM frame")
    decisions = {"decisions": {"spend_nodes": ["tv_spend", "social_spend"], "n_bootstrap": 20, "budget": {}}}
    spec = spec_with({"tv_spend": TV, "social_spend": SOCIAL}, decisions)
    relation = Relation("main", "weekly_nodes")
    assets = [
        scm_asset(spec, dg.AssetKey("weekly_nodes"), relation),
        shares_asset(spec, pool=None),
        spend_response_asset(spec, pool=None),  # decisions through the flagged social_spend say so
        budget_asset(spec, pool=None),
    ]
    result = dg.materialize(assets, resources=asset_resources(WarehouseResource(path=str(path))), raise_on_error=False)
    return path, result


def test_transforms_table_holds_the_learned_values_with_intervals(materialised) -> None:
    path, result = materialised
    assert result.success
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT * FROM ici.transforms ORDER BY node, transform, parameter").df()
        history = con.execute("SELECT count(*) FROM ici.transforms_history").fetchone()[0]
        shares = con.execute("SELECT DISTINCT run_id, code_version, data_version FROM ici.ici_shares").df()
    tv = rows[rows["node"] == "tv_spend"].set_index("parameter")
    assert list(tv["family"]) == ["geometric", "hill", "hill"] and tv["identified"].all()
    decay, half, slope = tv.loc["decay"], tv.loc["half_saturation"], tv.loc["slope"]
    assert (
        abs(decay["value"] - 0.7) < 0.05 and decay["low"] < 0.7 < decay["high"] and decay["high"] - decay["low"] < 0.15
    )
    assert abs(half["value"] / 40_000 - 1) < 0.15 and half["low"] < 40_000 < half["high"] and half["unit"] == "EUR"
    assert slope["low"] < 2.0 < slope["high"] and decay["max_lag"] == 8 and pd.isna(half["max_lag"])
    social = rows[rows["node"] == "social_spend"]
    assert not social["identified"].any() and social["note"].str.contains("not identified").all()
    assert social.loc[social["parameter"] == "half_saturation", "high"].isna().all()  # unbounded: null, not inf
    assert history == len(rows) == 6
    # one transaction with the shares: the same run, code and data versions
    assert len(shares) == 1 and rows[["run_id", "code_version", "data_version"]].drop_duplicates().shape[0] == 1
    assert tuple(rows.iloc[0][["run_id", "code_version", "data_version"]]) == tuple(shares.iloc[0])
    assert (rows["asset_key"] == SHARES.to_user_string()).all()


def test_scm_summary_names_the_values_and_warns_about_the_unidentified_node(materialised) -> None:
    _, result = materialised
    (mat,) = [m for m in result.get_asset_materialization_events() if m.asset_key == SCM]
    metadata = mat.materialization.metadata
    text = metadata["summary"].value
    assert re.search(
        r"tv_spend: carryover 0\.7\d per week \[0\.6\d, 0\.7\d\], half-saturation EUR 4\dk \[3\d\.?\d?k, "
        r"5\d\.?\d?k\], slope [12]\.\d+ \[",
        text,
    ), text
    assert "social_spend: no carryover, half-saturation EUR" in text and "(not identified: flat profile" in text
    assert metadata["not_identified"].value == "social_spend"
    assert abs(metadata["decay/tv_spend"].value - 0.7) < 0.05
    assert "chart/tv_spend" in metadata and "chart/social_spend" in metadata
    assert abs(metadata["half_sat/tv_spend"].value / 40_000 - 1) < 0.15
    assert overview_width(metadata) <= OVERVIEW_BOX_PX  # the Overview tab's metadata box does not scroll sideways
    checks = {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key == SCM}
    warning = checks["transforms_identified"]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert "social_spend" in (warning.description or "") and "tv_spend" not in (warning.description or "")
    assert all(c.passed for n, c in checks.items() if n != "transforms_identified")


def test_decisions_through_the_unidentified_node_say_so(materialised) -> None:
    """The spend response, channel returns and budget of the same run: social_spend's rows have
    transform_identified = false (TV's true), the summaries and metadata name it, the budget holds it."""
    path, result = materialised
    with duckdb.connect(str(path), read_only=True) as con:
        flags = {
            table: dict(con.execute(f"SELECT DISTINCT node, transform_identified FROM ici.{table}").fetchall())
            for table in ("spend_response", "channel_returns", "budget_allocation")
        }
        binding = dict(con.execute("SELECT node, binding FROM ici.budget_allocation").fetchall())
    assert all(f == {"tv_spend": True, "social_spend": False} for f in flags.values()), flags
    assert binding["social_spend"] == "not identified"
    metadata = {
        m.asset_key.path[-1]: m.materialization.metadata
        for m in result.get_asset_materialization_events()
        if m.asset_key.path[-1] in ("spend_response", "budget")
    }
    assert "Not identified from the data: the learned carryover or saturation of **social_spend**" in (
        metadata["spend_response"]["summary"].value
    )
    assert "Held at the current level: **social_spend**" in metadata["budget"]["summary"].value
    assert (
        metadata["spend_response"]["not_identified"].value
        == metadata["budget"]["not_identified"].value
        == ("social_spend")
    )


def test_the_chart_per_node_fits_the_dialog(materialised) -> None:
    import numpy as np

    spec = spec_with({"tv_spend": TV})
    table = pd.DataFrame(
        {
            "model": "weekly_nodes",
            "node": "tv_spend",
            "transform": ["carryover", "saturation", "saturation"],
            "family": ["geometric", "hill", "hill"],
            "parameter": ["decay", "half_saturation", "slope"],
            "value": [0.7, 40_000.0, 2.0],
            "low": [0.65, 35_000.0, 1.6],
            "high": [0.75, np.inf, 2.5],
            "identified": True,
        }
    )
    learned = LearnedTable(table, {}, {"tv_spend": np.linspace(0, 90_000, 50)})
    size = rendered_size(transform_chart(spec, learned, "tv_spend"))
    assert fits_dialog(size) and size[0] > 700, size


def test_partitions_fit_the_same_transforms_as_the_whole_period_asset(materialised) -> None:
    """A partition's worker (fit_slice) applies the declared transforms too: on the whole table it gives the
    shares the whole-period asset published."""
    from ici_assets.assets.fanout import fit_settings
    from ici_assets.compute import fit_slice

    path, _ = materialised
    spec = spec_with({"tv_spend": TV, "social_spend": SOCIAL})
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute("SELECT * FROM main.weekly_nodes ORDER BY unit, period").df()
        published = con.execute("SELECT node, share, share_low, share_high FROM ici.ici_shares ORDER BY node").df()
    settings = fit_settings(spec, markov_alpha=0.01)
    assert settings.units == ("unit",) and settings.transforms == {n: dict(t) for n, t in spec.transforms.items()}
    table = fit_slice(frame, settings).table.sort_values("node").reset_index(drop=True)
    pd.testing.assert_frame_equal(table[list(published.columns)], published, check_exact=False, rtol=1e-9)
