"""``ici/<model>/anomalies`` on a DuckDB node table with known one-day shocks (no dbt): the rows it publishes."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from ici_assets.assets.anomalies import anomalies_asset, latest_periods
from ici_assets.assets.factory import IciModel, anomaly_assets
from ici_assets.assets.ici import scm_asset
from ici_assets.assets.resources import WarehouseResource, asset_resources
from ici_assets.engine.cases import ARTICLE
from ici_assets.engine.shockcases import linear_case, linear_effects, shocked_panel
from ici_assets.spec.model import IciSpec
from ici_assets.spec.parse import IciMetaError, parse_model_spec
from ici_assets.warehouse import Relation

KEY = dg.AssetKey(["ici", "shop_nodes", "anomalies"])
PERIODS, N_UNITS = 5, 8


def model_props(anomalies: dict | None, time_column: str | None = "date") -> dict:
    parents = {n: [p for p, c in ARTICLE.edges if c == n] for n in ARTICLE.nodes}
    meta = {"target": "revenue", "unit": ["region"], "mechanisms": "linear", "n_bootstrap": 0}
    if time_column:
        meta["time_column"] = time_column
    if anomalies is not None:
        meta["anomalies"] = anomalies
    columns = {"region": {"name": "region"}, "date": {"name": "date"}}
    columns |= {n: {"name": n, "config": {"meta": {"ici": {"parents": ps}}}} for n, ps in parents.items()}
    return {
        "resource_type": "model",
        "name": "shop_nodes",
        "unique_id": "model.p.shop_nodes",
        "config": {"meta": {"ici": meta}},
        "columns": columns,
    }


def spec_with(anomalies: dict | None) -> IciSpec:
    return parse_model_spec(model_props(anomalies))


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A DuckDB file holding main.shop_nodes: 8 regions x 120 days, 16 shocks in the last 5 days."""
    panel, shocks = shocked_panel(
        linear_case(),
        effects=linear_effects(),
        n_units=N_UNITS,
        n_days=120,
        n_shocks=16,
        last_days=PERIODS,
        effect_sds=4.0,
        seed=7,
    )
    path = tmp_path_factory.mktemp("anomalies") / "shop.duckdb"
    with duckdb.connect(str(path)) as con:
        con.register("panel", panel.assign(date=pd.to_datetime(panel["date"]).dt.date))
        con.execute("CREATE TABLE main.shop_nodes AS SELECT * FROM panel")
    return path, shocks


def materialise(spec: IciSpec, path: Path) -> dg.ExecuteInProcessResult:
    relation = Relation("main", "shop_nodes")
    assets = [scm_asset(spec, dg.AssetKey("shop_nodes"), relation), anomalies_asset(spec, relation, pool=None)]
    return dg.materialize(assets, resources=asset_resources(WarehouseResource(path=str(path))), raise_on_error=False)


def test_the_meta_enables_the_asset_and_needs_a_time_column() -> None:
    off = IciModel(spec_with(None), dg.AssetKey("shop_nodes"), Relation("main", "shop_nodes"))
    assert anomaly_assets(off) == []
    on = IciModel(spec_with({"periods": 7}), dg.AssetKey("shop_nodes"), Relation("main", "shop_nodes"))
    (asset,) = anomaly_assets(on)
    assert asset.key == KEY and {c.name for c in asset.check_specs} == {"anomaly_contributions_sum_to_deviation"}
    assert on.spec.anomalies is not None and on.spec.anomalies.threshold == 6.9
    with pytest.raises(IciMetaError, match="anomalies.*time_column"):
        parse_model_spec(model_props({"periods": 7}, time_column=None))
    with pytest.raises(IciMetaError, match="perods"):
        spec_with({"perods": 7})
    with pytest.raises(IciMetaError, match="webhook"):
        spec_with({"periods": 7, "webhook": "ftp://x"})


