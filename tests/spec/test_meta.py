"""Strict ``ici`` meta: unknown or misspelt keys fail at load with the closest valid key; defaults merge."""

from __future__ import annotations

import pytest

from ici_assets.spec.parse import IciMetaError, parse_model_spec


def model(meta: dict, columns: dict | None = None) -> dict:
    return {
        "resource_type": "model",
        "name": "weekly_nodes",
        "unique_id": "model.p.weekly_nodes",
        "config": {"meta": {"ici": meta}},
        "columns": columns
        or {
            "week": {"name": "week"},
            "a": {"name": "a", "config": {"meta": {"ici": {"parents": []}}}},
            "b": {"name": "b", "config": {"meta": {"ici": {"parents": ["a"]}}}},
            "y": {"name": "y", "config": {"meta": {"ici": {"parents": ["a", "b"]}}}},
        },
    }


@pytest.mark.parametrize(
    "meta, key, closest",
    [
        ({"target": "y", "n_boostrap": 5}, "meta.ici.n_boostrap", "n_bootstrap"),
        ({"target": "y", "mechanism": "linear"}, "meta.ici.mechanism", "mechanisms"),
        ({"target": "y", "checks": {"min_r": 0.2}}, "meta.ici.checks.min_r", "min_r2"),
        ({"target": "y", "partitions": {"segmen": "region"}}, "meta.ici.partitions.segmen", "segment"),
        ({"target": "y", "time_grian": "week", "time_column": "week"}, "meta.ici.time_grian", "time_grain"),
    ],
)
def test_misspelt_model_key_names_model_key_and_closest(meta, key, closest):
    with pytest.raises(IciMetaError) as err:
        parse_model_spec(model(meta))
    message = str(err.value)
    assert "dbt model 'weekly_nodes'" in message
    assert f"unknown key '{key}'" in message
    assert f"did you mean '{closest}'?" in message


def test_singular_parent_on_a_column_is_refused_not_read_as_a_root():
    columns = model({})["columns"]
    columns["b"] = {"name": "b", "config": {"meta": {"ici": {"parent": ["a"]}}}}
    with pytest.raises(IciMetaError) as err:
        parse_model_spec(model({"target": "y"}, columns))
    message = str(err.value)
    assert "dbt model 'weekly_nodes'" in message and "column 'b'" in message
    assert "unknown key \"column 'b': meta.ici.parent\": did you mean 'parents'?" in message


def test_time_grain_and_a_single_unit_name():
    spec = parse_model_spec(model({"target": "y", "time_column": "week", "unit": "week", "time_grain": "week"}))
    assert spec.time_grain == "week" and spec.unit == ("week",) and spec.time_column == "week"
    assert parse_model_spec(model({"target": "y"})).time_grain == "day"
    with pytest.raises(IciMetaError, match="meta.ici.time_grain: Input should be 'day', 'week' or 'month'"):
        parse_model_spec(model({"target": "y", "time_column": "week", "time_grain": "weekly"}))


def test_defaults_fill_what_the_meta_leaves_out():
    defaults = {"n_bootstrap": 20, "time_grain": "week", "checks": {"min_r2": 0.3, "min_rows": 50}}
    spec = parse_model_spec(model({"target": "y", "time_column": "week", "checks": {"min_rows": 10}}), defaults)
    assert (spec.n_bootstrap, spec.time_grain) == (20, "week")
    assert (spec.checks.min_r2, spec.checks.min_rows) == (0.3, 10)  # the model's own key wins, one level deep
    own = parse_model_spec(model({"target": "y", "time_column": "week", "n_bootstrap": 7}), defaults)
    assert own.n_bootstrap == 7


def test_graph_errors_come_from_the_engines_validator():
    columns = model({})["columns"]
    columns["a"] = {"name": "a", "config": {"meta": {"ici": {"parents": ["y"]}}}}
    with pytest.raises(IciMetaError, match="graph has a cycle through nodes"):
        parse_model_spec(model({"target": "y"}, columns))


def test_component_defaults_are_strict_too(tmp_path):
    from dagster_dbt import DbtProject

    from ici_assets.component.project import IciDbtProjectComponent

    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    with pytest.raises(IciMetaError, match="unknown key 'ici_defaults.n_boostrap': did you mean 'n_bootstrap'"):
        IciDbtProjectComponent(project=DbtProject(project_dir=tmp_path), ici_defaults={"n_boostrap": 3})
