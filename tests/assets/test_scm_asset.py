"""The scm asset says what it is: its kinds name what fits it, its spec holds no state nothing reads."""

from __future__ import annotations

import dataclasses

import dagster as dg

from ici_assets.assets.ici import scm_asset
from ici_assets.spec.meta import ModelMeta
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import Relation


def spec() -> IciSpec:
    return IciSpec(model="m", unique_id="model.p.m", parents={"x": (), "y": ("x",)}, meta=ModelMeta(target="y"))


def test_scm_kinds_name_the_engine_not_dowhy():
    """The engine fits the SCM (numpy and scikit-learn); DoWhy is only the benchmarks' reference."""
    asset = scm_asset(spec(), dg.AssetKey("m"), Relation("main", "m"))
    (asset_spec,) = asset.specs
    assert asset_spec.kinds == {"python", "scikitlearn"}


def test_the_spec_holds_the_parsed_meta_and_no_dead_fields():
    names = {f.name for f in dataclasses.fields(IciSpec)}
    assert names == {"model", "unique_id", "parents", "meta", "units", "transforms"}
    s = spec()
    assert (s.target, s.n_bootstrap, s.time_grain, s.mechanisms) == ("y", 200, "day", "auto")  # the meta's defaults
