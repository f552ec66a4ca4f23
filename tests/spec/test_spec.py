"""The ``ici`` meta parser: valid graphs load, malformed meta fails at load naming model and key."""

from __future__ import annotations

import copy

import pytest

from ici_assets.spec.parse import IciMetaError, parse_model_spec, specs_from_manifest
from ici_assets.warehouse import check_identifier
from ici_assets.warehouse.duckdb_file import quote as quote_identifier


def model(meta=None, columns=None, name="nodes"):
    return {
        "resource_type": "model",
        "name": name,
        "unique_id": f"model.p.{name}",
        "schema": "main",
        "config": {"meta": {"ici": meta if meta is not None else {"target": "y"}}},
        "columns": columns
        if columns is not None
        else {
            "date": {"name": "date", "meta": {}},
            "a": {"name": "a", "config": {"meta": {"ici": {"parents": []}}}},
            "b": {"name": "b", "config": {"meta": {"ici": {"parents": ["a"]}}}},
            "y": {"name": "y", "meta": {"ici": {"parents": ["a", "b"]}}},
        },
    }


def test_valid_meta_gives_graph_and_defaults():
    spec = parse_model_spec(model({"target": "y", "unit": ["date"], "mechanisms": "linear"}))
    assert spec.target == "y"
    assert spec.nodes == ["a", "b", "y"]
    assert sorted(spec.edges) == [("a", "b"), ("a", "y"), ("b", "y")]
    assert spec.unit == ("date",)
    assert spec.n_bootstrap == 200 and spec.seed == 0


@pytest.mark.parametrize(
    "meta, needle",
    [
        ({"target": "revenue"}, "target 'revenue' is not a node of the graph"),
        ({}, "meta.ici.target is required"),
        (
            {"target": "y", "mechanisms": "magic"},
            "meta.ici.mechanisms: Input should be 'auto', 'linear' or 'nonlinear'",
        ),
        ({"target": "y", "n_bootstrap": -1}, "meta.ici.n_bootstrap: Input should be greater than or equal to 0"),
        ({"target": "y", "unit": ["nope"]}, "names column 'nope' as unit/time column"),
        ({"target": "a"}, "target 'a' has no ancestors"),
        ("not a mapping", "meta.ici must be a mapping"),
        ({"target": "y", "last_click": {"model": "lc", "channels": {"tv": "zz"}}}, "maps channel 'tv' to 'zz'"),
        ({"target": "y", "time_grain": "week"}, "time_grain 'week' needs meta.ici.time_column"),
    ],
)
def test_malformed_model_meta_names_model_and_key(meta, needle):
    with pytest.raises(IciMetaError) as err:
        parse_model_spec(model(meta))
    assert needle in str(err.value)
    assert "dbt model 'nodes'" in str(err.value)


def test_parent_that_is_not_a_column():
    cols = copy.deepcopy(model()["columns"])
    cols["y"]["meta"]["ici"]["parents"] = ["a", "ghost"]
    with pytest.raises(IciMetaError, match="column 'y' lists parent 'ghost'"):
        parse_model_spec(model(columns=cols))


def test_cycle_is_named():
    cols = copy.deepcopy(model()["columns"])
    cols["a"]["config"]["meta"]["ici"]["parents"] = ["y"]
    with pytest.raises(IciMetaError, match="cycle"):
        parse_model_spec(model(columns=cols))


def test_parents_must_be_a_list_of_names():
    cols = copy.deepcopy(model()["columns"])
    cols["b"]["config"]["meta"]["ici"]["parents"] = [1, 2]
    with pytest.raises(IciMetaError, match="column 'b': meta.ici.parents.0: Input should be a valid string"):
        parse_model_spec(model(columns=cols))


def test_manifest_scan_only_picks_models_with_meta():
    plain = {
        "resource_type": "model",
        "name": "other",
        "unique_id": "model.p.other",
        "config": {"meta": {}},
        "columns": {},
    }
    manifest = {"nodes": {"model.p.nodes": model(), "model.p.other": plain}}
    assert [s.model for s in specs_from_manifest(manifest)] == ["nodes"]


@pytest.mark.parametrize("hostile", ['x"; DROP TABLE ici.ici_shares; --', "a b", "1abc", "t.c", "", None])
def test_hostile_identifiers_are_refused(hostile):
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        check_identifier(hostile, "column")


def test_hostile_column_name_in_yaml_is_refused_at_load():
    cols = copy.deepcopy(model()["columns"])
    cols['y"; DROP TABLE x; --'] = {"name": "evil", "meta": {"ici": {"parents": ["a"]}}}
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        parse_model_spec(model(columns=cols))


def test_quote_identifier_doubles_quotes():
    assert quote_identifier('a"b') == '"a""b"'
