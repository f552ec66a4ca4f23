"""A readable description for each dbt data test shown as a Dagster asset check.

dagster-dbt takes a check's description from the test's ``meta.description`` only, so the UI says "No
description provided" for almost every dbt test. The description here is, in order: ``meta.description``,
dbt's own ``description:`` of the test (generic or singular, in the YAML), else one sentence built from the
generic test's name and arguments ("`revenue` is never null").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _values(values: Any) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, (list, tuple)) else str(values)


def _range(column: str, args: Mapping[str, Any]) -> str:
    strict = args.get("inclusive") is False
    bounds = []
    if args.get("min_value") is not None:
        bounds.append(f"{'>' if strict else '>='} {args['min_value']}")
    if args.get("max_value") is not None:
        bounds.append(f"{'<' if strict else '<='} {args['max_value']}")
    return f"`{column}` is {' and '.join(bounds) or 'within its range'}"


def describe_generic_test(name: str, args: Mapping[str, Any], column: str | None) -> str:
    """One sentence saying what a generic dbt test asserts, from its name and arguments."""
    col = column or "?"
    known = {
        "not_null": lambda: f"`{col}` is never null",
        "unique": lambda: f"`{col}` is unique",
        "accepted_values": lambda: f"`{col}` is one of {_values(args.get('values', []))}",
        "accepted_range": lambda: _range(col, args),
        "relationships": lambda: f"every `{col}` is found in {args.get('field', '?')} of {args.get('to', '?')}",
        "unique_combination_of_columns": lambda: (
            "One row per " + " x ".join(str(c) for c in args.get("combination_of_columns", []))
        ),
    }
    if name in known:
        return known[name]() + f" (dbt test {name})."
    shown = {k: v for k, v in args.items() if k not in ("model", "column_name")}
    on = f" on `{column}`" if column else ""
    return f"dbt test {name}{on}" + (f" with {shown}" if shown else "") + "."


def describe_dbt_test(props: Mapping[str, Any]) -> str:
    """The description of one manifest test node (see the module docstring for the order)."""
    described = (props.get("meta") or {}).get("description") or props.get("description")
    if described:
        return str(described).strip()
    test = props.get("test_metadata")
    if not test:
        return f"dbt singular test {props.get('name', '?')}: rows it selects are failures."
    return describe_generic_test(test.get("name", "?"), test.get("kwargs") or {}, props.get("column_name"))
