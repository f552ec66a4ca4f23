"""Lift-test calibration as the SCM asset runs it (no Dagster run): reading and validating the tests, both fits,
the experiments_agree check, the rows published with `calibrated`, on the weekly demo generator (known truth)."""

from __future__ import annotations

import pandas as pd
import pytest

from ici_assets.assets.calibration import beside, calibrate_tests, lift_test_label, lift_test_units
from ici_assets.checks.experiments import EXPERIMENTS_CHECK, experiments_check
from ici_assets.demo.calibration_case import TEST_SPEND, calibration_tables
from ici_assets.engine import estimate_ici, fit_scm
from ici_assets.publish.decision_rows import stamp
from ici_assets.publish.rows import ResultKey, primary_rows, shares_rows
from ici_assets.publish.versions import SliceFacts
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import BUDGET_ALLOCATION

GOOD = [
    ("tv_spend", "search_clicks"),
    ("social_spend", "search_clicks"),
    ("search_clicks", "revenue"),
    ("tv_spend", "revenue"),
    ("social_spend", "revenue"),
]
#: Deliberately wrong: the arrow between TV and search reversed and TV's edge into revenue left out, so the graph
#: says TV spend cannot move revenue while the lift test measured that it does.
WRONG = [
    ("search_clicks", "tv_spend"),
    ("social_spend", "search_clicks"),
    ("search_clicks", "revenue"),
    ("social_spend", "revenue"),
]


@pytest.fixture(scope="module")
def weekly():
    tables = calibration_tables(0)
    data = tables["weekly_sales"].rename(
        columns={
            "tv_spend_eur": "tv_spend",
            "social_spend_eur": "social_spend",
            "search_sessions": "search_clicks",
            "revenue_eur": "revenue",
        }
    )
    data["search_clicks"] = data["search_clicks"].astype(float)
    data["date"] = pd.to_datetime(data["date"])
    tests = tables["lift_tests"]
    tests = tests.set_axis([lift_test_label(r) for r in tests.to_dict("records")], axis=0)
    return data, tests, tables["ground_truth_calibration"].set_index("node")


def fit(data: pd.DataFrame, edges) -> object:
    return fit_scm(data, edges, mechanisms="linear", time_column="date")


def test_calibrated_return_is_the_tests_and_the_uncalibrated_one_is_reported_beside_it(weekly):
    data, tests, truth = weekly
    calibrated = calibrate_tests(fit(data, GOOD), "revenue", tests, set())
    facts = calibrated.result.facts
    assert truth.loc["tv_spend", "true_return"] == pytest.approx(1.0)
    assert facts.return_after["tv_spend"] == pytest.approx(1.0, rel=0.10)
    assert facts.return_before["tv_spend"] >= 1.3  # least squares credits hidden demand to TV
    table = calibrated.table
    assert list(table["test"]) == ["tv_geo_holdout_2025_03"]
    assert table["implied_after"].iloc[0] == pytest.approx(TEST_SPEND * facts.return_after["tv_spend"])
    # shares: the calibrated model's are near the truth (independent-noise definition), the least-squares TV share
    # is far above it
    cal = estimate_ici(calibrated.scm, "revenue", n_bootstrap=0).table.set_index("node")["share"]
    plain = estimate_ici(calibrated.uncalibrated, "revenue", n_bootstrap=0).table.set_index("node")["share"]
    assert abs(cal["tv_spend"] - truth.loc["tv_spend", "share"]) < 1.5
    assert plain["tv_spend"] - truth.loc["tv_spend", "share"] > 10


def test_experiments_agree_passes_on_the_good_graph_with_rounded_metadata(weekly):
    data, tests, _ = weekly
    outcome = experiments_check(calibrate_tests(fit(data, GOOD), "revenue", tests, set()).table, "revenue")
    assert outcome.name == EXPERIMENTS_CHECK and outcome.passed, outcome.description
    md = outcome.metadata
    label = "tv_geo_holdout_2025_03"
    assert md[f"{label}/lift"] == 100_000.0 and md[f"{label}/implied_after"] == 100_000.0
    assert md[f"{label}/z_after"] == 0.0 and 3.0 < md[f"{label}/z_before"] < 4.0
    assert md[f"{label}/implied_before"] == round(md[f"{label}/implied_before"], -2)  # 4 significant digits
    assert "before calibration 3.5" in outcome.description


