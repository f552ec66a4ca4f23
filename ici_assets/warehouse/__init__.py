"""The warehouse layer: the only place with SQL. Requests and table layouts in, frames out.

from ici_assets.warehouse import DuckDBWarehouse, Read, Relation, TimeRange
frame = DuckDBWarehouse("data/warehouse.duckdb").read(Read(Relation("main", "nodes"), ("date", "y")))
"""

from ici_assets.warehouse.base import (
    MissingColumnsError,
    MissingRelationError,
    Warehouse,
    WarehouseError,
    WarehouseLockedError,
)
from ici_assets.warehouse.duckdb_file import DuckDBWarehouse
from ici_assets.warehouse.layout import (
    BUDGET_ALLOCATION,
    BUDGET_ALLOCATION_HISTORY,
    CHANGE_ATTRIBUTION,
    CHANGE_ATTRIBUTION_HISTORY,
    CONTRIBUTIONS,
    ICI_SCHEMA,
    SHARES,
    SHARES_HISTORY,
    SHARES_OVER_TIME,
    SPEND_RESPONSE,
    SPEND_RESPONSE_HISTORY,
    VS_LAST_CLICK,
    Column,
    ColumnType,
    TableLayout,
    ViewLayout,
    table,
)
from ici_assets.warehouse.requests import (
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

#: Dagster concurrency pool of the steps that write the embedded DuckDB file (one writer at a time).
WAREHOUSE_POOL = "duckdb_warehouse"

__all__ = [
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
