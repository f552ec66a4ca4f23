"""What the Dagster UI shows: rounding, summaries, charts sized for the dialog, column schemas (pure helpers), and
the same facts on a real materialisation of the demo."""

from __future__ import annotations

import base64
import re
import struct

import pandas as pd
import pytest

from ici_assets.publish import charts
from ici_assets.publish.metadata import (
    CELL_PADDING_PX,
    CHAR_PX,
    OVERVIEW_BOX_PX,
    SUMMARY,
    chart_metadata,
    column_schema,
    overview_width,
    preview_width,
    shares_metadata,
    table_metadata,
)
from ici_assets.publish.summaries import grain_label, round_to_interval, shares_summary, tidy, with_interval
from ici_assets.warehouse import SHARES

SHARES_TABLE = pd.DataFrame(
    {
        "node": ["demand", "social_clicks", "social_spend", "tv_adstock", "revenue", "organic_clicks"],
        "share": [29.450028776078778, 27.0012, 25.2087, 17.9965, 0.17381, 0.17066],
        "share_low": [28.5012, 26.4101, 24.4512, 17.1301, 0.16912, 0.16551],
        "share_high": [30.5511, 27.7302, 26.0013, 18.7203, 0.17861, 0.17589],
    }
)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def md_png(markdown: str) -> bytes:
    match = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", markdown)
    assert match, "no PNG data URI in the markdown"
    return base64.b64decode(match.group(1))


def significant_digits(x: float) -> int:
    """Significant digits of the shortest repr of ``x`` (0.05446 -> 4, 29.45 -> 4, 1200.0 -> 2)."""
    mantissa = repr(float(f"{abs(x):.15g}")).split("e")[0]
    return len(mantissa.replace(".", "").strip("0"))


def test_floats_rounded_to_their_interval():
    assert tidy(0.054460138893003204) == 0.05446
    assert tidy(29.450028776078778) == 29.45
    # half-width 1.03, leading digit 1 -> two significant digits of it -> 1 decimal
    assert round_to_interval(29.450028776078778, 28.5012, 30.5511) == 29.5
    # half-width 0.0047 -> one significant digit of it -> 3 decimals
    assert round_to_interval(0.17381, 0.16912, 0.17861) == 0.174
    # half-width 0.66 -> 1 decimal; half-width 4.1 -> none
    assert round_to_interval(27.0012, 26.4101, 27.7302) == 27.0
    assert round_to_interval(57.5, 53.61, 61.87) == 58.0
    assert round_to_interval(12345.678, 12000.0, 12700.0) == 12350.0  # never more than 4 significant digits
    assert round_to_interval(1.23456789, None, None) == 1.235
    assert significant_digits(0.05446) == 4 and significant_digits(29.45) == 4 and significant_digits(1200.0) == 2


def test_with_interval_shows_the_interval_at_its_precision():
    assert with_interval(29.450028776078778, 28.5012, 30.5511, " %") == "29.5 % (28.5–30.6)"
    assert with_interval(27.0012, 26.4101, 27.7302, " %") == "27.0 % (26.4–27.7)"
    assert with_interval(57.5, 53.61, 61.87, " %") == "58 % (54–62)"
    assert with_interval(1234.5, None, None, "EUR") == "1,230 EUR"


def test_shares_summary_names_top_drivers_with_intervals_and_the_targets_own_noise():
    text = shares_summary(SHARES_TABLE, "revenue", period="2024-01-08 to 2025-12-31")
    drivers = re.findall(r"\*\*(\w+)\*\*", text)
    assert drivers == ["demand", "social_clicks", "social_spend"]  # largest first, the target not among them
    assert "**social_clicks** 27.0 % (26.4–27.7)" in text
    assert "**demand** 29.5 % (28.5–30.6)" in text  # was '29 % (28–31)' beside the table's 29.5
    assert "revenue's own noise, 0.174 % (0.169–0.179)" in text
    assert "2024-01-08 to 2025-12-31" in text
    assert len(text) < 300 and "\n" not in text  # one or two lines in the UI


def test_grain_labels():
    assert grain_label(["date", "region"], "date", "day") == "per region-day"
    assert grain_label(["week"], "week", "week") == "per week"
    assert grain_label([], None, None) == "per row"


