"""On PostgreSQL too, a publish is one transaction: a writer killed by SIGKILL in the middle of it (while it
COPYs rows) leaves ici.ici_shares, ici.ici_shares_history and ici.ici_contributions exactly as they were,
and holds no lock afterwards (the next publish goes through)."""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from tests.warehouse.test_atomic_write import NODES, contributions, kill_writer_mid_publish, shares_rows

pytestmark = pytest.mark.postgres

BIG = 600_000 // len(NODES)  # 600,000 contribution rows: a COPY of a second or two

# The child publishes a second, much bigger result; it prints READY just before it publishes.
CHILD = textwrap.dedent("""
    import json, sys
    from ici_assets.publish.rows import shares_items
    from ici_assets.warehouse.postgres import PostgresWarehouse
    from tests.warehouse.test_atomic_write import contributions, shares_rows
    conninfo, n = json.loads(sys.argv[1]), int(sys.argv[2])
    items = shares_items(shares_rows("second", 20.0), contributions("second", n))
    warehouse = PostgresWarehouse(conninfo)
    print("READY", flush=True)
    warehouse.publish(items)
    print("DONE", flush=True)
""")


def snapshot(pg_server, db: str) -> tuple:
    with pg_server.admin(db) as con:
        return tuple(
            con.execute(f"SELECT * FROM ici.{t} ORDER BY 1, 2, 3, 4, 5").fetchall()
            for t in ("ici_shares", "ici_shares_history", "ici_contributions")
        )


@pytest.fixture(scope="module")
def base(pg_server):
    """A database holding a first, committed result, its snapshot, and how long the big write takes alone."""
    from ici_assets.publish.rows import shares_items

    db = pg_server.fresh_database("atomic_base")
    pg_server.warehouse(db).publish(shares_items(shares_rows("first", 100 / 6), contributions("first", 30)))
    before = snapshot(pg_server, db)
    timing = pg_server.fresh_database("atomic_timing", template=db)
    t0 = time.perf_counter()
    pg_server.warehouse(timing).publish(shares_items(shares_rows("second", 20.0), contributions("second", BIG)))
    return db, before, time.perf_counter() - t0


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6])
def test_sigkill_mid_write_keeps_previous_results(pg_server, base, fraction):
    from ici_assets.publish.rows import shares_items

    template, before, duration = base
    databases: list[str] = []

    def fresh_database(attempt: int) -> str:
        databases.append(pg_server.fresh_database(f"atomic_{int(fraction * 100)}_{attempt}", template=template))
        return json.dumps(pg_server.conninfo(databases[-1]))

    kill_writer_mid_publish(CHILD, fresh_database, duration * fraction)
    db = databases[-1]
    assert snapshot(pg_server, db) == before  # the server rolled the transaction back
    assert len(before[2]) == 30 * len(NODES) and {r[12] for r in before[1]} == {"first"}
    # the dead writer's locks went with its transaction: the next publish goes through
    pg_server.warehouse(db, connect_timeout=10).publish(
        shares_items(shares_rows("third", 20.0), contributions("third", 3))
    )
    assert len(snapshot(pg_server, db)[1]) == 12
