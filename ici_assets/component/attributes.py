"""Typed component attributes: a pydantic model as a ``defs.yaml`` attribute, with its exact schema for ``dg``
and the ``ici`` meta's errors (each bad key named, with the closest valid one) when the definitions load.

Dagster derives an attribute's schema from its annotation but accepts only plain fields there (no bounds such
as ``ge=0``); so the YAML side is declared as a mapping carrying the model's own JSON schema (inlined, with
``additionalProperties: false``), and the resolver validates it with the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

import dagster as dg
from pydantic import BaseModel, WithJsonSchema

from ici_assets.spec.meta import parse_meta
from ici_assets.spec.model import IciMetaError

M = TypeVar("M", bound=BaseModel)

if TYPE_CHECKING:
    from ici_assets.compute import PoolSettings
    from ici_assets.spec.automation import AutomationSettings
    from ici_assets.spec.meta import IciSettings

    IciDefaults: TypeAlias = IciSettings | None
    ComputePool: TypeAlias = PoolSettings | None
    Automation: TypeAlias = AutomationSettings | None
else:  # Dagster inspects the annotation itself and refuses models with bounded fields: the resolver types it
    IciDefaults = ComputePool = Automation = Any


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every ``$ref`` replaced by its definition (it is embedded in another schema)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(
                    {**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
                )
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)


def validate_attribute(model: type[M], value: Any, where: str) -> M:
    """``value`` as ``model``, or :class:`IciMetaError` naming each bad key of attribute ``where``."""
    if isinstance(value, model):
        return value
    parsed, problem = parse_meta(model, value if value is not None else {}, where=where)
    if parsed is None:
        raise IciMetaError(f"IciDbtProjectComponent: {problem}. Fix `{where}` in its defs.yaml.")
    return parsed


def model_attribute(model: type[BaseModel], where: str, description: str, examples: list[Any]) -> dg.Resolver:
    """The resolver of an optional attribute holding ``model``: schema from the model, validation by it."""

    def resolve(context: dg.ResolutionContext, value: Mapping[str, Any] | None) -> BaseModel | None:
        return None if value is None else validate_attribute(model, value, where)

    yaml_type = Annotated[dict[str, Any], WithJsonSchema(inline_schema(model))]
    return dg.Resolver(resolve, model_field_type=yaml_type | None, description=description, examples=examples)