def test_shares_chart_is_2x_wide_leaves_the_target_out_and_states_its_noise():
    chart = charts.share_bar_chart(SHARES_TABLE, title="ICI", target="revenue")
    spec = charts.chart_spec(chart)
    nodes = {row["node"] for row in spec["datasets"][next(iter(spec["datasets"]))]}
    assert "revenue" not in nodes and "organic_clicks" in nodes
    assert any("revenue's own noise, 0.174 % (0.169–0.179)" in line for line in spec["title"]["subtitle"])
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] in ("rule", "tick")]
    assert len(rules) == 3
    assert all(max(layer["mark"].get("strokeWidth", 0), layer["mark"].get("thickness", 0)) >= 2 for layer in rules)
    width, height = png_size(charts.chart_png(chart))
    # the whole chart in 2 x DIALOG_WIDTH px: sharp, and unclipped in the UI's metadata dialog
    assert width == 2 * charts.DIALOG_WIDTH >= 1000 and height >= 300
    png = charts.chart_png(chart)
    assert len(png) < 80_000  # 256 colours: tens of KB at 2x


def test_chart_spec_floats_are_tidy():
    spec = charts.chart_spec(charts.share_bar_chart(SHARES_TABLE, title="ICI", target="revenue"))
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert all(significant_digits(v) <= 4 for row in rows for v in row.values() if isinstance(v, float))


def test_time_charts_carry_units_and_tell_series_apart():
    periods = pd.date_range("2024-01-01", periods=120, freq="D")
    contrib = pd.DataFrame(
        [
            (p, n, float(i % 7 - 3) * (k + 1))
            for i, p in enumerate(periods)
            for k, n in enumerate(["a", "b", "revenue"])
        ],
        columns=["period", "node", "contribution"],
    )
    spec = charts.chart_spec(charts.contributions_chart(contrib, title="C", unit="EUR", target="revenue"))
    layer = spec["spec"]["layer"][0]
    assert spec["title"]["subtitle"].startswith("EUR per week")  # once, not an axis title per panel
    assert layer["encoding"]["x"]["axis"]["format"] == "%b %Y"
    assert {r["node"] for r in spec["datasets"][next(iter(spec["datasets"]))]} == {"a", "b"}

    months = pd.date_range("2024-06-01", periods=12, freq="MS").strftime("%Y-%m-%d")
    history = pd.DataFrame(
        [(m, n, s, s - 1, s + 1) for m in months for n, s in (("a", 30.0), ("b", 0.2), ("revenue", 0.2))],
        columns=["partition_key", "node", "share", "share_low", "share_high"],
    )
    spec = charts.chart_spec(charts.shares_over_time_chart(history, title="T", target="revenue"))
    line = spec["layer"][1]
    assert line["encoding"]["strokeDash"]["field"] == "node"  # two series near zero stay apart by dash and colour
    assert "revenue's own noise, 0.2 %" in " ".join(spec["title"]["subtitle"])


def test_chart_metadata_has_a_spec_only_when_asked():
    chart = charts.share_bar_chart(SHARES_TABLE, title="ICI", target="revenue")
    assert set(chart_metadata("c", chart, "alt")) == {"c"}
    assert set(chart_metadata("c", chart, "alt", spec=True)) == {"c", "c_spec"}


def test_column_schema_is_the_declared_layout():
    meta = column_schema(SHARES)
    schema = meta["dagster/column_schema"]
    assert [c.name for c in schema.columns] == SHARES.column_names
    types = {c.name: c.type for c in schema.columns}
    assert types["share"] == "float" and types["node"] == "text" and types["period_start"] == "date"
    not_null = {c.name for c in schema.columns if not c.constraints.nullable}
    assert {"asset_key", "node", "share"} <= not_null and "share_low" not in not_null
    assert meta["dagster/table_name"] == "ici.ici_shares"


def shares_rows() -> pd.DataFrame:
    """Rows of one whole-period result as :func:`shares_metadata` takes them (the demo's marketing shares)."""
    extra = {"ici": 959000.0, "mechanism": "root", "r2": float("nan"), "code_version": "abc"}
    return SHARES_TABLE.assign(**extra)


