"""The demo generator: determinism, grains, exact sums, and the truth it claims to encode."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ici_assets import demo
from ici_assets.demo import (
    NODE_UNITS,
    TV_ADSTOCK_DECAY,
    TV_ADSTOCK_MAX_LAG,
    adstock_weights,
    generate_raw_tables,
    ground_truth_ici,
    simulate_nodes,
    structural_coefficients,
    write_raw_tables,
)
from ici_assets.warehouse import DuckDBWarehouse

# Small enough to be fast, large enough for tight regression checks (7,300 date x regions).
SMALL = {"seed": 7, "n_regions": 20, "n_days": 365}
ARTICLE_SHARES = {
    "demand": 30.14,
    "tv_spend": 17.50,
    "social_spend": 24.67,
    "organic_clicks": 0.17,
    "social_clicks": 27.34,
    "revenue": 0.17,
}
NODE_COLUMNS = ["demand", "tv_adstock", "social_spend", "organic_clicks", "social_clicks", "revenue"]


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_raw_tables(**SMALL)


@pytest.fixture(scope="module")
def nodes() -> pd.DataFrame:
    return simulate_nodes(**SMALL)


def mart_from_raw(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """What dbt's marketing_nodes computes, in pandas (tv_adstock over the whole spend history,
    rows on the demand index's days)."""
    key = ["date", "region"]
    spend = tables["ad_spend"].pivot_table(index=key, columns="channel", values="spend", aggfunc="sum", observed=True)
    tv = spend["tv"].unstack("region").asfreq("D").fillna(0.0)  # dense days x regions
    adstock = sum(
        float(w) * tv.shift(lag) for lag, w in enumerate(adstock_weights(TV_ADSTOCK_DECAY, TV_ADSTOCK_MAX_LAG))
    )
    spend["tv_adstock"] = adstock.stack().reindex(spend.index)
    sessions = tables["web_sessions"]
    organic = sessions[(sessions["source"] == "google") & (sessions["medium"] == "organic")]
    social = sessions[sessions["medium"] == "paid_social"]
    orders = tables["orders"].assign(
        date=tables["orders"]["ordered_at"].dt.normalize(),
        region=tables["orders"]["region"].astype(str),
    )
    return (
        tables["demand_index"]
        .set_index(key)
        .rename(columns={"search_interest": "demand"})
        .join(spend.rename(columns={"tv": "tv_spend", "social": "social_spend"}), how="left")
        .join(organic.groupby(key)["sessions"].sum().rename("organic_clicks"))
        .join(social.groupby(key)["sessions"].sum().rename("social_clicks"))
        .join(orders.groupby(key)["revenue"].sum().rename("revenue"))
        .reset_index()
    )


def test_same_seed_same_tables_other_seed_other_tables(tables):
    again = generate_raw_tables(**SMALL)
    assert set(again) == {"ad_spend", "web_sessions", "orders", "demand_index", "ground_truth_ici"}
    for name, df in tables.items():
        assert list(df.columns) == list(again[name].columns), name
        assert (df.dtypes == again[name].dtypes).all(), name
        for col in df.columns:
            a, b = df[col], again[name][col]
            if isinstance(a.dtype, pd.CategoricalDtype):
                a, b = a.cat.codes, b.cat.codes
            assert np.array_equal(a.to_numpy(), b.to_numpy()), (name, col)
    other = generate_raw_tables(**{**SMALL, "seed": 8, "n_days": 30})
    first_month = tables["demand_index"].iloc[: len(other["demand_index"])]
    assert not np.allclose(first_month["search_interest"], other["demand_index"]["search_interest"])


