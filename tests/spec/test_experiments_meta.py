"""The `experiments` block of the `ici` meta: a strict typed model naming the dbt model of lift tests."""

from __future__ import annotations

from ici_assets.spec.meta import ModelMeta, parse_meta


def test_experiments_block_parses_and_refuses_misspelt_keys():
    meta, error = parse_meta(ModelMeta, {"target": "revenue", "experiments": {"model": "lift_tests"}}, where="m")
    assert error == "" and meta is not None and meta.experiments is not None
    assert meta.experiments.model == "lift_tests"
    none, _ = parse_meta(ModelMeta, {"target": "revenue"}, where="m")
    assert none is not None and none.experiments is None
    bad, error = parse_meta(ModelMeta, {"target": "revenue", "experiments": {"modle": "lift_tests"}}, where="m")
    assert bad is None and "m.experiments.modle" in error and "did you mean 'model'?" in error
    empty, error = parse_meta(ModelMeta, {"target": "revenue", "experiments": {"model": ""}}, where="m")
    assert empty is None and "m.experiments.model" in error
