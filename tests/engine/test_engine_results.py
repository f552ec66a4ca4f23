"""Engine: every entry point returns its table and its facts the same way (EngineResult, one vocabulary of facts),
and takes the same interval keywords (Bootstrap: declared once, checked before any work)."""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from ici_assets.engine import (
    Bootstrap,
    BudgetFacts,
    ChangeFacts,
    EngineResult,
    Facts,
    IciFacts,
    ResponseFacts,
    change_attribution,
    compute_ici,
    estimate_ici,
    fit_scm,
    ici_from_scm,
    optimise_budget,
    spend_response,
)
from ici_assets.engine.cases import ARTICLE
from ici_assets.engine.timecases import regional_case

SHARED = {f.name for f in fields(Facts)}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return regional_case(0.5, n_units=3, n_periods=120, seed=2)


@pytest.fixture(scope="module")
def scm(data):
    return fit_scm(data, ARTICLE.edges, mechanisms="linear", time_column="period")


@pytest.fixture(scope="module")
def results(data, scm) -> dict[str, EngineResult]:
    half = sorted(data.period.unique())[60]
    old, new = data[data.period < half].reset_index(drop=True), data[data.period >= half].reset_index(drop=True)
    boot = Bootstrap(n_bootstrap=12, seed=5)
    return {
        "estimate_ici": estimate_ici(scm, "revenue", bootstrap=boot),
        "spend_response": spend_response(scm, "revenue", "tv_spend", [90_000.0, 110_000.0], bootstrap=boot),
        "optimise_budget": optimise_budget(scm, "revenue", ["tv_spend", "social_spend"], bootstrap=boot),
        "change_attribution": change_attribution(
            old, new, ARTICLE.edges, "revenue", mechanisms="linear", time_column="period", bootstrap=boot
        ),
    }


def test_every_entry_point_returns_a_table_and_facts_in_one_vocabulary(results, data) -> None:
    kinds = {
        "estimate_ici": IciFacts,
        "spend_response": ResponseFacts,
        "optimise_budget": BudgetFacts,
        "change_attribution": ChangeFacts,
    }
    for name, res in results.items():
        assert isinstance(res, EngineResult) and isinstance(res.table, pd.DataFrame) and not res.table.attrs, name
        facts = res.facts
        assert type(facts) is kinds[name], name
        assert facts.method == "closed_form_linear" and facts.target == "revenue" and facts.seed == 5
        assert facts.n_rows == len(data) and facts.n_periods == 120 and facts.seconds > 0
        assert (facts.n_bootstrap, facts.resampling, facts.interval, facts.level) == (12, "block", "calibrated", 0.95)
        assert facts.block_length is not None and facts.block_length >= 1 and facts.n_degenerate_resamples == 0
        assert facts.n_samples == 0  # closed form: nothing simulated
        plain = facts.as_dict()
        json.dumps(plain)
        assert SHARED - {"max_mc_se"} <= set(plain), (name, SHARED - set(plain))
    change = results["change_attribution"].facts
    assert change.n_old + change.n_new == change.n_rows and change.block_lengths is not None
    assert change.block_length == max(change.block_lengths)
    assert results["optimise_budget"].facts.no_diminishing_returns
    assert results["spend_response"].facts.node == "tv_spend"


def test_no_interval_facts_without_resamples(scm) -> None:
    facts = estimate_ici(scm, "revenue").facts
    assert (facts.n_bootstrap, facts.resampling, facts.block_length, facts.interval, facts.level) == (
        0,
        "none",
        None,
        None,
        None,
    )
    assert {"block_length", "interval", "level"}.isdisjoint(facts.as_dict())


def test_the_three_ici_entry_points_are_one_path(data, scm) -> None:
    """compute_ici (fit + table) and ici_from_scm (table) return estimate_ici's table, bit for bit."""
    table = estimate_ici(scm, "revenue", n_bootstrap=12, seed=5).table
    pd.testing.assert_frame_equal(ici_from_scm(scm, "revenue", n_bootstrap=12, seed=5), table, check_exact=True)
    fitted = compute_ici(
        data, ARTICLE.edges, "revenue", time_column="period", mechanisms="linear", n_bootstrap=12, seed=5
    )
    pd.testing.assert_frame_equal(fitted, table, check_exact=True)