def test_experiments_agree_fails_naming_the_test_and_path_on_a_wrong_graph(weekly):
    data, tests, _ = weekly
    calibrated = calibrate_tests(fit(data, WRONG), "revenue", tests, set())
    assert calibrated.result is None  # no test could calibrate: the SCM stays the least-squares one
    outcome = experiments_check(calibrated.table, "revenue")
    assert not outcome.passed
    assert "'tv_geo_holdout_2025_03'" in outcome.description
    assert "no directed path from tv_spend to revenue" in outcome.description
    assert outcome.metadata["tv_geo_holdout_2025_03/implied_after"] == 0.0
    assert outcome.metadata["tv_geo_holdout_2025_03/z_after"] == -10.0


def test_conflicting_tests_on_one_node_fail_naming_both_and_the_edge(weekly):
    data, tests, _ = weekly
    second = tests.assign(
        test="tv_flight_2024", start_period=pd.Timestamp("2024-05-06").date(), end_period=pd.Timestamp("2024-06-02")
    )
    second["lift"] = 2.0 * TEST_SPEND
    both = pd.concat([tests, second.set_axis(["tv_flight_2024"], axis=0)])
    outcome = experiments_check(calibrate_tests(fit(data, GOOD), "revenue", both, set()).table, "revenue")
    assert not outcome.passed
    assert "2 of 2 lift test(s) disagree" in outcome.description
    assert "'tv_geo_holdout_2025_03'" in outcome.description and "'tv_flight_2024'" in outcome.description
    assert "tv_spend -> revenue" in outcome.description


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"lift_se": 0.0}, "lift_se must be a positive standard error"),
        ({"node": "radio_spend"}, "unknown node 'radio_spend'"),
        ({"start_period": pd.Timestamp("2019-01-07").date()}, "period outside the data"),
        ({"unit": "north"}, "unknown unit 'north'"),
    ],
)
def test_a_malformed_row_fails_naming_the_row(weekly, change, expected):
    data, tests, _ = weekly
    with pytest.raises(ValueError, match="tv_geo_holdout_2025_03") as info:
        calibrate_tests(fit(data, GOOD), "revenue", tests.assign(**change), set())
    assert expected in str(info.value)


def test_lift_test_units_and_labels():
    frame = pd.DataFrame({"date": [1, 2], "region": ["a", "b"]})

    class Spec:
        unit = ("date", "region")
        time_column = "date"

    assert lift_test_units(Spec(), frame) == {"a", "b"}  # type: ignore[arg-type]
    Spec.unit = ("date",)
    assert lift_test_units(Spec(), frame) == set()  # type: ignore[arg-type]
    row = {"node": "tv", "unit": None, "start_period": pd.Timestamp("2025-03-03"), "test": None}
    assert lift_test_label(row) == "tv all units 2025-03-03"
    assert lift_test_label({**row, "test": "geo_1"}) == "geo_1"


def _spec() -> IciSpec:
    from ici_assets.spec.parse import parse_model_spec

    columns = {
        "a": {"name": "a", "config": {"meta": {"ici": {"parents": []}}}},
        "y": {"name": "y", "config": {"meta": {"ici": {"parents": ["a"]}}}},
    }
    props = {"resource_type": "model", "name": "m", "unique_id": "model.p.m", "columns": columns}
    return parse_model_spec({**props, "config": {"meta": {"ici": {"target": "y"}}}})


def test_rows_carry_calibrated_and_readers_show_the_calibrated_ones():
    spec, facts = _spec(), SliceFacts(10, "v", None, None)
    key = ResultKey("ici/m/shares", "c", "r")
    table = pd.DataFrame({"node": ["a", "y"], "ici": [1.0, 1.0], "share": [50.0, 50.0], "mechanism": "linear"})
    table = table.assign(share_low=40.0, share_high=60.0, r2=0.5)
    plain = shares_rows(spec, table, facts, key)
    assert plain["calibrated"].tolist() == [False, False]  # a model without lift tests: false only
    both = pd.concat([shares_rows(spec, table.assign(share=[70.0, 30.0]), facts, key, calibrated=True), plain])
    shown = primary_rows(both)
    assert shown["calibrated"].all() and shown["share"].tolist() == [70.0, 30.0]
    assert len(primary_rows(plain)) == 2
    # decision rows: stamped false without lift tests; calibrated first, least squares after with them
    budget = pd.DataFrame({"node": ["a"], "total": [1.0], "current": [1.0], "recommended": [1.0]})
    assert stamp(budget, BUDGET_ALLOCATION, spec, key, "v")["calibrated"].tolist() == [False]
    rows = stamp(beside(budget, budget.assign(recommended=2.0)), BUDGET_ALLOCATION, spec, key, "v")
    assert rows["calibrated"].tolist() == [True, False] and rows["recommended"].tolist() == [1.0, 2.0]
    assert beside(budget, None) is budget


