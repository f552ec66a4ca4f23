"""shares_stable: a share that moved beyond its interval since the last materialisation is named, with its cause."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from ici_assets.checks.stability import previous_shares, stability_check
from ici_assets.engine import Bootstrap, estimate_ici, fit_scm
from ici_assets.publish.versions import frame_hash

NODES = ["demand", "tv_spend", "social_spend", "clicks", "revenue"]
EDGES = [("demand", "clicks"), ("tv_spend", "clicks"), ("social_spend", "clicks"), ("clicks", "revenue")]


def shop(n_days: int, n_regions: int = 6, tv_boost_from: int | None = None, seed: int = 0) -> pd.DataFrame:
    """A daily regional shop; from day ``tv_boost_from`` on, TV's effect on clicks doubles."""
    rng = np.random.default_rng(seed)
    n = n_days * n_regions
    day = np.tile(np.arange(n_days), n_regions)
    demand = rng.normal(100, 25, n)
    tv = rng.normal(100, 20, n)
    social = rng.normal(100, 25, n)
    tv_effect = np.where(day >= (tv_boost_from if tv_boost_from is not None else n_days), 1.0, 0.5)
    clicks = 0.75 * demand + tv_effect * tv + 0.25 * social + rng.normal(0, 10, n)
    revenue = 2.0 * clicks + rng.normal(0, 5, n)
    return pd.DataFrame(
        {
            "demand": demand,
            "tv_spend": tv,
            "social_spend": social,
            "clicks": clicks,
            "revenue": revenue,
            "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(day, unit="D"),
        }
    )


def published(frame: pd.DataFrame, code_version: str = "code-1", when: str = "2025-03-01") -> pd.DataFrame:
    """The rows the shares asset would publish for ``frame`` (the columns the check reads)."""
    scm = fit_scm(frame, nx.DiGraph(EDGES), mechanisms="linear", seed=0, time_column="date")
    table = estimate_ici(scm, "revenue", bootstrap=Bootstrap(n_bootstrap=60, seed=0)).table
    return table[["node", "share", "share_low", "share_high"]].assign(
        partition_key=None,
        code_version=code_version,
        data_version=frame_hash(frame),
        materialized_at=pd.Timestamp(when, tz="UTC"),
    )


@pytest.fixture(scope="module")
def three_quarters():
    return published(shop(273))


def test_first_materialisation_has_nothing_to_compare(three_quarters):
    outcome = stability_check(three_quarters, three_quarters.iloc[:0])
    assert outcome.passed
    assert outcome.description == "First materialisation: nothing to compare with."


def test_rerun_on_unchanged_data_is_silent(three_quarters):
    again = published(shop(273), when="2025-03-02")
    outcome = stability_check(again, three_quarters)
    assert outcome.passed, outcome.description
    assert outcome.metadata["moved_nodes"] == []
    assert outcome.metadata["largest_move_points"] == 0.0
    assert outcome.description.endswith("since the run of 2025-03-01; data unchanged, code unchanged.")


def test_tv_effect_doubling_in_the_last_quarter_is_named_with_its_cause(three_quarters):
    year = published(shop(365, tv_boost_from=273), when="2025-04-01")
    outcome = stability_check(year, three_quarters)
    assert not outcome.passed
    moved = outcome.metadata["moved_nodes"]
    assert "tv_spend" in moved
    assert outcome.metadata["data_changed"] and not outcome.metadata["code_changed"]
    delta = (year.set_index("node")["share"] - three_quarters.set_index("node")["share"]).loc[moved]
    assert list(delta.abs().sort_values(ascending=False).index) == moved  # the largest move is named first
    before = three_quarters.set_index("node")["share"]["tv_spend"]
    after = year.set_index("node")["share"]["tv_spend"]
    assert f"tv_spend {after - before:+.1f} points ({before:.1f} -> {after:.1f};" in outcome.description
    assert outcome.description.endswith(
        "since the run of 2025-03-01, beyond its interval; data changed, code unchanged."
    )


def test_the_interval_of_a_change_is_the_two_half_widths_combined():
    old = pd.DataFrame(
        {
            "partition_key": [None],
            "node": ["tv"],
            "share": [20.0],
            "share_low": [19.0],  # half-width 1
            "share_high": [21.0],
            "code_version": ["a"],
            "data_version": ["d"],
            "materialized_at": [pd.Timestamp("2025-01-01", tz="UTC")],
        }
    )
    within = old.assign(share=21.4, share_low=20.4, share_high=22.4)  # moved 1.4 < sqrt(2) = 1.414
    beyond = old.assign(share=21.5, share_low=20.5, share_high=22.5, code_version="b")
    assert stability_check(within, old).passed
    outcome = stability_check(beyond, old)
    assert not outcome.passed
    assert "interval of the change +-1.4" in outcome.description
    assert outcome.description.endswith("data unchanged, code or settings changed.")
    no_interval = old.assign(share_low=np.nan, share_high=np.nan)
    assert stability_check(no_interval.assign(share=20.9), no_interval).passed  # 1 point without intervals
    assert not stability_check(no_interval.assign(share=21.1), no_interval).passed


def test_a_node_added_or_removed_is_a_move_and_partitions_compare_with_their_own_rows():
    old = pd.DataFrame(
        {
            "partition_key": ["2025-01-01", "2025-02-01"],
            "node": ["tv", "tv"],
            "share": [20.0, 50.0],
            "share_low": [19.0, 49.0],
            "share_high": [21.0, 51.0],
            "code_version": ["a", "a"],
            "data_version": ["d", "e"],
            "materialized_at": [pd.Timestamp("2025-01-01", tz="UTC")] * 2,
        }
    )
    january = previous_shares(old, "2025-01-01")
    assert list(january["share"]) == [20.0]
    assert previous_shares(old, None).empty
    new = pd.concat([january, january.assign(node="radio", share=1.0)], ignore_index=True)
    outcome = stability_check(new, january)
    assert not outcome.passed and outcome.metadata["moved_nodes"] == ["radio"]
    assert outcome.description.startswith("radio new since the run of 2025-01-01")
