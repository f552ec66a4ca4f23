"""A string column declared as a node gets through the SCM asset: read from the warehouse as text, fitted as a
categorical root (its checks run on it), and the asset's errors for a categorical target or a rare level name them."""

from __future__ import annotations

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from ici_assets.assets.ici import scm_asset
from ici_assets.assets.nodes import ModelFit
from ici_assets.assets.resources import WarehouseResource, asset_resources
from ici_assets.spec.meta import ModelMeta
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import Relation

PARENTS = {"promo": (), "tv": (), "y": ("promo", "tv")}


def node_table(path, promo: np.ndarray) -> None:
    """Table main.m in a DuckDB file: a text column promo, numeric tv and y = 2 tv + promo effect + noise."""
    rng = np.random.default_rng(0)
    tv = rng.normal(10, 2, len(promo))
    y = (
        2 * tv
        + pd.Series(promo).map({"none": 0.0, "bundle": 3.0, "discount": 5.0}).fillna(1.0)
        + rng.normal(0, 1, len(promo))
    )
    frame = pd.DataFrame({"promo": promo, "tv": tv, "y": y})
    with duckdb.connect(str(path)) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE main.m AS SELECT promo::VARCHAR AS promo, tv, y FROM frame")


def materialise(path, target: str = "y", parents=PARENTS) -> dg.ExecuteInProcessResult:
    spec = IciSpec(model="m", unique_id="model.p.m", parents=parents, meta=ModelMeta(target=target, n_bootstrap=0))
    asset = scm_asset(spec, dg.AssetKey("m"), Relation("main", "m"))
    return dg.materialize([asset], resources=asset_resources(WarehouseResource(path=str(path))), raise_on_error=False)


def failure(result: dg.ExecuteInProcessResult) -> str:
    (event,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = event.step_failure_data.error
    return error.to_string() if error else ""


def test_a_text_column_is_a_categorical_root_of_the_scm_asset(tmp_path):
    path = tmp_path / "wh.duckdb"
    node_table(path, np.random.default_rng(1).choice(["none", "bundle", "discount"], 600))
    result = materialise(path)
    assert result.success
    fit = result.asset_value(dg.AssetKey(["ici", "m", "scm"]))
    assert isinstance(fit, ModelFit)
    assert fit.scm.categories == {"promo": ("bundle", "discount", "none")}
    assert fit.scm.kinds["y"] in ("linear", "poly2", "spline", "hgb")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks  # the graph (Markov) check runs on the dummies


def test_categorical_target_and_rare_level_are_named_at_the_asset(tmp_path):
    path = tmp_path / "wh.duckdb"
    promo = np.random.default_rng(2).choice(["none", "bundle"], 600)
    promo[:2] = "flash"
    node_table(path, promo)
    assert "level 'flash' of categorical node 'promo' is seen in 2 rows, fewer than the 5" in failure(materialise(path))
    message = failure(materialise(path, "promo", {"tv": (), "y": (), "promo": ("tv", "y")}))
    assert "target 'promo' is categorical" in message
