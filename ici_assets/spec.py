"""Read causal-graph declarations (the ``ici`` meta) from a dbt manifest.

The graph has one home: the YAML of a dbt model. The model's ``config.meta.ici`` names the
target and options; each node column's ``meta.ici.parents`` lists its direct causes. Any
model carrying that meta gets its own ICI assets, with no new Python code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import networkx as nx
from pydantic import ValidationError

from ici_assets.decisions_meta import DecisionsMeta, describe_errors, parse_decisions
from ici_assets.spec_types import (
    DEFAULT_N_BOOTSTRAP,
    CheckSpec,
    IciMetaError,
    IciSpec,
    LastClickSpec,
    PartitionSpec,
)
from ici_assets.warehouse.requests import check_identifier

__all__ = [
    "CheckSpec",
    "IciMetaError",
    "IciSpec",
    "LastClickSpec",
    "PartitionSpec",
    "parse_model_spec",
    "specs_from_manifest",
]
MECHANISM_CHOICES = ("auto", "linear", "nonlinear")


def _meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``ici`` entry of a manifest node or column, wherever dbt placed it."""
    config_meta = (props.get("config") or {}).get("meta") or {}
    if "ici" in config_meta:
        return config_meta["ici"]
    return (props.get("meta") or {}).get("ici") or {}


def _has_meta(props: Mapping[str, Any]) -> bool:
    config_meta = (props.get("config") or {}).get("meta") or {}
    return "ici" in config_meta or "ici" in (props.get("meta") or {})


