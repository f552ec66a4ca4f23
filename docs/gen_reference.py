"""The reference tables, generated from the typed models when MkDocs builds the site (an MkDocs hook).

A page holds a line ``<!-- reference: NAME -->``; at build time the line becomes the tables of the models
that ``BLOCKS[NAME]`` lists, rendered from their JSON schema: one row per key (nested keys dotted, each
nested model in a section of its own) with its type, default and the field's ``description``. So the
reference cannot drift from the code: a new key, a changed default or a new description shows at the
next ``make docs``, and the build fails when a page asks for a block that does not exist or a block is
on no page. ``render_reference()`` and ``settings_in()`` are plain functions (tests/test_docs.py).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import types
import typing
from functools import cache
from typing import Any

#: What each reference block renders: block name -> [(dotted import path of a model, prefix of its keys)].
#: The first entry is the block's main model; an entry with a prefix renders the nested key of that name
#: (the main model links to it instead of expanding it). The one place that names the modules.
BLOCKS: dict[str, list[tuple[str, str]]] = {
    "model-meta": [
        ("ici_assets.spec.meta.ModelMeta", ""),
        ("ici_assets.spec.decisions.DecisionsMeta", "decisions"),
        ("ici_assets.spec.anomalies.AnomaliesMeta", "anomalies"),
    ],
    "column-meta": [("ici_assets.spec.meta.ColumnMeta", "")],
    "component": [
        ("ici_assets.component.project.IciDbtProjectComponent", ""),
        ("ici_assets.spec.meta.IciSettings", "ici_defaults"),
        ("ici_assets.compute.pools.PoolSettings", "compute_pool"),
        ("ici_assets.spec.automation.AutomationSettings", "automation"),
    ],
}

MARKER = re.compile(r"^<!-- reference: ([\w-]+) -->$", re.MULTILINE)
UNSET = "__DAGSTER_UNSET_DEFAULT__"  # dagster's component schemas: the default lives in the dataclass
_NO_DEFAULT = object()
_JSON_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
_BOUNDS = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}


def load(dotted: str) -> Any:
    """The object at a dotted import path (``package.module.Name``)."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def models_in(annotation: Any) -> list[type]:
    """The pydantic models an annotation may hold (``X | None``, ``Annotated[X, ...]``, unions)."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        return [m for arg in typing.get_args(annotation) for m in models_in(arg)]
    return []


def own_attributes(component: type) -> list[str]:
    """The attributes a dagster component class declares itself (not those it inherits), in order."""
    return list(component.__dict__.get("__annotations__", {}))


def settings_in(markdown: str) -> list[str]:
    """The dotted keys of the rows of the reference tables in ``markdown``."""
    return re.findall(r"^\| `([^`]+)` \|", markdown, re.MULTILINE)


@cache
def render_reference() -> dict[str, str]:
    """Block name -> its markdown (sections, each a paragraph and a table of key, type, default, description)."""
    return {name: _render_block(entries) for name, entries in BLOCKS.items()}


def anchor(key: str) -> str:
    """The id of the section of a nested key."""
    return "key-" + key.replace(".", "-")


@dataclasses.dataclass
class _Model:
    """One model to render: its JSON schema node, its pydantic class (for default factories) and where it sits."""

    schema: dict[str, Any]
    cls: Any  # a pydantic model class, or None
    prefix: str
    description: str = ""


def _render_block(entries: list[tuple[str, str]]) -> str:
    elsewhere = {prefix for _, prefix in entries[1:]}
    head: list[str] = []
    tail: list[str] = []
    for i, (dotted, prefix) in enumerate(entries):
        obj = load(dotted)
        if hasattr(obj, "get_model_cls"):  # a dagster component: its defs.yaml attributes
            own, inherited = _component_sections(obj, elsewhere)
            head += own
            tail += inherited
            continue
        schema = obj.model_json_schema()
        model = _Model(schema, obj, prefix, _clean(schema.get("description", "")))
        head += _model_sections(model, schema.get("$defs", {}), elsewhere, heading=i > 0)
    return "\n\n".join(head + tail) + "\n"


def _model_sections(model: _Model, defs: dict[str, Any], elsewhere: set[str], *, heading: bool) -> list[str]:
    """The model's table (under a heading of its key when nested) and, after it, one section per nested model."""
    rows, nested = [], []
    required = set(model.schema.get("required", []))
    fields = model.cls.model_fields if model.cls is not None else {}
    for name, prop in model.schema.get("properties", {}).items():
        key = f"{model.prefix}.{name}" if model.prefix else name
        field = fields.get(name)
        ref = _nested_ref(prop, defs)
        link = ref is not None or key in elsewhere
        rows.append(_row(key, prop, defs, required=name in required, field=field, link=link))
        if ref is not None and key not in elsewhere:
            sub_cls = next((m for m in models_in(field.annotation) if m.__name__ == ref), None) if field else None
            sub = _Model(defs[ref], sub_cls, key, _clean(defs[ref].get("description", "")))
            nested += _model_sections(sub, defs, elsewhere, heading=True)
    parts = []
    if heading:
        parts.append(f"### `{model.prefix}` {{#{anchor(model.prefix)}}}")
    if model.description:
        parts.append(model.description)
    parts.append(_table(rows))
    return ["\n\n".join(parts), *nested]