def test_summary_table_and_floats_show_the_same_number():
    """One rounding rule: the summary's 'demand 29.5 %', the table's 29.5 and the float share/demand agree (the
    summary said '29 %' beside the table's 29.5)."""
    from ici_assets.publish.versions import SliceFacts

    facts = SliceFacts(14600, "v1", "2024-01-01", "2025-12-30", "day")
    meta = shares_metadata(shares_rows(), facts, 200, "revenue")
    table = {r.data["node"]: r.data for r in meta["shares"].records}
    for node in ("demand", "social_clicks", "social_spend"):
        shown = table[node]["share (%)"]
        assert f"**{node}** {shown:.1f} % ({table[node]['95 % interval']})" in meta[SUMMARY].value, node
        assert meta[f"share/{node}"] == shown
    assert table["demand"] == {"node": "demand", "share (%)": 29.5, "95 % interval": "28.5–30.6"}


def test_shares_preview_says_what_each_number_is_and_fits_the_overview_box():
    """No bare 'ici 959000' (the variance, in EUR squared, stays in ici.ici_shares), no 'root', and a table narrow
    enough for the Overview tab's metadata box (7 columns made it 1,079 px wide there)."""
    from ici_assets.publish.versions import SliceFacts

    meta = shares_metadata(shares_rows(), SliceFacts(14600, "v1", None, None), 200, "revenue")
    preview = meta["shares"]
    assert [c.name for c in preview.schema.columns] == ["node", "share (%)", "95 % interval"]
    assert not any(v == "root" for r in preview.records for v in r.data.values())
    assert overview_width(meta) <= OVERVIEW_BOX_PX
    old = {
        **meta,
        "shares": table_metadata(shares_rows()[["node", "share", "share_low", "share_high", "ici", "mechanism", "r2"]]),
    }
    assert overview_width(old) > OVERVIEW_BOX_PX  # the seven-column preview it replaces
    assert next(iter(meta)) == SUMMARY


def test_table_preview_rounds_values_to_their_interval_and_writes_it_as_one_cell():
    frame = pd.DataFrame(
        {
            "node": ["a", "b"],
            "change (EUR)": [150.3412, -3678.02],
            "low": [50.51, -3900.2],
            "high": [303.04, -3450.7],
            "% of change": [-4.41312, 108.0121],
        }
    )
    table = table_metadata(frame, {"change (EUR)": ("low", "high")})
    assert [c.name for c in table.schema.columns] == ["node", "change (EUR)", "95 % interval", "% of change"]
    assert table.records[0].data == {
        "node": "a",
        "change (EUR)": 150.0,
        "95 % interval": "51–303",
        "% of change": -4.413,
    }
    assert (
        table.records[1].data["change (EUR)"] == -3678.0 and table.records[1].data["95 % interval"] == "-3,900–-3,451"
    )


def test_overview_width_reproduces_what_chromium_measured():
    """The width model of the Overview tab's Metadata table against dagster-webserver 1.13 in headless Chromium at
    1,400 x 900 (a 756 px box): the budget asset with its former four-column allocation table measured 819 px, the
    spend_response asset with its former four-column response table 876 px."""
    import dagster as dg

    narrow = table_metadata(pd.DataFrame({"node": ["demand"], "share": [29.5]}))
    assert preview_width(narrow) == round(6 * CHAR_PX) + round(5 * CHAR_PX) + 2 * CELL_PADDING_PX  # 'demand', 'share'
    allocation = pd.DataFrame(
        {
            "node": ["tv_spend", "social_spend"],
            "now (EUR)": [5114.0, 3006.0],
            "recommended (EUR)": [3560.0, 4560.0],
            "bounds (EUR)": ["1,000–12,000", "1,000–12,000"],
        }
    )
    budget = {"summary": dg.MetadataValue.md("Move ..."), "no_diminishing_returns": False}
    assert abs(overview_width({**budget, "allocation": table_metadata(allocation)}) - 819) <= 15
    assert overview_width({**budget, "allocation": table_metadata(allocation.drop(columns="bounds (EUR)"))}) <= 756
    response = pd.DataFrame(
        {
            "node": ["tv_spend", "social_spend"],
            "spend (EUR)": [1000.0, 9000.0],
            "revenue (EUR)": [19360.0, 24110.0],
            "marginal return": [1.643, 0.2201],
        }
    )
    spend_response = {"marginal_return/social_spend": 1.43, "response": table_metadata(response)}
    assert abs(overview_width(spend_response) - 876) <= 15