def _str_list(value: Any, model: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise IciMetaError(f"dbt model '{model}': meta.ici {key} must be a list of column names, got {value!r}.")
    return tuple(value)


def parse_model_spec(props: Mapping[str, Any]) -> IciSpec:
    """Build an :class:`IciSpec` from one manifest model node; raise IciMetaError if malformed."""
    model = props.get("name", "?")
    meta = _meta(props)
    if not isinstance(meta, Mapping):
        raise IciMetaError(f"dbt model '{model}': meta.ici must be a mapping, got {meta!r}.")
    fix = f"Fix the `ici` meta in the YAML of dbt model '{model}'."
    columns: Mapping[str, Any] = props.get("columns") or {}

    parents: dict[str, tuple[str, ...]] = {}
    units: dict[str, str] = {}
    for col_name, col in columns.items():
        if not _has_meta(col):
            continue
        col_meta = _meta(col)
        if not isinstance(col_meta, Mapping):
            raise IciMetaError(
                f"dbt model '{model}', column '{col_name}': meta.ici must be a mapping like "
                f"{{parents: [...]}}, got {col_meta!r}. {fix}"
            )
        check_identifier(col_name, f"dbt model '{model}': column")
        parents[col_name] = _str_list(col_meta.get("parents"), model, f"parents of '{col_name}'")
        if col_meta.get("unit") is not None:
            if not isinstance(col_meta["unit"], str):
                raise IciMetaError(
                    f"dbt model '{model}', column '{col_name}': meta.ici.unit must be text such as EUR or sessions, "
                    f"got {col_meta['unit']!r}. {fix}"
                )
            units[col_name] = col_meta["unit"]

    if not parents:
        raise IciMetaError(
            f"dbt model '{model}': meta.ici is set but no column declares meta.ici.parents. "
            f"Add `config: {{meta: {{ici: {{parents: [...]}}}}}}` to each node column. {fix}"
        )
    for child, ps in parents.items():
        for p in ps:
            if p not in parents:
                raise IciMetaError(
                    f"dbt model '{model}': column '{child}' lists parent '{p}', which is not a "
                    f"node column of the model (nodes: {sorted(parents)}). Declare '{p}' as a "
                    f"column with meta.ici, or remove it from the parents. {fix}"
                )
            if p == child:
                raise IciMetaError(f"dbt model '{model}': column '{child}' lists itself as parent. {fix}")

    target = meta.get("target")
    if not isinstance(target, str) or target not in parents:
        raise IciMetaError(
            f"dbt model '{model}': meta.ici.target must name one of the node columns "
            f"{sorted(parents)}, got {target!r}. {fix}"
        )
    g = nx.DiGraph([(p, c) for c, ps in parents.items() for p in ps])
    g.add_nodes_from(parents)
    if not nx.is_directed_acyclic_graph(g):
        cycle = " -> ".join(u for u, _ in nx.find_cycle(g))
        raise IciMetaError(f"dbt model '{model}': the declared graph has a cycle ({cycle}). {fix}")
    if not nx.ancestors(g, target):
        raise IciMetaError(
            f"dbt model '{model}': target '{target}' has no ancestors in the declared graph, so "
            f"there is nothing to attribute. Declare its parents. {fix}"
        )

    mechanisms = meta.get("mechanisms", "auto")
    if mechanisms not in MECHANISM_CHOICES:
        raise IciMetaError(
            f"dbt model '{model}': meta.ici.mechanisms must be one of {MECHANISM_CHOICES}, got {mechanisms!r}. {fix}"
        )
    n_bootstrap = meta.get("n_bootstrap", DEFAULT_N_BOOTSTRAP)
    seed = meta.get("seed", 0)
    for key, val in (("n_bootstrap", n_bootstrap), ("seed", seed)):
        if not isinstance(val, int) or isinstance(val, bool) or val < 0:
            raise IciMetaError(
                f"dbt model '{model}': meta.ici.{key} must be a non-negative integer, got {val!r}. {fix}"
            )
    unit = _str_list(meta.get("unit"), model, "unit")
    time_column = meta.get("time_column")
    for col in (*unit, *([time_column] if time_column else [])):
        check_identifier(col, f"dbt model '{model}': meta.ici unit/time column")
        if columns and col not in columns:
            raise IciMetaError(
                f"dbt model '{model}': meta.ici names column '{col}' as unit/time column, but the "
                f"model's YAML does not declare it. {fix}"
            )

    last_click = None
    lc = meta.get("last_click")
    if lc is not None:
        if not isinstance(lc, Mapping) or not isinstance(lc.get("channels"), Mapping):
            raise IciMetaError(
                f"dbt model '{model}': meta.ici.last_click must be a mapping with keys model, "
                f"channel_column, value_column and channels ({{channel: node}}), got {lc!r}. {fix}"
            )
        for ch, node in lc["channels"].items():
            if node not in parents:
                raise IciMetaError(
                    f"dbt model '{model}': meta.ici.last_click maps channel '{ch}' to '{node}', "
                    f"which is not a node column. {fix}"
                )
        last_click = LastClickSpec(
            model=check_identifier(lc.get("model"), f"dbt model '{model}': last_click.model"),
            channel_column=check_identifier(
                lc.get("channel_column", "channel"), f"dbt model '{model}': last_click.channel_column"
            ),
            value_column=check_identifier(
                lc.get("value_column", "revenue"), f"dbt model '{model}': last_click.value_column"
            ),
            channels={str(k): str(v) for k, v in lc["channels"].items()},
            time_column=lc.get("time_column", time_column),
        )

    partitions = _parse_partitions(meta.get("partitions"), model, time_column, set(columns), fix)
    decisions = _parse_decisions(meta.get("decisions"), model, g, target, time_column, fix)

    return IciSpec(
        model=check_identifier(model, "dbt model name"),
        unique_id=props["unique_id"],
        relation_name=props.get("relation_name") or model,
        target=target,
        parents=parents,
        units=units,
        unit=unit,
        time_column=time_column,
        mechanisms=mechanisms,
        n_bootstrap=n_bootstrap,
        seed=seed,
        last_click=last_click,
        partitions=partitions,
        checks=_parse_checks(meta.get("checks"), model, fix),
        decisions=decisions,
        description=props.get("description") or "",
    )


def _parse_partitions(raw: Any, model: str, time_column: str | None, columns: set[str], fix: str) -> PartitionSpec:
    """``partitions: {monthly: {start, end, window_months}, segment: region}`` -> PartitionSpec."""
    if raw is None:
        return PartitionSpec()
    if not isinstance(raw, Mapping) or set(raw) - {"monthly", "segment"}:
        raise IciMetaError(
            f"dbt model '{model}': meta.ici.partitions must be a mapping with keys 'monthly' "
            f"and/or 'segment', got {raw!r}. {fix}"
        )
    monthly = raw.get("monthly")
    start = end = None
    window = 6
    if monthly is not None:
        if not time_column:
            raise IciMetaError(f"dbt model '{model}': monthly partitions need meta.ici.time_column. {fix}")
        if not isinstance(monthly, Mapping) or "start" not in monthly:
            raise IciMetaError(
                f"dbt model '{model}': meta.ici.partitions.monthly must be a mapping with 'start' "
                f"(YYYY-MM-01) and optional 'end' and 'window_months', got {monthly!r}. {fix}"
            )
        start, end = str(monthly["start"]), (str(monthly["end"]) if monthly.get("end") else None)
        for key, val in (("start", start), ("end", end)):
            if val is not None and not (len(val) == 10 and val[4] == "-" and val[7] == "-" and val.endswith("-01")):
                raise IciMetaError(
                    f"dbt model '{model}': meta.ici.partitions.monthly.{key} must be the first day of "
                    f"a month as YYYY-MM-01, got {val!r}. {fix}"
                )
        window = monthly.get("window_months", 6)
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise IciMetaError(
                f"dbt model '{model}': meta.ici.partitions.monthly.window_months must be a positive "
                f"integer, got {window!r}. {fix}"
            )
    segment = raw.get("segment")
    if segment is not None:
        check_identifier(segment, f"dbt model '{model}': meta.ici.partitions.segment")
        if columns and segment not in columns:
            raise IciMetaError(
                f"dbt model '{model}': meta.ici.partitions.segment names column '{segment}', which "
                f"the model's YAML does not declare. {fix}"
            )
    return PartitionSpec(monthly_start=start, monthly_end=end, window_months=window, segment_column=segment)


def _parse_decisions(
    raw: Any, model: str, graph: nx.DiGraph, target: str, time_column: str | None, fix: str
) -> DecisionsMeta | None:
    """``decisions: {spend_nodes, levels, change_attribution, budget, n_bootstrap}`` -> DecisionsMeta."""
    try:
        decisions = parse_decisions(raw)
        if decisions is not None:
            decisions.check_model(sorted(graph.nodes), nx.ancestors(graph, target), time_column)
    except ValidationError as exc:
        problems = describe_errors(exc)
        raise IciMetaError(f"dbt model '{model}': meta.ici.decisions is malformed ({problems}). {fix}") from None
    except ValueError as exc:
        raise IciMetaError(f"dbt model '{model}': meta.ici.decisions: {exc}. {fix}") from None
    return decisions


def _parse_checks(raw: Any, model: str, fix: str) -> CheckSpec:
    """``checks: {min_r2, markov_alpha, markov_min_abs_corr, min_rows}`` -> CheckSpec."""
    if raw is None:
        return CheckSpec()
    allowed = set(CheckSpec.__dataclass_fields__)
    if not isinstance(raw, Mapping) or set(raw) - allowed:
        raise IciMetaError(
            f"dbt model '{model}': meta.ici.checks must be a mapping with keys among {sorted(allowed)}, "
            f"got {raw!r}. {fix}"
        )
    for key, val in raw.items():
        if not isinstance(val, (int, float)) or isinstance(val, bool) or val < 0:
            raise IciMetaError(
                f"dbt model '{model}': meta.ici.checks.{key} must be a non-negative number, got {val!r}. {fix}"
            )
    values: dict[str, Any] = {k: (int(v) if k == "min_rows" else float(v)) for k, v in raw.items()}
    return replace(CheckSpec(), **values)


def specs_from_manifest(manifest: Mapping[str, Any]) -> list[IciSpec]:
    """Every dbt model in the manifest that declares an ``ici`` meta, sorted by name."""
    specs = [
        parse_model_spec(props)
        for props in manifest.get("nodes", {}).values()
        if props.get("resource_type") == "model" and _has_meta(props)
    ]
    return sorted(specs, key=lambda s: s.model)
