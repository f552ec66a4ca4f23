"""The warehouse layer: the only place with SQL. Requests and table layouts in, frames out.

from ici_assets.warehouse import DuckDBWarehouse, Read, Relation, TimeRange
frame = DuckDBWarehouse("data/warehouse.duckdb").read(Read(Relation("main", "nodes"), ("date", "y")))
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import (
        MissingColumnsError,
        MissingRelationError,
        Warehouse,
        WarehouseError,
        WarehouseLockedError,
    )
    from .duckdb_file import DuckDBWarehouse
    from .layout import (
        ANOMALIES,
        ANOMALIES_HISTORY,
        BUDGET_ALLOCATION,
        BUDGET_ALLOCATION_HISTORY,
        CHANGE_ATTRIBUTION,
        CHANGE_ATTRIBUTION_HISTORY,
        CHANNEL_RETURNS,
        CHANNEL_RETURNS_HISTORY,
        CONTRIBUTIONS,
        ICI_SCHEMA,
        SENSITIVITY,
        SENSITIVITY_HISTORY,
        SHARES,
        SHARES_HISTORY,
        SHARES_OVER_TIME,
        SPEND_RESPONSE,
        SPEND_RESPONSE_HISTORY,
        TRANSFORMS,
        TRANSFORMS_HISTORY,
        VS_LAST_CLICK,
        Column,
        ColumnType,
        TableLayout,
        ViewLayout,
        table,
    )
    from .requests import (
        Append,
        Equals,
        Filter,
        OneOf,
        Publish,
        Read,
        Recreate,
        Relation,
        Replace,
        SumBy,
        TimeRange,
        check_identifier,
    )

#: Where each public name lives: the DuckDB and pandas stacks load when a warehouse is first used, not when
#: assets are declared. No public name may be a submodule's name (tests/test_lazy_imports.py).
_LAZY = {
    "MissingColumnsError": "base",
    "MissingRelationError": "base",
    "Warehouse": "base",
    "WarehouseError": "base",
    "WarehouseLockedError": "base",
    "DuckDBWarehouse": "duckdb_file",
    "ANOMALIES": "layout",
    "ANOMALIES_HISTORY": "layout",
    "SENSITIVITY": "layout",
    "SENSITIVITY_HISTORY": "layout",
    "TRANSFORMS": "layout",
    "TRANSFORMS_HISTORY": "layout",
    "BUDGET_ALLOCATION": "layout",
    "BUDGET_ALLOCATION_HISTORY": "layout",
    "CHANGE_ATTRIBUTION": "layout",
    "CHANGE_ATTRIBUTION_HISTORY": "layout",
    "CONTRIBUTIONS": "layout",
    "ICI_SCHEMA": "layout",
    "SHARES": "layout",
    "SHARES_HISTORY": "layout",
    "SHARES_OVER_TIME": "layout",
    "SPEND_RESPONSE": "layout",
    "CHANNEL_RETURNS": "layout",
    "CHANNEL_RETURNS_HISTORY": "layout",
    "SPEND_RESPONSE_HISTORY": "layout",
    "VS_LAST_CLICK": "layout",
    "Column": "layout",
    "ColumnType": "layout",
    "TableLayout": "layout",
    "ViewLayout": "layout",
    "table": "layout",
    "Append": "requests",
    "Equals": "requests",
    "Filter": "requests",
    "OneOf": "requests",
    "Publish": "requests",
    "Read": "requests",
    "Recreate": "requests",
    "Relation": "requests",
    "Replace": "requests",
    "SumBy": "requests",
    "TimeRange": "requests",
    "check_identifier": "requests",
}

#: Dagster concurrency pool of the steps that write the embedded DuckDB file (one writer at a time).
WAREHOUSE_POOL = "duckdb_warehouse"

__all__ = [
    "ANOMALIES",
    "ANOMALIES_HISTORY",
    "SENSITIVITY",
    "SENSITIVITY_HISTORY",
    "TRANSFORMS",
    "TRANSFORMS_HISTORY",
    "BUDGET_ALLOCATION",
    "BUDGET_ALLOCATION_HISTORY",
    "CHANGE_ATTRIBUTION",
    "CHANGE_ATTRIBUTION_HISTORY",
    "CONTRIBUTIONS",
    "ICI_SCHEMA",
    "SHARES",
    "SHARES_HISTORY",
    "SHARES_OVER_TIME",
    "SPEND_RESPONSE",
    "SPEND_RESPONSE_HISTORY",
    "CHANNEL_RETURNS",
    "CHANNEL_RETURNS_HISTORY",
    "VS_LAST_CLICK",
    "WAREHOUSE_POOL",
    "Append",
    "Column",
    "ColumnType",
    "DuckDBWarehouse",
    "Equals",
    "Filter",
    "MissingColumnsError",
    "MissingRelationError",
    "OneOf",
    "Publish",
    "Read",
    "Recreate",
    "Relation",
    "Replace",
    "SumBy",
    "TableLayout",
    "TimeRange",
    "ViewLayout",
    "Warehouse",
    "WarehouseError",
    "WarehouseLockedError",
    "check_identifier",
    "table",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