def test_latest_periods_are_each_units_own() -> None:
    spec = spec_with({"periods": 2})
    dates = ["2025-01-01", "2025-01-02", "2025-01-03", "2024-12-30", "2024-12-31"]  # b stopped earlier
    frame = pd.DataFrame({"region": ["a", "a", "a", "b", "b"], "date": pd.to_datetime(dates)})
    out = latest_periods(spec, frame, 2)
    assert list(zip(out["unit"], out["period"].astype(str))) == [
        ("b", "2024-12-30"),
        ("b", "2024-12-31"),
        ("a", "2025-01-02"),
        ("a", "2025-01-03"),
    ]
    # the grain may list the time column too (unit: [date, region]): a unit is then its other columns
    with_date = IciSpec(
        spec.model, spec.unique_id, spec.parents, spec.meta.model_copy(update={"unit": ["date", "region"]})
    )
    assert latest_periods(with_date, frame, 2)["unit"].tolist() == ["b", "b", "a", "a"]
    national = IciSpec(spec.model, spec.unique_id, spec.parents, spec.meta.model_copy(update={"unit": []}))
    assert latest_periods(national, frame, 2)["period"].astype(str).tolist() == ["2025-01-02", "2025-01-03"]
    assert (latest_periods(national, frame, 2)["unit"] == "").all()


def test_asset_publishes_ranked_contributions_that_find_the_shocks(shop) -> None:
    path, shocks = shop
    spec = spec_with({"periods": PERIODS, "threshold": 4.0})
    result = materialise(spec, path)
    assert result.success
    (check,) = [e for e in result.get_asset_check_evaluations() if e.asset_key == KEY]
    assert check.passed
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT * FROM ici.anomalies ORDER BY period, unit, rank").df()
        history = con.execute("SELECT count(*) FROM ici.anomalies_history").fetchone()
    assert len(rows) == N_UNITS * PERIODS * len(ARTICLE.nodes) and history == (len(rows),)
    assert set(rows["unit"]) == {f"r{u:02d}" for u in range(1, N_UNITS + 1)}
    assert (rows["model"] == "shop_nodes").all() and rows["period"].nunique() == PERIODS
    per = rows.groupby(["period", "unit"])
    np.testing.assert_allclose(per["contribution"].sum(), per["deviation"].first(), rtol=0, atol=1e-9 * 1e6)
    top = rows[rows["rank"] == 1].assign(date=lambda f: pd.to_datetime(f["period"]))
    found = shocks.assign(date=pd.to_datetime(shocks["date"])).merge(
        top, left_on=["region", "date"], right_on=["unit", "date"], suffixes=("_true", "")
    )
    assert len(found) == len(shocks) == 16
    assert (found["node"] == found["node_true"]).mean() >= 0.95
    flagged = rows[rows["flagged"]]
    assert (flagged["score"] >= 4.0).all() and not rows.loc[~rows["flagged"], "sentence"].notna().any()
    assert (
        flagged["sentence"].str.match(r"^Revenue in r\d\d on 2025-04-\d\d was \d+\.\d % (above|below) expected: ").all()
    )
    flagged_days = flagged.assign(date=pd.to_datetime(flagged["period"]))[["unit", "date"]].drop_duplicates()
    shocked = set(zip(shocks["region"], pd.to_datetime(shocks["date"])))
    hits = [(u, d) in shocked for u, d in zip(flagged_days["unit"], flagged_days["date"])]
    assert all(hits) and len(hits) >= 12  # flags only shocked unit-days, and most of them (the 16 shocks are in
    # the fitted rows too, so the model has seen such deviations: scores of 3.8 to 5.8 here)
    metadata = result.asset_materializations_for_node(KEY.to_python_identifier())[0].metadata
    assert metadata["summary"].value.startswith(f"{flagged[['period', 'unit']].drop_duplicates().shape[0]} of 40")
    assert metadata["anomalies_chart"].value.startswith("![")
    assert materialise(spec, path).success  # again: the current rows are replaced, the history grows
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ici.anomalies").fetchone() == (len(rows),)
        assert con.execute("SELECT count(*) FROM ici.anomalies_history").fetchone() == (2 * len(rows),)


