"""Categorical roots (string/boolean columns): one ICI share per node within the sampling floor of its truth, the
Monte Carlo and bootstrap paths, and the named errors (engine/categorical.py, categoricalcases.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.engine import compute_ici, estimate_ici, fit_scm
from ici_assets.engine.categorical import MIN_LEVEL_PERIODS, CategoricalParents
from ici_assets.engine.categoricalcases import EDGES, CategoricalCase
from ici_assets.engine.shapley import sample_noises

ROOTS = ("weekday", "promo", "tv")


def shares(table: pd.DataFrame) -> pd.Series:
    return table.set_index("node")["share"]


def test_population_truth_is_the_variance_of_each_term() -> None:
    """The case's analytic shares agree with the variance of each term on a large simulated sample."""
    case = CategoricalCase()
    df = case.sample(200_000, seed=9)
    promo_term = 2 * df.promo.map({"none": 0, "bundle": 3, "discount": 5}) + df.promo.map(
        {"none": 0, "bundle": -1, "discount": -4}
    )
    assert np.var(promo_term) == pytest.approx(case.ici()["promo"], rel=0.02)
    assert np.var(df.revenue) == pytest.approx(sum(case.ici().values()), rel=0.01)


def test_linear_categorical_roots_match_population_shares_at_large_n() -> None:
    """Closed form on 200,000 rows: every share within 0.25 points of the population truth. The sampling floor
    (sd of the share over 20 seeds at 5,000 rows: weekday 0.37, promo 0.33, TV 0.51 points) scales as 1/sqrt(n),
    so at 200,000 rows it is 0.06 / 0.05 / 0.08: 0.25 is 3 sd of the widest, and a wrong encoding (per level,
    codes as numbers) misses by points."""
    case = CategoricalCase()
    table = compute_ici(case.sample(200_000, seed=1), EDGES, "revenue", mechanisms="linear", n_bootstrap=0)
    got, truth = shares(table), case.shares()
    assert list(table["node"]).count("promo") == 1 and "promo" in set(table["node"])  # one share per node
    for node, share in truth.items():
        assert got[node] == pytest.approx(share, abs=0.25), node
    assert table.set_index("node").loc["promo", "mechanism"] == "root"


def test_codes_as_numbers_would_be_wrong() -> None:
    """The same promo column given as numeric codes (a linear effect per code) misses its truth by points: the
    dummies matter, so the test above can fail."""
    case = CategoricalCase()
    df = case.sample(50_000, seed=2)
    df["promo"] = df.promo.map({"bundle": 0.0, "discount": 1.0, "none": 2.0})
    got = shares(
        compute_ici(
            df.drop(columns="weekday"),
            [e for e in EDGES if e[0] != "weekday"],
            "revenue",
            mechanisms="linear",
            n_bootstrap=0,
        )
    )
    assert abs(got["promo"] - case.shares()["promo"]) > 2.0


def test_linear_share_within_three_bootstrap_sd_of_truth_and_interval_covers_it() -> None:
    """5,000 rows: each root's share within 3 of its bootstrap sds (the sampling floor estimated from the data;
    refits with dummies, closed form per resample) of the population truth."""
    case = CategoricalCase()
    result = estimate_ici(fit_scm(case.sample(5_000, seed=3), EDGES, mechanisms="linear"), "revenue", n_bootstrap=60)
    table, truth = result.table.set_index("node"), case.shares()
    assert result.facts.method == "closed_form_linear"
    for node in ROOTS:
        row = table.loc[node]
        sd = (row.share_high - row.share_low) / (2 * 1.96)
        assert 0.05 < sd < 1.5, node
        assert abs(row.share - truth[node]) <= 3 * sd, node
        assert row.share_low <= row.share <= row.share_high


@pytest.mark.parametrize("mechanisms", ["auto", {"visits": "spline"}])
def test_nonlinear_child_of_categoricals_gets_shares_within_floor(mechanisms) -> None:
    """Saturating TV response: a nonlinear mechanism for visits (simulated Shapley values) keeps the categorical
    roots' shares within 1.2 points of truth on 20,000 rows: 3 x sqrt(floor^2 + MC^2), with the floor 0.28 points
    (0.55 at 5,000 rows over 8 seeds, / 2) and the Monte Carlo tolerance 0.25 points."""
    case = CategoricalCase(saturating=True)
    result = estimate_ici(fit_scm(case.sample(20_000, seed=4), EDGES, mechanisms=mechanisms), "revenue", n_bootstrap=0)
    table, truth = result.table.set_index("node"), case.shares()
    assert result.facts.method.startswith("shapley")
    assert table.loc["visits", "mechanism"] != "linear"
    for node in ("weekday", "promo"):
        assert table.loc[node, "share"] == pytest.approx(truth[node], abs=1.2), node