def test_fit_metadata_names_inputs_not_roots():
    from ici_assets.publish.metadata import fit_metadata
    from ici_assets.publish.versions import SliceFacts

    kinds = {"demand": "root", "tv_adstock": "root", "organic_clicks": "linear", "revenue": "linear"}
    meta = fit_metadata(SliceFacts(100, "v", None, None), kinds, {"organic_clicks": 0.99217, "revenue": 0.9983})
    assert meta["mechanisms"].value == {"organic_clicks": "linear", "revenue": "linear"}
    assert meta["inputs"].value.startswith("demand, tv_adstock (no parents in the graph")
    assert "root" not in str({k: getattr(v, "value", v) for k, v in meta.items()})


# -- on a real materialisation -----------------------------------------------------------------------------------


def _floats(value) -> list[float]:
    """Every float inside a metadata value (floats, table records, JSON)."""
    import dagster as dg

    if isinstance(value, dg.FloatMetadataValue):
        return [value.value] if value.value is not None else []
    if isinstance(value, dg.TableMetadataValue):
        return [v for r in value.records for v in r.data.values() if isinstance(v, float)]
    if isinstance(value, dg.JsonMetadataValue):
        out: list[float] = []
        stack = [value.data]
        while stack:
            item = stack.pop()
            if isinstance(item, float):
                out.append(item)
            elif isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return out
    return []


@pytest.fixture(scope="module")
def materialisations(demo_run):
    """Each asset's materialisation metadata from the e2e demo run."""
    result = demo_run["result"]
    assert result.success
    return {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}


def test_shares_materialisation_leads_with_the_summary_and_a_wide_chart(materialisations):
    import dagster as dg

    meta = materialisations["ici/marketing_nodes/shares"]
    first_key, first = next(iter(meta.items()))
    assert first_key == SUMMARY and isinstance(first, dg.MarkdownMetadataValue)
    assert re.findall(r"\*\*(\w+)\*\*", first.value)[:2] == ["demand", "social_clicks"]
    assert "revenue's own noise" in first.value
    width, _ = png_size(md_png(meta["shares_chart"].value))
    assert width >= 1000
    assert not any("last_click" in k for k in meta)  # the comparison lives on ici_vs_last_click only
    assert isinstance(meta["n_bootstrap"], dg.TextMetadataValue) and meta["n_bootstrap"].value == "200"
    assert isinstance(meta["share/demand"], dg.FloatMetadataValue)
    assert "ici_vs_last_click_chart" in materialisations["ici/marketing_nodes/ici_vs_last_click"]


@pytest.fixture(scope="module")
def ici_materialisations(materialisations, demo_backfill):
    """Every ICI materialisation a user meets after ``make demo``: the whole-period ones and every partition of the
    backfills (partitioned assets attach their run's chart and summary to the last), keyed 'asset [partition]'."""
    out = {key: meta for key, meta in materialisations.items() if key.startswith("ici/")}
    for _, result in demo_backfill["runs"].values():
        for event in result.get_asset_materialization_events():
            out[f"{event.asset_key.to_user_string()} [{event.partition}]"] = event.materialization.metadata
    return out


def test_every_chart_is_sharp_and_fits_the_metadata_dialog(ici_materialisations):
    """Each chart PNG of the demo's ICI assets is rendered at 2x, 1,000-1,060 px wide and at most 700 px high:
    Dagster's dialog shows it at its pixel size and has about 1,060 x 700 px in a 1,400 x 900 window
    (contributions_chart was 952 px high, ici_vs_last_click_chart 874, months_chart 798)."""
    sizes = {
        f"{key} {name}": png_size(md_png(value.value))
        for key, meta in ici_materialisations.items()
        for name, value in meta.items()
        if name.endswith("_chart")
    }
    names = {k.rsplit(" ", 1)[-1] for k in sizes}
    assert names == {
        "shares_chart",
        "contributions_chart",
        "ici_vs_last_click_chart",
        "partitions_chart",
        "waterfall_chart",
        "months_chart",
        "response_chart",
        "budget_chart",
        "anomalies_chart",
    }
    assert sum(k.endswith("partitions_chart") for k in sizes) == 2  # by month and by region
    assert all(1000 <= w <= charts.DIALOG_PX[0] and h <= charts.DIALOG_PX[1] for w, h in sizes.values()), sizes


