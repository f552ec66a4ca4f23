"""The fit store: the scm asset's output kept between runs, with metadata that keeps its Overview table narrow."""

from __future__ import annotations

import pickle

import dagster as dg
import pytest

from ici_assets.assets.resources import FIT_STORE_KEY, FitStore


class Unpicklable:
    def __reduce__(self):
        raise pickle.PicklingError("cannot pickle this fit")


def assets(value: object) -> list[dg.AssetsDefinition]:
    @dg.asset(key=["ici", "m", "scm"], io_manager_key=FIT_STORE_KEY)
    def scm() -> object:
        return value

    @dg.asset(key=["ici", "m", "shares"], ins={"fit": dg.AssetIn(["ici", "m", "scm"])})
    def shares(fit: object) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"seen": dg.MetadataValue.text(repr(fit))})

    return [scm, shares]


def test_fit_stored_where_dagster_keeps_it_and_loaded_downstream(tmp_path) -> None:
    result = dg.materialize(assets({"a": 1}), resources={FIT_STORE_KEY: FitStore(base_dir=str(tmp_path))})
    path = tmp_path / "ici" / "m" / "scm"  # FilesystemIOManager's layout: fits it stored load unchanged
    assert pickle.loads(path.read_bytes()) == {"a": 1}
    (scm, shares) = result.get_asset_materialization_events()
    assert shares.materialization.metadata["seen"].value == "{'a': 1}"
    metadata = scm.materialization.metadata
    assert "path" not in metadata  # an absolute path does not wrap: the Overview table grew 801 px wide
    assert metadata["fit_stored"].value == "ici / m / scm (pickle, in ici_fit_store)"
    assert [p.name for p in path.parent.iterdir()] == ["scm"]


def test_failed_write_keeps_the_previous_fit_whole(tmp_path) -> None:
    resources = {FIT_STORE_KEY: FitStore(base_dir=str(tmp_path))}
    assert dg.materialize(assets({"a": 1}), resources=resources).success
    result = dg.materialize(assets(Unpicklable()), resources=resources, raise_on_error=False)
    assert not result.success
    path = tmp_path / "ici" / "m" / "scm"
    assert pickle.loads(path.read_bytes()) == {"a": 1}  # the last good fit, whole
    assert [p.name for p in path.parent.iterdir()] == ["scm"]  # no partial file left beside it


def test_default_folder_is_the_instance_storage_and_a_missing_fit_is_named(tmp_path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        scm, shares = assets([1, 2])
        dg.materialize([scm], resources={FIT_STORE_KEY: FitStore()}, instance=instance)
        assert (tmp_path / "storage" / "ici" / "m" / "scm").exists()
    with pytest.raises(FileNotFoundError, match=r"ici/m/scm.*materialise ici/m/scm first"):
        dg.materialize(
            [shares, scm.to_source_asset()], resources={FIT_STORE_KEY: FitStore(base_dir=str(tmp_path / "other"))}
        )