@pytest.mark.postgres
def test_anomaly_rows_read_back_the_same_from_postgres_and_duckdb(pg_server, tmp_path) -> None:
    """The layout renders on both warehouses: the same rows (dates, booleans, integers, null sentences) come back."""
    from ici_assets.engine import attribute_anomalies, fit_scm
    from ici_assets.publish.anomalies import anomaly_items, anomaly_rows
    from ici_assets.publish.rows import ResultKey
    from ici_assets.warehouse import ANOMALIES, ANOMALIES_HISTORY, DuckDBWarehouse, Read

    spec = spec_with({"periods": 2, "threshold": 3.0})
    panel, _ = shocked_panel(linear_case(), effects=linear_effects(), n_units=3, n_days=60, n_shocks=3, last_days=2)
    recent = latest_periods(spec, panel, 2)
    table = attribute_anomalies(
        fit_scm(panel, ARTICLE.edges, mechanisms="linear"), recent, "revenue", threshold=3.0
    ).table
    rows = anomaly_rows(spec, table, recent, ResultKey("ici/shop_nodes/anomalies", "c1", "run1"), "d1")
    assert rows["flagged"].any() and not rows["flagged"].all()
    db = pg_server.fresh_database("wh_anomalies")
    pg, duck = pg_server.warehouse(db), DuckDBWarehouse(tmp_path / "w.duckdb")
    columns = tuple(c for c in ANOMALIES.column_names if c != "materialized_at")
    for warehouse in (pg, duck):
        warehouse.publish(anomaly_items(rows))
        warehouse.publish(anomaly_items(rows))
    for layout in (ANOMALIES, ANOMALIES_HISTORY):
        request = Read(layout.relation, columns, order_by=("run_id", "period", "unit", "rank"))
        a, b = pg.read(request), duck.read(request)
        assert len(a) == len(rows) * (1 if layout is ANOMALIES else 2)
        pd.testing.assert_frame_equal(a, b)


class _Hook:
    """A local HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it and answers ``status``."""

    def __init__(self, status: int = 200):
        import http.server
        import threading

        received: list[dict] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "type": self.headers["Content-Type"], **json.loads(body)})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_webhook_sensor_posts_the_flagged_unit_periods(shop) -> None:
    """The sensor of a meta with a webhook posts each new materialisation's flagged unit-periods, once."""
    from ici_assets.assets.factory import model_sensors

    path, shocks = shop
    hook, failing = _Hook(), _Hook(status=500)
    try:
        spec = spec_with({"periods": PERIODS, "threshold": 4.0, "webhook": hook.url})
        (sensor,) = model_sensors(IciModel(spec, dg.AssetKey("shop_nodes"), Relation("main", "shop_nodes")))
        assert sensor.name == "ici__shop_nodes__anomalies_webhook"
        assert model_sensors(IciModel(spec_with({"periods": 7}), dg.AssetKey("x"), Relation("main", "x"))) == []
        instance = dg.DagsterInstance.ephemeral()
        relation = Relation("main", "shop_nodes")
        assets = [scm_asset(spec, dg.AssetKey("shop_nodes"), relation), anomalies_asset(spec, relation, pool=None)]
        resources = asset_resources(WarehouseResource(path=str(path)))
        defs = dg.Definitions(assets=assets, sensors=[sensor], resources=resources)
        assert defs.resolve_sensor_def(sensor.name).default_status == dg.DefaultSensorStatus.RUNNING
        run = dg.materialize(assets, resources=resources, instance=instance)
        context = dg.build_sensor_context(instance=instance)
        (result,) = list(sensor(context))  # an asset sensor's evaluation is a generator
        assert isinstance(result, dg.SkipReason) and "posted" in (result.skip_message or "")
        (body,) = hook.received
        assert body["path"] == "/hook" and body["type"] == "application/json"
        assert body["model"] == "shop_nodes" and body["run_id"] == run.run_id
        shocked = set(zip(shocks["region"], pd.to_datetime(shocks["date"]).dt.strftime("%Y-%m-%d")))
        flagged = {(f["unit"], f["period"]) for f in body["flagged"]}
        assert len(flagged) >= 12 and flagged <= shocked  # as the table: only shocked unit-days, most of them
        assert body["text"].startswith(
            f"{len(flagged)} unit-period(s) flagged in ici/shop_nodes/anomalies: Revenue in "
        )
        assert [f["score"] for f in body["flagged"]] == sorted((f["score"] for f in body["flagged"]), reverse=True)
        again = list(sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor)))
        assert all(isinstance(r, dg.SkipReason) for r in again) and len(hook.received) == 1  # nothing new posted
        bad = spec_with({"periods": PERIODS, "threshold": 4.0, "webhook": failing.url})
        (bad_sensor,) = model_sensors(IciModel(bad, dg.AssetKey("shop_nodes"), relation))
        with pytest.raises(Exception, match="127.0.0.1.*failed.*webhook"):
            list(bad_sensor(dg.build_sensor_context(instance=instance)))
        assert len(failing.received) == 1
    finally:
        hook.close()
        failing.close()