def test_sampling_keeps_levels_and_children_see_dummies() -> None:
    """A categorical root's noise is its level code: simulated draws are codes of observed levels only."""
    scm = fit_scm(CategoricalCase().sample(2_000, seed=5), EDGES, mechanisms="linear")
    assert scm.categories["weekday"] == ("Fri", "Mon", "Sat", "Sun", "Thu", "Tue", "Wed")
    draws = sample_noises(scm, scm.order, 5_000, np.random.default_rng(0))
    codes = draws[:, scm.order.index("weekday")]
    assert set(np.unique(codes)) == set(range(7))
    visits = scm.mechanisms["visits"]
    assert isinstance(visits, CategoricalParents) and visits.kind == "linear"
    continuous, levels = visits.linear_parts()
    assert continuous == {scm.parents["visits"].index("tv"): pytest.approx(1.5, abs=0.05)}
    promo = levels[scm.parents["visits"].index("promo")]  # bundle, discount, none: relative to bundle
    assert promo == pytest.approx([0.0, 2.0, -3.0], abs=0.3)
    assert not scm.is_linear() and scm.is_linear_in_levels()


def test_boolean_root_and_block_bootstrap_with_time_column() -> None:
    """A boolean holiday flag as a root in a daily panel: its share matches truth and the block bootstrap (which
    may draw resamples without some level) gives finite intervals around the point."""
    rng = np.random.default_rng(6)
    days = np.repeat(np.arange(400), 3)
    holiday = np.isin(days % 30, [0, 1, 2])[:]
    tv = rng.normal(10, 2, len(days))
    y = 2.0 * tv + 4.0 * holiday + rng.normal(0, 1, len(days))
    df = pd.DataFrame({"day": days, "holiday": holiday, "tv": tv, "y": y})
    table = compute_ici(
        df, [("holiday", "y"), ("tv", "y")], "y", time_column="day", mechanisms="linear", n_bootstrap=40
    ).set_index("node")
    p = holiday.mean()
    truth = {"holiday": 16 * p * (1 - p), "tv": 16.0, "y": 1.0}
    total = sum(truth.values())
    assert table.loc["holiday", "share"] == pytest.approx(100 * truth["holiday"] / total, abs=1.0)
    assert np.isfinite(table[["share_low", "share_high"]].to_numpy()).all()
    assert (table.share_low <= table.share).all() and (table.share <= table.share_high).all()


def test_categorical_target_is_refused_with_its_name() -> None:
    df = CategoricalCase().sample(500, seed=7)
    with pytest.raises(ValueError, match=r"target 'promo' is categorical.*numeric target"):
        compute_ici(df, [("tv", "promo")], "promo")


def test_categorical_with_parents_is_refused_saying_what_to_do() -> None:
    df = CategoricalCase().sample(500, seed=7)
    with pytest.raises(ValueError, match=r"node 'promo' is categorical .* has parents \['tv'\].*must be a root"):
        fit_scm(df, [("tv", "promo"), ("promo", "visits")])
    with pytest.raises(ValueError, match=r"node 'promo' is categorical .* has parents \['tv'\]"):
        compute_ici(df, [("tv", "promo"), ("promo", "revenue"), ("visits", "revenue")], "revenue")


def test_rare_level_is_refused_naming_node_level_count_and_threshold() -> None:
    df = CategoricalCase().sample(500, seed=8)
    df.loc[:2, "promo"] = "flash_sale"
    with pytest.raises(
        ValueError,
        match=rf"level 'flash_sale' of categorical node 'promo' is seen in 3 rows, fewer "
        rf"than the {MIN_LEVEL_PERIODS}",
    ):
        compute_ici(df, EDGES, "revenue")
    # with a time column the count is of periods: 40 rows in 2 days is still 2 periods
    df["day"] = np.arange(len(df)) // 20
    df["promo"] = np.where(df["day"] < 2, "flash_sale", df["promo"])
    with pytest.raises(ValueError, match=r"level 'flash_sale' of categorical node 'promo' is seen in 2 periods"):
        fit_scm(df, EDGES, time_column="day")


def test_missing_and_single_level_categoricals_are_named() -> None:
    df = CategoricalCase().sample(500, seed=9)
    df.loc[3, "weekday"] = None
    with pytest.raises(ValueError, match=r"categorical column 'weekday' has 1 missing value"):
        fit_scm(df, EDGES)
    df["weekday"] = "Mon"
    with pytest.raises(ValueError, match=r"categorical column 'weekday' has a single level"):
        fit_scm(df, EDGES)


def test_spend_decisions_refuse_a_categorical_node() -> None:
    from ici_assets.engine import spend_response

    scm = fit_scm(CategoricalCase().sample(1_000, seed=10), EDGES, mechanisms="linear")
    with pytest.raises(ValueError, match=r"node\(s\) \['promo'\] are categorical .*numeric spend node"):
        spend_response(scm, "revenue", "promo", [0.0, 1.0], n_bootstrap=0)