def test_grains_are_unique_and_complete(tables):
    n_cells = SMALL["n_regions"] * SMALL["n_days"]
    demand = tables["demand_index"]
    assert len(demand) == n_cells
    assert not demand.duplicated(["date", "region"]).any()
    assert demand["date"].nunique() == SMALL["n_days"]
    assert not tables["ad_spend"].duplicated(["date", "region", "channel", "campaign"]).any()
    # Spend history starts TV_ADSTOCK_MAX_LAG days before the shop data (the adstock burn-in).
    spend_days = tables["ad_spend"]["date"]
    assert spend_days.nunique() == SMALL["n_days"] + TV_ADSTOCK_MAX_LAG
    assert spend_days.min() == demand["date"].min() - pd.Timedelta(days=TV_ADSTOCK_MAX_LAG)
    assert spend_days.max() == demand["date"].max()
    for name in ("web_sessions", "demand_index"):
        assert tables[name]["date"].min() == demand["date"].min(), name
    assert not tables["web_sessions"].duplicated(["date", "region", "source", "medium"]).any()
    assert tables["orders"]["order_id"].is_unique
    campaigns = tables["ad_spend"].groupby(["date", "region", "channel"]).size()
    assert len(campaigns) == 2 * (n_cells + TV_ADSTOCK_MAX_LAG * SMALL["n_regions"])
    assert campaigns.between(2, 3).all() and set(campaigns.unique()) == {2, 3}
    assert set(tables["ad_spend"]["channel"]) == {"tv", "social"}
    assert set(zip(tables["web_sessions"]["source"], tables["web_sessions"]["medium"])) == {
        ("google", "organic"),
        ("facebook", "paid_social"),
        ("instagram", "paid_social"),
        ("direct", "(none)"),
        ("newsletter", "email"),
    }


def test_raw_tables_aggregate_exactly_to_the_nodes(tables, nodes):
    mart = mart_from_raw(tables)
    assert len(mart) == len(nodes)
    pd.testing.assert_series_equal(mart["region"], nodes["region"].astype(mart["region"].dtype))
    assert (mart["date"].to_numpy() == nodes["date"].to_numpy()).all()
    for col in ["tv_spend", "social_spend", "revenue"]:  # money: equal to the cent
        cents = np.rint(mart[col].to_numpy() * 100).astype(np.int64)
        assert (cents == np.rint(nodes[col].to_numpy() * 100).astype(np.int64)).all(), col
    for col in ["demand", "organic_clicks", "social_clicks"]:
        np.testing.assert_array_equal(mart[col].to_numpy(float), nodes[col].to_numpy(float))
    # the adstock of the recorded spend is the one the clicks responded to
    np.testing.assert_allclose(mart["tv_adstock"], nodes["tv_adstock"], rtol=1e-12, atol=0)


def test_orders_sum_to_the_daily_revenue_and_look_like_orders(tables, nodes):
    orders = tables["orders"]
    cents = np.rint(orders["revenue"].to_numpy() * 100).astype(np.int64)
    assert (cents >= 1).all()
    assert np.allclose(orders["revenue"] * 100, cents)  # two decimals
    day = orders["ordered_at"].dt.normalize()
    per_day = pd.Series(cents).groupby([day.to_numpy(), orders["region"].astype(str).to_numpy()]).sum()
    expected = pd.Series(
        np.rint(nodes["revenue"].to_numpy() * 100).astype(np.int64),
        index=pd.MultiIndex.from_arrays([nodes["date"].to_numpy(), nodes["region"].to_numpy()]),
    )
    assert (per_day.sort_index().to_numpy() == expected.sort_index().to_numpy()).all()
    aov = orders["revenue"].mean()
    assert 100 < aov < 120, aov
    assert len(orders) == pytest.approx(nodes["revenue"].sum() / demo.AVERAGE_ORDER_VALUE, rel=0.01)


def test_spend_is_positive(tables, nodes):
    assert (tables["ad_spend"]["spend"] > 0).all()
    assert (nodes[["tv_spend", "social_spend"]] > 0).all().all()


def test_negative_spend_draws_are_redrawn(monkeypatch):
    # Shift social spend down so that ~16 % of draws would be negative: all must be redrawn.
    monkeypatch.setitem(demo.NODE_UNITS, "social_spend", (-3_000.0, 0.04))
    social = simulate_nodes(seed=1, n_regions=10, n_days=100)["social_spend"]
    assert (social > 0).all()
    # Truncated normal: mean rises above the untruncated 1,000 EUR.
    assert social.mean() > 1_100