def test_lift_tests_read_from_the_warehouse_named_by_their_test_column_or_their_node(tmp_path, weekly):
    from ici_assets.assets.calibration import read_lift_tests
    from ici_assets.demo.tables import RAW_LAYOUTS
    from ici_assets.warehouse import DuckDBWarehouse, Recreate, table

    _, tests, _ = weekly
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    layout = RAW_LAYOUTS["lift_tests"]
    wh.publish([Recreate(layout, tests.reset_index(drop=True))])
    spec = _spec()
    read = read_lift_tests(wh, spec, layout.relation)
    assert list(read.index) == ["tv_geo_holdout_2025_03"] and read["lift"].iloc[0] == 100_000.0
    unnamed = table("raw", "unnamed", ", ".join(f"{c.name} {c.type.value}" for c in layout.columns[1:]))
    wh.publish([Recreate(unnamed, tests.drop(columns="test").reset_index(drop=True))])
    assert list(read_lift_tests(wh, spec, unnamed.relation).index) == ["tv_spend all units 2025-03-03"]
    partial = table("raw", "partial", "node text, lift float")
    wh.publish([Recreate(partial, tests[["node", "lift"]].reset_index(drop=True))])
    with pytest.raises(ValueError, match=r"raw.partial .*lacks column\(s\) \['unit', 'start_period'"):
        read_lift_tests(wh, spec, partial.relation)


def _manifest(experiments_model: str) -> dict:
    columns = {
        "date": {"name": "date"},
        "tv_spend": {"name": "tv_spend", "config": {"meta": {"ici": {"parents": []}}}},
        "revenue": {"name": "revenue", "config": {"meta": {"ici": {"parents": ["tv_spend"]}}}},
    }
    meta = {"target": "revenue", "unit": ["date"], "time_column": "date", "experiments": {"model": experiments_model}}
    return {
        "nodes": {
            "model.p.nodes": {
                "resource_type": "model",
                "name": "nodes",
                "unique_id": "model.p.nodes",
                "schema": "main",
                "config": {"meta": {"ici": meta}},
                "columns": columns,
            },
            "seed.p.tests": {"resource_type": "seed", "name": "tests", "unique_id": "seed.p.tests", "schema": "seeds"},
        }
    }


def test_the_experiments_model_is_an_upstream_dependency_of_the_scm_asset_or_a_named_error():
    import dagster as dg

    from ici_assets.assets.factory import ici_models, whole_period_assets
    from ici_assets.spec.parse import IciMetaError

    (model,) = ici_models(_manifest("tests"), lambda uid: dg.AssetKey(uid.split(".")[-1]))  # a seed will do
    assert model.experiments is not None and str(model.experiments.relation) == "seeds.tests"
    scm = whole_period_assets(model)[0]
    (key,) = scm.keys
    assert dg.AssetKey("tests") in scm.asset_deps[key]
    assert "experiments_agree" in {c.name for c in scm.check_specs}
    with pytest.raises(IciMetaError, match="meta.ici.experiments.model 'lift_test' is not a model or seed"):
        ici_models(_manifest("lift_test"), lambda uid: dg.AssetKey(uid.split(".")[-1]))


def test_the_data_version_changes_with_the_lift_tests(weekly):
    from ici_assets.assets.calibration import with_calibration
    from ici_assets.assets.nodes import ModelFit

    data, tests, _ = weekly
    scm = fit(data, GOOD)
    base = ModelFit(scm=scm, facts=SliceFacts(len(data), "nodes-v1", None, None))
    one = with_calibration(base, calibrate_tests(scm, "revenue", tests, set()))
    other = with_calibration(base, calibrate_tests(scm, "revenue", tests.assign(lift=90_000.0), set()))
    assert with_calibration(base, None) is base
    assert len({base.facts.data_version, one.facts.data_version, other.facts.data_version}) == 3
    assert one.scm is not scm and one.uncalibrated is scm and base.uncalibrated is None