def test_no_ici_metadata_float_has_more_than_4_significant_digits(ici_materialisations):
    assert {"ici/marketing_nodes/shares", "ici/media_nodes/spend_response", "ici/media_nodes/budget"} <= set(
        ici_materialisations
    )
    for key, meta in ici_materialisations.items():
        specs = [k for k in meta if k.endswith("_spec")]
        assert len(specs) <= 1, f"{key}: {specs}"
        for name, value in meta.items():
            bad = [x for x in _floats(value) if significant_digits(x) > 4]
            assert not bad, f"{key} {name}: {bad[:5]}"
        assert next(iter(meta)) == SUMMARY, f"{key}: first entry {next(iter(meta))}"


def test_every_overview_metadata_table_fits_its_box(ici_materialisations):
    """A row wider than the Overview tab's metadata box (756 px) made the whole table scroll sideways and clipped the
    summary mid-word ('Move tv_spend 5,110 to 3,560, social_spend 3...'): the widest key, the timestamp and the
    widest value that does not wrap (a table preview) fit. Nothing is left out: the scm asset's fit store
    (``FitStore``) records a short text where Dagster's filesystem IO manager put an absolute `path`, which made the
    scm page 801 px wide in Chromium."""
    widths = {key: overview_width(meta) for key, meta in ici_materialisations.items()}
    assert "path" not in ici_materialisations["ici/marketing_nodes/scm"]
    assert {"ici/media_nodes/budget", "ici/marketing_nodes/shares", "ici/media_nodes/spend_response"} <= set(widths)
    assert all(w <= OVERVIEW_BOX_PX for w in widths.values()), {k: w for k, w in widths.items() if w > 700}


def test_no_worker_ids_jargon_or_unitless_ici_among_the_results(ici_materialisations, demo_run):
    """No `step/worker_pids`, no `do(spend = level)`, no bare 'root', no `ici 959000` without a unit; check metadata
    rounded too (`min_p_value 0.054460138893003204`, `total 99.99999999999999`)."""
    import dagster as dg

    for key, meta in ici_materialisations.items():
        assert not any("worker" in name for name in meta), key
        for name, value in meta.items():
            if isinstance(value, dg.MarkdownMetadataValue) and "base64," in value.value:
                continue  # a PNG
            text = str(value.value if not isinstance(value, dg.TableMetadataValue) else value.records)
            assert "do(" not in text and not re.search(r"\broots?\b", text), (key, name, text[:200])
            if isinstance(value, dg.TableMetadataValue):
                assert "ici" not in {c.name for c in value.schema.columns}, (key, name)
    checks = [e for e in demo_run["result"].get_asset_check_evaluations() if e.asset_key.path[0] == "ici"]
    assert len(checks) >= 10
    for check in checks:
        floats = [v.value for v in check.metadata.values() if isinstance(v, dg.FloatMetadataValue)]
        assert all(significant_digits(x) <= 4 for x in floats), (check.check_name, floats)


def test_raw_and_ici_table_assets_declare_their_column_schema(demo_run):
    defs = demo_run["defs"]
    graph = defs.resolve_asset_graph()
    for key, table in (("raw/orders", "raw.orders"), ("ici/marketing_nodes/shares", "ici.ici_shares")):
        import dagster as dg

        spec = graph.get(dg.AssetKey.from_user_string(key))
        schema = spec.metadata["dagster/column_schema"]
        assert spec.metadata["dagster/table_name"] == table
        assert len(schema.columns) >= 5 and all(c.type for c in schema.columns)


def test_dbt_assets_carry_no_unserialisable_project_entry(dbt_project_copy, tmp_path):
    """``@dbt_assets(project=...)`` would add ``dagster_dbt/project`` (shown as unserialisable in the UI)."""
    import dagster as dg

    from ici_assets.component.build import build_definitions

    graph = build_definitions(dbt_project_copy, tmp_path / "warehouse.duckdb").resolve_asset_graph()
    metadata = graph.get(dg.AssetKey("marketing_nodes")).metadata
    assert "dagster_dbt/project" not in metadata and "dagster_dbt/manifest" in metadata