def _component_sections(component: type, elsewhere: set[str]) -> tuple[list[str], list[str]]:
    """A component's own attributes (a table, nested models expanded) and its inherited ones (a table)."""
    model_cls = component.get_model_cls()  # type: ignore[attr-defined]
    schema = model_cls.model_json_schema()
    defs = schema.get("$defs", {})
    props = schema["properties"]
    required = set(schema.get("required", []))
    defaults = _dataclass_defaults(component)
    own = [n for n in own_attributes(component) if n in props]
    inherited = [n for n in props if n not in own]
    stripped = False

    def rows_of(names: list[str], expand: bool) -> tuple[list[list[str]], list[str]]:
        nonlocal stripped
        rows: list[list[str]] = []
        nested: list[str] = []
        for name in names:
            field = model_cls.model_fields[name]
            prop = props[name]
            if _template_alternative(field.annotation):
                prop, cut = _without_template_str(prop)
                stripped = stripped or cut
            ref = _nested_ref(prop, defs) if expand else None
            default = defaults.get(name, _NO_DEFAULT)
            link = ref is not None or name in elsewhere
            rows.append(_row(name, prop, defs, required=name in required, field=field, link=link, default=default))
            if ref is not None and name not in elsewhere:
                sub_cls = next((m for m in models_in(field.annotation) if m.__name__ == ref), None)
                sub = _Model(defs[ref], sub_cls, name, _clean(defs[ref].get("description", "")))
                nested += _model_sections(sub, defs, elsewhere, heading=True)
        return rows, nested

    own_rows, own_nested = rows_of(own, expand=True)
    inherited_rows, _ = rows_of(inherited, expand=False)
    note = (
        'Every attribute also takes a template string (`"{{ ... }}"`), rendered when dagster loads the '
        "component; the types leave that alternative out."
        if stripped
        else ""
    )
    head = "\n\n".join(p for p in (_table(own_rows), note) if p)
    base = ", ".join(f"`{b.__module__}.{b.__name__}`" for b in component.__bases__)
    tail = (
        f"### Inherited attributes {{#{anchor('inherited')}}}\n\n"
        f"From {base}; their nested keys: `dg utils inspect-component "
        f"{component.__module__.split('.')[0]}.{component.__name__} --defs-yaml-json-schema`.\n\n"
        + _table(inherited_rows)
    )
    return [head, *own_nested], [tail]


def _dataclass_defaults(component: type) -> dict[str, Any]:
    """A component dataclass's field defaults (its defs.yaml schema says only 'unset' for default factories)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(component):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _template_alternative(annotation: Any) -> bool:
    """Whether dagster appended ``str`` to a component field's type (``Union[X, str]``) for template strings."""
    args = typing.get_args(annotation)
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) > 1 and args[-1] is str


