"""Bulk inserts straight to the driver store what SQLAlchemy's own executemany stores, and
SELECTs straight to the driver read what SQLAlchemy reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from provisync.engine.bulk import insert_rows, select_in
from provisync.store.db import Database, upgrade_async
from provisync.store.models import (
    AuditEvent,
    DirectoryUser,
    EntitySyncState,
    ProvisioningConnection,
    Rule,
    table_of,
)


def _states(rule_id: int, prefix: str) -> list[dict[str, Any]]:
    now = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    no_differences: list[dict[str, Any]] = []
    return [
        {
            "rule_id": rule_id,
            "kind": "USER",
            "entity_key": f"{prefix}{i}",
            "display_name": f"Name {i} ünï",
            "state": "PARTIAL" if i % 2 else "SUCCESS",
            "action": "CREATE",
            "reason": None if i % 2 == 0 else "differs",
            "differences": (
                [{"attribute": "email", "source_value": "a", "target_value": None}]
                if i % 2
                else no_differences
            ),
            "target_id": None,
            "write_back_ok": [None, True, False][i % 3],
            "write_back_reason": None,
            "write_back_at": now if i == 1 else None,
            "updated_at": now,
        }
        for i in range(6)
    ]


async def test_insert_rows_stores_what_core_executemany_stores(database_url: str) -> None:
    await upgrade_async(database_url)
    db = Database(database_url)
    try:
        async with db.session() as session:
            connection = ProvisioningConnection(name="c", connector_type="scim")
            session.add(connection)
            await session.flush()
            rule = Rule(name="r", direction="INBOUND", connection_id=connection.id or 0)
            session.add(rule)
            await session.flush()
            rule_id = rule.id or 0
            await insert_rows(session, table_of(EntitySyncState), _states(rule_id, "bulk-"))
            await session.execute(insert(table_of(EntitySyncState)), _states(rule_id, "core-"))
            users = [
                {
                    "user_name": f"u{i}",
                    "given_name": None,
                    "active": i % 2 == 0,
                    "source_rule_id": rule_id,
                    "source_key": f"k{i}",
                    "created_at": datetime(2024, 1, 1, tzinfo=UTC),
                    "updated_at": datetime(2024, 1, 2, tzinfo=UTC),
                }
                for i in range(3)
            ]
            ids = await insert_rows(session, table_of(DirectoryUser), users, returning="id")
            await insert_rows(session, table_of(AuditEvent), [])  # nothing to do
            await session.commit()

        async with db.session() as session:
            stored = (await session.scalars(select(EntitySyncState))).all()
            by_key = {state.entity_key: state for state in stored}
            for i in range(6):
                bulk, core = by_key[f"bulk-{i}"], by_key[f"core-{i}"]
                assert bulk.id != core.id
                ignored = {"id", "entity_key"}
                assert {k: v for k, v in bulk.model_dump().items() if k not in ignored} == {
                    k: v for k, v in core.model_dump().items() if k not in ignored
                }
            assert by_key["bulk-1"].differences == [
                {"attribute": "email", "source_value": "a", "target_value": None}
            ]
            assert by_key["bulk-2"].write_back_ok is False
            stored_users = (
                await session.scalars(select(DirectoryUser).order_by(DirectoryUser.user_name))
            ).all()
            assert [(u.user_name, u.active, u.source_key) for u in stored_users] == [
                ("u0", True, "k0"),
                ("u1", False, "k1"),
                ("u2", True, "k2"),
            ]
            # The ids come back where that costs nothing more (SQLite), else None.
            assert ids is None or sorted(ids) == sorted(u.id for u in stored_users)

            # select_in reads the values SQLAlchemy reads (booleans, times, JSON converted).
            columns = ("id", "entity_key", "differences", "write_back_ok", "write_back_at")
            table = table_of(EntitySyncState)
            keys = [f"bulk-{i}" for i in range(6)] + ["missing"]
            rows = await select_in(
                session, table, columns, "entity_key", keys, {"rule_id": rule_id, "kind": "USER"}
            )
            expected = await session.execute(
                select(*[table.c[c] for c in columns]).where(table.c.entity_key.in_(keys))
            )
            assert sorted(map(tuple, rows)) == sorted(map(tuple, expected))
            assert {row.entity_key for row in rows} == set(keys) - {"missing"}
            assert await select_in(session, table, columns, "entity_key", []) == []
            assert (
                await select_in(session, table, ("id",), "entity_key", keys, {"rule_id": -1}) == []
            )
    finally:
        await db.dispose()
