"""Read causal-graph declarations (the ``ici`` meta) from a dbt manifest.

The graph has one home: the YAML of a dbt model. The model's ``config.meta.ici`` names the
target and options; each node column's ``meta.ici.parents`` lists its direct causes. Any
model carrying that meta gets its own ICI assets, with no new Python code. The keys are typed
and strict (:mod:`ici_assets.spec.meta`); the graph is checked by the engine's own validator.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ici_assets.engine.validation import ancestors_of, check_target
from ici_assets.spec.meta import ColumnMeta, ModelMeta, parse_meta
from ici_assets.spec.model import IciMetaError, IciSpec
from ici_assets.warehouse.requests import check_identifier

__all__ = ["IciMetaError", "IciSpec", "parse_model_spec", "specs_from_manifest"]


def _meta(props: Mapping[str, Any]) -> Any:
    """The ``ici`` entry of a manifest node or column, wherever dbt placed it."""
    config_meta = (props.get("config") or {}).get("meta") or {}
    if "ici" in config_meta:
        return config_meta["ici"]
    return (props.get("meta") or {}).get("ici")


def _has_meta(props: Mapping[str, Any]) -> bool:
    config_meta = (props.get("config") or {}).get("meta") or {}
    return "ici" in config_meta or "ici" in (props.get("meta") or {})


def _closest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_model_spec(props: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> IciSpec:
    """Build an :class:`IciSpec` from one manifest model node; raise IciMetaError if malformed.

    ``defaults``: settings that every model gets unless its meta sets them (the component's ``ici_defaults``).
    """
    model = props.get("name", "?")

    def fail(message: str) -> IciMetaError:
        return IciMetaError(f"dbt model '{model}': {message}. Fix the `ici` meta in the YAML of dbt model '{model}'.")

    meta, problem = parse_meta(ModelMeta, _meta(props), where="meta.ici", defaults=defaults)
    problems = [problem] if problem else []
    columns: Mapping[str, Any] = props.get("columns") or {}
    parents: dict[str, tuple[str, ...]] = {}
    units: dict[str, str] = {}
    transforms: dict[str, dict[str, Any]] = {}
    for col_name, col in columns.items():
        if not _has_meta(col):
            continue
        check_identifier(col_name, f"dbt model '{model}': column")
        col_meta, problem = parse_meta(ColumnMeta, _meta(col), where=f"column '{col_name}': meta.ici")
        if col_meta is None:
            problems.append(problem)
        else:
            parents[col_name] = tuple(col_meta.parents)
            if col_meta.unit is not None:
                units[col_name] = col_meta.unit
            declared = col_meta.transforms()
            if declared is not None:
                transforms[col_name] = declared
    if problems or meta is None:
        raise fail("; ".join(problems))
    if not parents:
        raise fail(
            "meta.ici is set but no column declares meta.ici.parents. "
            "Add `config: {meta: {ici: {parents: [...]}}}` to each node column"
        )
    nodes = list(parents)
    for child, ps in parents.items():
        for p in ps:
            if p not in parents:
                raise fail(
                    f"column '{child}' lists parent '{p}'{_closest(p, nodes)}, which is not a node column of the "
                    f"model (nodes: {sorted(nodes)}). Declare '{p}' as a column with meta.ici, or remove it from "
                    "the parents"
                )
    for node, declared in transforms.items():
        if parents[node]:
            raise fail(
                f"column '{node}' declares {' and '.join(declared)}, but only a root node (parents: []) can have "
                f"learned carryover or saturation, and '{node}' has parents {list(parents[node])}. Remove its parents "
                "or the carryover/saturation declaration"
            )
        if not any(node in ps for ps in parents.values()):
            raise fail(f"column '{node}' declares {' and '.join(declared)} but no column lists it as a parent")
        if node == meta.target:
            raise fail(f"column '{node}' is the target: carryover and saturation belong to spend columns")
        if "carryover" in declared and declared["carryover"]["kind"] != "none" and not meta.time_column:
            raise fail(
                f"column '{node}' declares carryover, which runs over periods in time order: set meta.ici.time_column"
            )
    try:
        check_target(parents, meta.target)
    except ValueError as exc:
        raise fail(f"the graph declared by meta.ici (target and column parents) is not usable: {exc}") from None

    known = set(columns)
    for col in (*meta.unit, *([meta.time_column] if meta.time_column else [])):
        check_identifier(col, f"dbt model '{model}': meta.ici unit/time column")
        if known and col not in known:
            raise fail(f"meta.ici names column '{col}' as unit/time column, but the model's YAML does not declare it")
    if meta.time_grain != "day" and not meta.time_column:
        raise fail(f"meta.ici.time_grain '{meta.time_grain}' needs meta.ici.time_column (the column of each period)")
    if meta.partitions.monthly is not None and not meta.time_column:
        raise fail("monthly partitions need meta.ici.time_column")
    segment = meta.partitions.segment
    if segment is not None:
        check_identifier(segment, f"dbt model '{model}': meta.ici.partitions.segment")
        if known and segment not in known:
            raise fail(f"meta.ici.partitions.segment names column '{segment}', which the model's YAML does not declare")
    lc = meta.last_click
    if lc is not None:
        for ch, node in lc.channels.items():
            if node not in parents:
                raise fail(
                    f"meta.ici.last_click maps channel '{ch}' to '{node}'{_closest(node, nodes)}, which is "
                    "not a node column"
                )
        for what, name in (
            ("model", lc.model),
            ("channel_column", lc.channel_column),
            ("value_column", lc.value_column),
        ):
            check_identifier(name, f"dbt model '{model}': last_click.{what}")
        if lc.time_column is None and meta.time_column:
            lc = lc.model_copy(update={"time_column": meta.time_column})
    if meta.decisions is not None:
        try:
            meta.decisions.check_model(sorted(nodes), ancestors_of(parents, meta.target), meta.time_column)
        except ValueError as exc:
            raise fail(f"meta.ici.decisions: {exc}") from None

    if meta.anomalies is not None and not meta.time_column:
        raise fail("meta.ici.anomalies explains the most recent periods of each unit: it needs meta.ici.time_column")

    if lc is not meta.last_click:
        meta = meta.model_copy(update={"last_click": lc})
    return IciSpec(
        model=check_identifier(model, "dbt model name"),
        unique_id=props["unique_id"],
        parents=parents,
        meta=meta,
        units=units,
        transforms=transforms,
    )


def specs_from_manifest(manifest: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> list[IciSpec]:
    """Every dbt model in the manifest that declares an ``ici`` meta, sorted by name."""
    specs = [
        parse_model_spec(props, defaults)
        for props in manifest.get("nodes", {}).values()
        if props.get("resource_type") == "model" and _has_meta(props)
    ]
    return sorted(specs, key=lambda s: s.model)
