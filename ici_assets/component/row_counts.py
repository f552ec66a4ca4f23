"""Row counts of the dbt models a run built, as ``dagster/row_count`` on their materialisations.

dagster-dbt's ``fetch_row_counts()`` counts through a second dbt adapter while dbt is still running: on an
embedded DuckDB file, which one process at a time may write, that second connection collides with dbt's.
So the step holds dbt's events until the command ends, counts each table it built through the warehouse
resource (views are not counted: that would run their query, as dagster-dbt also avoids), and then
releases the events in dbt's order, each table's materialisation carrying its count.
"""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import dagster as dg

from ici_assets.assets.factory import relation_of
from ici_assets.warehouse import Relation, Warehouse

#: dbt materialisations that store rows (a view's count would run its query).
COUNTED = ("table", "incremental", "seed", "snapshot")
#: The metadata key the UI shows as the row count.
ROW_COUNT = "dagster/row_count"


def counted_relation(node: Mapping[str, Any]) -> Relation | None:
    """The table a manifest node builds, if its rows are stored (None for views and ephemeral models)."""
    materialized = (node.get("config") or {}).get("materialized")
    if node.get("resource_type") not in ("model", "seed", "snapshot") or materialized not in COUNTED:
        return None
    return relation_of(node)


def with_row_counts(
    events: Iterable[Any], nodes: Mapping[str, Mapping[str, Any]], warehouse: Warehouse, log: Any
) -> Iterator[Any]:
    """The events, each table model's ``Output`` or ``AssetMaterialization`` with ``dagster/row_count`` added.

    A count that fails (the table is gone, no privilege) is logged as a warning and left out: row counts are
    information, never a reason to fail the dbt step."""
    for event in events:
        if isinstance(event, (dg.Output, dg.AssetMaterialization)):
            unique_id = event.metadata.get("unique_id")
            node = nodes.get(str(getattr(unique_id, "value", unique_id)))
            relation = counted_relation(node) if node else None
            if relation is not None:
                try:
                    count = warehouse.count_rows(relation)
                except Exception as exc:  # noqa: BLE001 - reported, and the event goes on without a count
                    log.warning(f"Row count of {relation} left out: {exc}")
                else:
                    event = event.with_metadata({**event.metadata, ROW_COUNT: dg.MetadataValue.int(count)})
        yield event