def test_last_click_channels_are_clicked_channels_in_proportion(tables, nodes):
    orders = tables["orders"]
    assert set(orders["last_click_channel"].astype(str)) == {"organic_search", "paid_social"}
    p_organic = nodes["organic_clicks"] / (nodes["organic_clicks"] + nodes["social_clicks"])
    # Orders are credited in proportion to each day's clicks: compare revenue-weighted means.
    expected = np.average(p_organic, weights=nodes["revenue"])
    observed = (orders["last_click_channel"] == "organic_search").mean()
    assert observed == pytest.approx(expected, abs=0.003)


@pytest.mark.parametrize(("carryover", "tv"), [((0.0, 0), "tv_spend"), ((), "tv_adstock")])
def test_ground_truth_reproduces_the_article_shares(carryover, tv):
    # Same-day model (the article's) and the default carryover, whose adstocked TV node has
    # the article's TV distribution: the same shares, under the TV node's name.
    truth = ground_truth_ici(*carryover).set_index("node")
    expected = {(tv if node == "tv_spend" else node): share for node, share in ARTICLE_SHARES.items()}
    assert list(truth.index) == list(expected)
    for node, share in expected.items():
        assert truth.loc[node, "share"] == pytest.approx(share, abs=0.01), node
    assert truth["share"].sum() == pytest.approx(100.0)
    # ICI in EUR^2: scale_revenue^2 times the article's a_j^2 Var(N_j); they add to Var(revenue).
    article_var_revenue = 1.05**2 * 25_000**2 + 20_000**2 + 0.95**2 * 25_000**2 + 2 * 2_000**2 + 25_000**2
    assert truth["ici"].sum() == pytest.approx(NODE_UNITS["revenue"][1] ** 2 * article_var_revenue)


def test_ground_truth_matches_the_generated_data(nodes):
    truth = ground_truth_ici().set_index("node")
    assert nodes["revenue"].var() == pytest.approx(truth["ici"].sum(), rel=0.05)
    # Plug-in estimate from the data: total effects from OLS, noise variances from residuals.
    coef, noise_var = {}, {}
    for node in ["demand", "tv_adstock", "social_spend"]:
        noise_var[node] = nodes[node].var()
    for child, parents in structural_coefficients().items():
        beta, _, sigma = _ols(nodes[child], nodes[list(parents)])
        coef[child], noise_var[child] = beta, sigma**2
    total = {"revenue": 1.0}
    for node in ["social_clicks", "organic_clicks", "social_spend", "tv_adstock", "demand"]:
        total[node] = sum(b[node] * total[c] for c, b in coef.items() if node in b)
    ici = pd.Series({n: total[n] ** 2 * noise_var[n] for n in truth.index})
    shares = 100 * ici / ici.sum()
    for node in truth.index:  # 7,300 rows: sampling error of a share is about a point
        assert shares[node] == pytest.approx(truth.loc[node, "share"], abs=1.5), node


def _ols(y: pd.Series, x: pd.DataFrame) -> tuple[pd.Series, pd.Series, float]:
    design = np.column_stack([np.ones(len(x)), x.to_numpy(float)])
    beta, *_ = np.linalg.lstsq(design, y.to_numpy(float), rcond=None)
    resid = y.to_numpy(float) - design @ beta
    sigma2 = resid @ resid / (len(y) - design.shape[1])
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(design.T @ design)))
    return pd.Series(beta[1:], x.columns), pd.Series(se[1:], x.columns), float(np.sqrt(sigma2))


@pytest.mark.parametrize(
    ("child", "noise_sd_article"),
    [("organic_clicks", 2_000.0), ("social_clicks", 25_000.0), ("revenue", 2_000.0)],
)
def test_regression_on_the_raw_aggregates_recovers_the_dgp(tables, child, noise_sd_article):
    mart = mart_from_raw(tables)
    coefs = structural_coefficients()[child]
    beta, se, sigma = _ols(mart[child], mart[list(coefs)])
    for parent, true in coefs.items():
        assert abs(beta[parent] - true) < 4 * se[parent], (child, parent, beta[parent], true)
        assert abs(beta[parent] / true - 1) < 0.1, (child, parent)
    # Residual sd is the noise sd in data units; session rounding adds a negligible 0.29.
    assert sigma == pytest.approx(NODE_UNITS[child][1] * noise_sd_article, rel=0.03)