def test_dbt_columns_declare_the_types_the_warehouse_has(demo_run):
    """Every column of every dbt model declares its ``data_type`` (dagster-dbt shows it as the column's type),
    and the declaration is what the built warehouse holds: a model change that alters a type fails here."""
    import dagster as dg
    import duckdb

    graph = demo_run["defs"].resolve_asset_graph()
    con = duckdb.connect(str(demo_run["warehouse"]), read_only=True)
    try:
        actual = {
            (t, c): d.lower()
            for t, c, d in con.execute(
                "select table_name, column_name, data_type from information_schema.columns where table_schema = 'main'"
            ).fetchall()
        }
    finally:
        con.close()
    models = {t for t, _ in actual}
    assert {"marketing_nodes", "media_nodes", "stg_orders", "last_click_revenue"} <= models
    for model in models:
        schema = graph.get(dg.AssetKey(model)).metadata["dagster/column_schema"]
        declared = {c.name: c.type for c in schema.columns}
        assert declared == {c: d for (t, c), d in actual.items() if t == model}, model
    assert declared_type(graph, "stg_orders", "revenue_eur") == "decimal(12,2)"


def declared_type(graph, model: str, column: str) -> str:
    import dagster as dg

    schema = graph.get(dg.AssetKey(model)).metadata["dagster/column_schema"]
    return next(c.type for c in schema.columns if c.name == column)


def test_every_dbt_check_is_described(dbt_project_copy, tmp_path):
    """dagster-dbt describes a check from the test's meta.description only; ours says what each test asserts."""
    from ici_assets.component.build import build_definitions

    graph = build_definitions(dbt_project_copy, tmp_path / "warehouse.duckdb").resolve_asset_graph()
    descriptions = {
        k.name: graph.get_check_spec(k).description
        for k in graph.asset_check_keys
        if k.asset_key.path[0] not in ("ici", "raw")
    }
    assert len(descriptions) > 40 and all(descriptions.values())
    assert descriptions["not_null_marketing_nodes_revenue"] == "`revenue` is never null (dbt test not_null)."
    assert (
        descriptions["accepted_range_marketing_nodes_tv_adstock__0"]
        == "`tv_adstock` is >= 0 (dbt test accepted_range)."
    )
    assert descriptions["unique_combination_of_columns_media_nodes_date__region"].startswith(
        "One row per date x region"
    )
    assert descriptions["marketing_nodes_complete_grid"].startswith("marketing_nodes holds every day x region")


def test_ici_assets_carry_their_dbt_models_owners_and_tags(dbt_project_copy, tmp_path):
    """Owners (meta.dagster.owners) and dbt tags of a node-features model reach its ICI assets, not its kinds."""
    import dagster as dg

    from ici_assets.component.build import build_definitions

    graph = build_definitions(dbt_project_copy, tmp_path / "warehouse.duckdb").resolve_asset_graph()
    for model, tag in (("marketing_nodes", "marketing"), ("media_nodes", "media")):
        keys = [k for k in graph.get_all_asset_keys() if k.path[:2] == ["ici", model]]
        assert len(keys) >= 3
        for key in [dg.AssetKey(model), *keys]:
            node = graph.get(key)
            assert node.owners == ["team:marketing_science"], key
            assert tag in node.tags, key
        kinds = {k for k in graph.get(dg.AssetKey(["ici", model, "shares"])).tags if k.startswith("dagster/kind/")}
        assert kinds == {"dagster/kind/python", "dagster/kind/duckdb"}
    assert "ici/partitioned" in graph.get(dg.AssetKey(["ici", "marketing_nodes", "shares_by_month"])).tags


def test_dbt_table_models_carry_their_row_count_and_views_none(demo_run, materialisations):
    """Each dbt table the run built has ``dagster/row_count`` equal to the table's rows in the warehouse after the
    run; views have none (counting a view runs its query)."""
    import duckdb

    with duckdb.connect(str(demo_run["warehouse"]), read_only=True) as con:
        kinds = dict(
            con.execute(
                "select table_name, table_type from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        )
        counts = {t: con.execute(f'select count(*) from main."{t}"').fetchone()[0] for t, k in kinds.items()}
    tables = {t for t, k in kinds.items() if k == "BASE TABLE"}
    views = {t for t, k in kinds.items() if k == "VIEW"}
    assert {"marketing_nodes", "media_nodes"} <= tables and views, kinds
    for model in tables:
        assert materialisations[model]["dagster/row_count"].value == counts[model], model
    assert counts["marketing_nodes"] == 20 * 730  # the demo: 20 regions x 730 days
    for model in views & set(materialisations):
        assert "dagster/row_count" not in materialisations[model], model
