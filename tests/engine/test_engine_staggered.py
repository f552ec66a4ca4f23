"""The engine on a panel that is not a rectangle (issue 23, item 4): 12 regions x 540 days, one region opening 90
days late, one missing three days. Shares stay within their sampling error of the truth; the block bootstrap
resamples whole periods with whatever units they hold, and its block length is not fooled by the changing
number of rows per day; the mechanism choice's standard error follows runs of unequal size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.engine import compute_ici, fit_scm
from ici_assets.engine.resampling import resampling_plan
from ici_assets.engine.selection import _clearly_better
from tests.user_data import MEDIA, STAGGERED, staggered_table

N_BOOTSTRAP = 200


@pytest.fixture(scope="module")
def tables() -> dict[str, tuple[pd.DataFrame, dict[str, float]]]:
    return {
        "staggered": staggered_table(MEDIA, STAGGERED, seed=0),
        "rectangle": staggered_table(MEDIA, STAGGERED, seed=0, rectangle=True),
    }


def shares(table: pd.DataFrame) -> pd.DataFrame:
    res = compute_ici(table, MEDIA.edges, MEDIA.target, time_column="period", n_bootstrap=N_BOOTSTRAP, seed=0)
    return res.set_index("node")


def test_shares_stay_within_their_sampling_error_of_the_truth(tables):
    table, truth = tables["staggered"]
    got = shares(table)
    assert len(table) == 12 * 540 - 90 - 3
    for node, t in truth.items():
        row = got.loc[node]
        assert row["share_low"] <= t <= row["share_high"], (node, t, row.to_dict())
        assert abs(row["share"] - t) <= 1.0, (node, row["share"], t)
    assert got["share"].sum() == pytest.approx(100.0)


def test_intervals_are_as_wide_as_on_the_full_rectangle(tables):
    """Dropping 93 of 6480 rows hardly changes the information: the intervals stay within a quarter of the
    rectangle's width (neither collapsed nor inflated by the ragged edge)."""
    ragged, full = shares(tables["staggered"][0]), shares(tables["rectangle"][0])
    big = full.index[full["share"] > 5]
    ratio = (ragged["share_high"] - ragged["share_low"])[big] / (full["share_high"] - full["share_low"])[big]
    assert ratio.between(0.75, 1.25).all(), ratio.to_dict()


def test_block_length_ignores_the_changing_number_of_rows_per_day(tables):
    """Summing a root's noise per day made the late region's opening a persistent level shift (block length
    44 days on this panel against 4 on the rectangle); per-day means of the centred noises do not."""
    lengths = {}
    for name, (table, _) in tables.items():
        scm = fit_scm(table[[*MEDIA.nodes, "period"]], MEDIA.edges, time_column="period")
        lengths[name] = resampling_plan(scm, scm.order).block_length
    assert lengths["rectangle"] == 4 and abs(lengths["staggered"] - lengths["rectangle"]) <= 1, lengths


def test_a_resample_holds_whole_periods_with_the_units_present(tables):
    table, _ = tables["staggered"]
    scm = fit_scm(table[[*MEDIA.nodes, "period"]], MEDIA.edges, time_column="period")
    plan = resampling_plan(scm, scm.order)
    counts = plan.unit_counts(1, np.random.default_rng(3))[0]
    rows = plan.rows(counts)
    per_day = np.bincount(scm.periods, minlength=plan.n_periods)
    drawn = np.bincount(scm.periods[rows], minlength=plan.n_periods)
    assert (drawn == counts * per_day).all()
    assert set(per_day[:90]) == {11} and per_day[200] == 11 and per_day[300] == 12


def test_selection_error_of_a_constant_gain_is_zero_on_runs_of_unequal_size():
    """The paired gain is the same in every row: no sampling error, however many rows each run of periods holds
    (batch sums scaled by unequal row counts made it look noisy)."""
    periods = np.repeat(np.arange(60), np.where(np.arange(60) < 15, 11, 12))
    e_simple, e_flex = np.full(len(periods), 2.0), np.full(len(periods), 1.0)
    z, better = _clearly_better(e_simple, e_flex, periods)
    assert z == np.inf and better