def _without_template_str(prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    alts = prop.get("anyOf")
    if not alts:
        return prop, False
    kept = [a for a in alts if a != {"type": "string"}]
    if len(kept) == len(alts) or not [a for a in kept if a.get("type") != "null"]:
        return prop, False
    return {**prop, "anyOf": kept}, True


def _nested_ref(prop: dict[str, Any], defs: dict[str, Any]) -> str | None:
    """The name of the model a property holds (``$ref``, possibly or-null), if any."""
    for alt in prop.get("anyOf", [prop]):
        ref = alt.get("$ref")
        if ref and defs.get(ref.rsplit("/", 1)[-1], {}).get("properties"):
            return ref.rsplit("/", 1)[-1]
    return None


def _row(
    key: str,
    prop: dict[str, Any],
    defs: dict[str, Any],
    *,
    required: bool,
    field: Any,
    link: bool,
    default: Any = _NO_DEFAULT,
) -> list[str]:
    type_text, nullable = _type_text(prop, defs)
    if link:
        type_text += f", see [{key}](#{anchor(key)})"
    if nullable:
        type_text += ", optional"
    description = _clean(prop.get("description", ""))
    if prop.get("examples"):
        if description and not description.endswith((".", ")", ":")):
            description += "."
        description += f"{' ' if description else ''}Example: `{json.dumps(prop['examples'][0])}`."
    return [f"`{key}`", type_text, _default_text(prop, required, field, default), description]


def _type_text(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[str, bool]:
    """Markdown for a property's type ("`int` ≥ 0", "one of `"a"`, `"b"`"), and whether null is allowed."""
    alts = prop.get("anyOf") or prop.get("oneOf") or [prop]
    nullable = any(a.get("type") == "null" for a in alts)
    texts: list[str] = []
    for alt in alts:
        if alt.get("type") == "null":
            continue
        if "enum" in alt:
            text = "one of " + ", ".join(f"`{json.dumps(v)}`" for v in alt["enum"])
        elif "const" in alt:
            text = f"`{json.dumps(alt['const'])}`"
        else:
            text = f"`{_py_type(alt, defs)}`"
        text += _constraints(alt)
        if text not in texts:
            texts.append(text)
    return " or ".join(texts) or "any", nullable


def _py_type(s: dict[str, Any], defs: dict[str, Any]) -> str:
    """A JSON schema node as a Python-style type: ``list[str]``, ``dict[str, float]``, ``ChecksMeta``."""
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        return name if target.get("properties") or "enum" not in target else _py_type(target, defs)
    if "anyOf" in s or "oneOf" in s:
        return " | ".join(dict.fromkeys(_py_type(a, defs) for a in s.get("anyOf") or s["oneOf"]))
    if "enum" in s:
        return f"Literal[{', '.join(json.dumps(v) for v in s['enum'])}]"
    if "const" in s:
        return f"Literal[{json.dumps(s['const'])}]"
    kind = s.get("type")
    if kind == "array":
        if "prefixItems" in s:
            return f"tuple[{', '.join(_py_type(i, defs) for i in s['prefixItems'])}]"
        return f"list[{_py_type(s['items'], defs)}]" if "items" in s else "list"
    if kind == "object":
        extra = s.get("additionalProperties")
        if isinstance(extra, dict):
            return f"dict[str, {_py_type(extra, defs)}]"
        return "dict[str, Any]" if extra is True or not s.get("properties") else "mapping"
    if isinstance(kind, list):
        return " | ".join(_JSON_TYPES.get(str(k), str(k)) for k in kind)
    return _JSON_TYPES.get(kind, "Any") if kind else "Any"


def _constraints(s: dict[str, Any]) -> str:
    out = [f"{sign} {json.dumps(s[k])}" for k, sign in _BOUNDS.items() if k in s]
    if "minItems" in s and s.get("type") == "array" and "prefixItems" not in s:
        out.append(f"at least {s['minItems']} item{'s' if s['minItems'] != 1 else ''}")
    if "pattern" in s:
        out.append(f"matching `{s['pattern']}`")
    return (" " + ", ".join(out)) if out else ""


def _default_text(prop: dict[str, Any], required: bool, field: Any, default: Any) -> str:
    from pydantic import BaseModel

    if "default" in prop and prop["default"] != UNSET:
        return f"`{json.dumps(prop['default'])}`"
    value = default
    if value is _NO_DEFAULT and field is not None and field.default_factory is not None:
        value = field.get_default(call_default_factory=True)
    if value is _NO_DEFAULT:
        return "**required**" if required else ""
    if isinstance(value, BaseModel) or dataclasses.is_dataclass(value):
        return "each key's default"
    try:
        return f"`{json.dumps(value)}`"
    except TypeError:
        return f"`{value!r}`"


def _clean(text: str) -> str:
    """A docstring or description as one markdown line: rST's double backticks made single, and the pipes
    outside code spans escaped (a bare one would split the table's cell; inside a code span it does not)."""
    parts = " ".join(text.replace("``", "`").split()).split("`")
    return "`".join(part if i % 2 else part.replace("|", "\\|") for i, part in enumerate(parts))


def _table(rows: list[list[str]]) -> str:
    lines = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(cell.replace("\n", " ") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# MkDocs hooks ----------------------------------------------------------------------------------------------

_used: set[str] = set()


def on_pre_build(config: Any) -> None:
    _used.clear()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace each ``<!-- reference: NAME -->`` line of a page by the rendered block NAME."""
    from mkdocs.exceptions import PluginError

    blocks = render_reference()

    def put(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in blocks:
            raise PluginError(
                f"{page.file.src_uri}: no reference block {name!r} (docs/gen_reference.py has {list(blocks)})"
            )
        _used.add(name)
        return blocks[name]

    return MARKER.sub(put, markdown)


def on_post_build(config: Any) -> None:
    """Every block is on a page: a model added to BLOCKS and shown nowhere fails the build."""
    from mkdocs.exceptions import PluginError

    missing = sorted(set(render_reference()) - _used)
    if missing:
        raise PluginError(f"reference blocks on no page: {missing}; add `<!-- reference: NAME -->` to a page")
