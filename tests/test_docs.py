"""The docs: the generated reference shows every key of the typed models; README stays short and its links resolve.

The reference is checked against the models themselves (``model_fields``, nested models walked here), not
against the renderer's own reading of their JSON schema, so a key the renderer drops fails here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as MkDocs loads a hook (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        return [m for arg in typing.get_args(annotation) for m in _nested_models(arg)]
    return []


def _settings(model: type[BaseModel], prefix: str, only: set[str] | None = None) -> dict[str, Any]:
    """Dotted key -> pydantic field, nested models included (``only``: expand just these top-level fields)."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}" if prefix else name
        out[key] = field
        if only is None or name in only:
            for sub in _nested_models(field.annotation):
                out.update(_settings(sub, key))
    return out


def _expected(block: str) -> dict[str, Any]:
    expected: dict[str, Any] = {}
    for dotted, prefix in gen.BLOCKS[block]:
        obj = gen.load(dotted)
        if hasattr(obj, "get_model_cls"):  # a dagster component: our own attributes expanded, dagster-dbt's listed
            expected.update(_settings(obj.get_model_cls(), prefix, only=set(obj.__dict__["__annotations__"])))
        else:
            expected.update(_settings(obj, prefix))
    return expected


def _rows(markdown: str) -> dict[str, str]:
    """Key -> its table row, for every row of the rendered reference whose first cell is a key."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*$", markdown, re.MULTILINE)}


@pytest.mark.parametrize("block", sorted(gen.BLOCKS))
def test_reference_shows_every_setting(block):
    rows = _rows(gen.render_reference()[block])
    expected = _expected(block)
    assert len(expected) >= 2
    missing = [key for key in expected if key not in rows]
    assert not missing, f"reference block {block!r} lacks {missing}"
    assert gen.settings_in(gen.render_reference()[block]) == list(rows)


def test_reference_shows_the_defaults_and_what_is_required():
    """Plain defaults are the models' own (``checks.min_r2`` 0.1...); required keys say so."""
    checked = 0
    for block in ("model-meta", "column-meta"):
        rows = _rows(gen.render_reference()[block])
        for key, field in _expected(block).items():
            if field.is_required():
                assert "| **required** |" in rows[key], rows[key]
            elif field.default is not PydanticUndefined and field.default_factory is None:
                assert f"| `{json.dumps(field.default)}` |" in rows[key], rows[key]
                checked += 1
    assert checked >= 15
    component = _rows(gen.render_reference()["component"])
    assert "| `120.0` |" in component["warehouse_lock_wait_seconds"]
    assert "| `{}` |" in component["dbt_env"]  # a default factory: the schema says only 'unset'


def test_component_lists_its_own_attributes_before_dagster_dbts():
    keys = list(_rows(gen.render_reference()["component"]))
    own = [
        "ici_defaults",
        "compute_pool",
        "automation",
        "warehouse_lock_wait_seconds",
        "reports_dir",
        "prepare_if_dev",
        "prepare_if_stale",
    ]
    assert keys[: len(own) + 1] == [*own, "dbt_env"]
    assert keys.index("project") > keys.index("ici_defaults.checks.min_rows")


def test_every_reference_block_is_on_a_page():
    markers = {m for page in DOCS.rglob("*.md") for m in gen.MARKER.findall(page.read_text())}
    assert markers == set(gen.BLOCKS)


def test_readme_is_short():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines: move detail into docs/"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_links_resolve():
    text = README.read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert len(links) >= 10
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}
    broken = []
    for link in links:
        if re.match(r"^[a-z]+:", link):  # http(s), mailto: not ours to check here
            continue
        path, _, fragment = link.partition("#")
        if path and not (REPO / path).exists():
            broken.append(link)
        elif not path and fragment not in anchors:
            broken.append(link)
    assert not broken, f"README links to missing files or anchors: {broken}"