def test_tv_adstock_changes_the_driving_node_and_its_truth():
    truth = ground_truth_ici(tv_adstock_decay=0.5, tv_adstock_max_lag=3).set_index("node")
    w = 0.5 ** np.arange(4)
    w /= w.sum()
    np.testing.assert_allclose(adstock_weights(0.5, 3), w, rtol=1e-15)
    assert "tv_adstock" in truth.index and "tv_spend" not in truth.index
    # The adstocked node has the article's TV distribution, so its ICI is the same-day model's.
    assert truth.loc["tv_adstock", "ici"] == pytest.approx(
        ground_truth_ici(0.0, 0).set_index("node").loc["tv_spend", "ici"]
    )
    nodes = simulate_nodes(seed=3, n_regions=20, n_days=200, tv_adstock_decay=0.5, tv_adstock_max_lag=3)
    # ... and the daily spend behind it has variance Var(TV) / sum(w^2) (4,000 rows: 5 % is about 2 se).
    tv_sd = NODE_UNITS["tv_spend"][1] * 20_000.0
    assert nodes["tv_adstock"].var() == pytest.approx(tv_sd**2, rel=0.05)
    assert nodes["tv_spend"].var() == pytest.approx(tv_sd**2 / (w**2).sum(), rel=0.05)
    beta, _, _ = _ols(nodes["organic_clicks"], nodes[["demand", "tv_adstock", "social_spend"]])
    assert beta["tv_adstock"] == pytest.approx(structural_coefficients()["organic_clicks"]["tv_adstock"], rel=0.05)
    day0 = nodes[nodes["region"] == "region_01"]["tv_spend"].to_numpy()
    adstock = nodes[nodes["region"] == "region_01"]["tv_adstock"].to_numpy()
    assert adstock[10] == pytest.approx(w @ day0[10:6:-1])


def test_write_raw_tables_types_counts_and_rollback(tables, tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    write_raw_tables(warehouse, tables)
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        types = dict(
            con.execute(
                "select table_name || '.' || column_name, data_type from information_schema.columns "
                "where table_schema = 'raw'"
            ).fetchall()
        )
        counts = {name: con.execute(f'select count(*) from raw."{name}"').fetchone()[0] for name in tables}
        total = con.execute("select sum(revenue) from raw.orders").fetchone()[0]
    assert types["orders.ordered_at"] == "TIMESTAMP"
    assert types["orders.revenue"] == "DECIMAL(12,2)"
    assert types["ad_spend.date"] == "DATE"
    assert types["web_sessions.sessions"] == "BIGINT"
    assert counts == {name: len(df) for name, df in tables.items()}
    assert float(total) == pytest.approx(tables["orders"]["revenue"].sum(), abs=0.01)

    # A failing cast in the second table rolls back the first one too.
    bad = {
        "demand_index": tables["demand_index"].head(3),
        "ad_spend": tables["ad_spend"].head(3).assign(spend="not money"),
    }
    with pytest.raises(duckdb.Error):
        write_raw_tables(warehouse, bad)
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        n_demand = con.execute("select count(*) from raw.demand_index").fetchone()[0]
    assert n_demand == len(tables["demand_index"])
    with pytest.raises(ValueError, match="orders.*order_id"):
        write_raw_tables(warehouse, {"orders": tables["orders"].drop(columns="order_id")})


def test_media_demo_takes_its_number_of_regions():
    """The media shop's raw table is sized by its op config (tests run it small); dates and events are fixed."""
    from ici_assets.demo.media import media_daily

    small = media_daily(0, n_regions=3)
    assert small["region"].nunique() == 3 and len(small) == 3 * 731
    assert str(small["date"].min()) == "2024-01-01" and str(small["date"].max()) == "2025-12-31"