@pytest.mark.parametrize("mechanisms", ["linear", {"visits": "spline"}])
def test_per_row_contributions_sum_to_the_target_and_credit_the_level(mechanisms) -> None:
    """Per-row contributions (exact when linear in the levels, Shapley from a level baseline otherwise) add up to
    the target, and promo's column is its row's level effect on revenue, centred (2 x visits effect + own)."""
    from ici_assets.engine import contributions

    df = CategoricalCase(saturating=mechanisms != "linear").sample(1_500, seed=11)
    scm = fit_scm(df, EDGES, mechanisms=mechanisms)
    phi = contributions(scm, "revenue")
    assert phi.sum(axis=1).to_numpy() + df.revenue.mean() == pytest.approx(df.revenue.to_numpy(), abs=1e-6)
    level = df.promo.map({"none": 0.0, "bundle": 5.0, "discount": 6.0})  # 2 x (0, 3, 5) + (0, -1, -4)
    by_level = phi["promo"].groupby(df.promo).mean()
    truth = (level - level.mean()).groupby(df.promo).mean()
    assert by_level.to_numpy() == pytest.approx(truth.to_numpy(), abs=0.6)


def test_numeric_values_as_text_get_a_cast_hint() -> None:
    df = CategoricalCase().sample(300, seed=12)
    df["tv"] = df.tv.round(3).astype(str)
    with pytest.raises(ValueError, match=r"categorical node 'tv' .*mostly numeric text.*cast it to a float column\)"):
        fit_scm(df, EDGES)
    df.loc[7, "tv"] = "high"  # one stray word in a quantity column: named
    with pytest.raises(ValueError, match=r"categorical node 'tv' .*numeric text.*not a number: 'high'\)"):
        fit_scm(df, EDGES)


def test_change_attribution_credits_a_shift_of_promotions_to_promo() -> None:
    """New period with a quarter of the 'none' promotions (rows of the same SCM: mechanisms unchanged, promo's
    distribution moved to 0.2 / 0.48 / 0.32): promo's root part carries the change of revenue's mean,
    1.62 = (0.48 x 5 + 0.32 x 6) - (0.3 x 5 + 0.2 x 6). A level missing from one sample is refused, named."""
    from ici_assets.engine import change_attribution

    case = CategoricalCase()
    old, pool = case.sample(4_000, seed=13), case.sample(12_000, seed=14)
    keep = (pool.promo != "none") | (np.arange(len(pool)) % 4 == 0)
    new = pool[keep].reset_index(drop=True)
    result = change_attribution(old, new, EDGES, "revenue", mechanisms="linear", n_bootstrap=0)
    table = result.table.set_index("node")
    assert table.contribution.sum() == pytest.approx(result.facts.observed_change, abs=1e-6)
    assert table.loc["promo", "contribution"] == pytest.approx(1.62, abs=0.3)
    assert abs(table.loc["weekday", "contribution"]) < 0.3 and abs(table.loc["visits", "contribution"]) < 0.3
    without = pool[pool.promo != "none"].reset_index(drop=True)
    with pytest.raises(ValueError, match=r"new_data: level 'none' of categorical node 'promo' is seen in 0 rows"):
        change_attribution(old, without, EDGES, "revenue", mechanisms="linear", n_bootstrap=0)


def test_anomalies_take_rows_with_levels_and_name_an_unseen_one() -> None:
    """Rows of the node table (levels as text) are explained: contributions sum to each row's deviation and a
    discount row credits promo with about its level effect above the mean; an unseen level is named."""
    from ici_assets.engine import attribute_anomalies

    case = CategoricalCase()
    df = case.sample(3_000, seed=15)
    scm = fit_scm(df, EDGES, mechanisms="linear")
    rows = df.head(40)
    table = attribute_anomalies(scm, rows, "revenue", threshold=0.0).table
    by_row = table.groupby("row")
    assert by_row.contribution.sum().to_numpy() == pytest.approx(by_row.deviation.first().to_numpy(), abs=1e-6)
    promo = table[table.node == "promo"].set_index("row").contribution
    mean_effect = 0.3 * 5.0 + 0.2 * 6.0
    discount = [i for i in range(len(rows)) if rows.promo.iloc[i] == "discount"]
    assert promo.iloc[discount].to_numpy() == pytest.approx(6.0 - mean_effect, abs=0.6)
    bad = rows.assign(promo="flash")
    with pytest.raises(ValueError, match=r"categorical node 'promo' has level\(s\) \['flash'\] the model was not"):
        attribute_anomalies(scm, bad, "revenue")


def test_a_per_edge_coefficient_of_a_categorical_parent_is_refused_by_name() -> None:
    scm = fit_scm(CategoricalCase().sample(1_000, seed=16), EDGES, mechanisms="linear")
    with pytest.raises(ValueError, match=r"node 'visits' has categorical parent\(s\) \['promo', 'weekday'\]"):
        scm.linear_coefficients("visits")