def test_keywords_and_a_bootstrap_object_are_the_same_settings(scm, results) -> None:
    by_object = results["estimate_ici"].table
    by_keywords = estimate_ici(scm, "revenue", n_bootstrap=12, seed=5).table
    pd.testing.assert_frame_equal(by_object, by_keywords, check_exact=True)
    # a keyword given with the object replaces its field
    rows = estimate_ici(scm, "revenue", bootstrap=Bootstrap(n_bootstrap=12, seed=5), resampling="row")
    assert rows.facts.resampling == "row" and rows.facts.seed == 5
    assert Bootstrap.of("f", Bootstrap(seed=3), {"n_bootstrap": 4}) == Bootstrap(n_bootstrap=4, seed=3)


def test_level_sets_the_coverage_of_every_interval(scm) -> None:
    wide = estimate_ici(scm, "revenue", n_bootstrap=30, seed=1).table
    narrow = estimate_ici(scm, "revenue", n_bootstrap=30, seed=1, level=0.8).table
    assert ((narrow.share_high - narrow.share_low) < (wide.share_high - wide.share_low)).all()
    a = spend_response(scm, "revenue", "tv_spend", [100_000.0], n_bootstrap=10, seed=1, level=0.5).table
    b = spend_response(scm, "revenue", "tv_spend", [100_000.0], n_bootstrap=10, seed=1).table
    assert float((a.high - a.low).iloc[0]) < float((b.high - b.low).iloc[0])


@pytest.mark.parametrize(
    "call",
    [
        lambda scm, data, kw: estimate_ici(scm, "revenue", **kw),
        lambda scm, data, kw: compute_ici(data, ARTICLE.edges, "revenue", mechanisms="linear", **kw),
        lambda scm, data, kw: spend_response(scm, "revenue", "tv_spend", [1.0], **kw),
        lambda scm, data, kw: optimise_budget(scm, "revenue", ["tv_spend"], **kw),
        lambda scm, data, kw: change_attribution(data, data, ARTICLE.edges, "revenue", mechanisms="linear", **kw),
    ],
    ids=["estimate_ici", "compute_ici", "spend_response", "optimise_budget", "change_attribution"],
)
def test_every_entry_point_checks_the_same_keywords_before_any_work(scm, data, call, request) -> None:
    name = request.node.callspec.id
    with pytest.raises(TypeError, match=rf"{name}\(\) got unexpected keyword argument\(s\): n_boostrap"):
        call(scm, data, {"n_boostrap": 10})
    for bad, message in [
        ({"interval": "bca2"}, "unknown interval 'bca2'"),
        ({"resampling": "weekly"}, "unknown resampling 'weekly'"),
        ({"n_bootstrap": -1}, "n_bootstrap=-1"),
        ({"level": 95}, "level=95 must be between 0 and 1"),
        ({"block_length": 0}, "block_length=0"),
    ]:
        with pytest.raises(ValueError, match=message):
            call(scm, data, bad)


def test_bootstrap_defaults_live_in_one_place() -> None:
    b = Bootstrap()
    assert (b.n_bootstrap, b.seed, b.resampling, b.block_length, b.interval, b.level) == (
        0,
        0,
        "auto",
        None,
        "calibrated",
        0.95,
    )
    assert not b.active and Bootstrap(n_bootstrap=1).active
    with pytest.raises(TypeError, match="whole number"):
        Bootstrap(n_bootstrap=2.5)  # type: ignore[arg-type]
    np.testing.assert_array_equal(
        Bootstrap(seed=4).rng(1).integers(0, 100, 5), np.random.default_rng([4, 1]).integers(0, 100, 5)
    )
