"""Audit events seeded in bulk (Core inserts, thousands a statement), and what each should be."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from gql.store.db import Database
from gql.store.models import AuditEvent, table_of

BASE = datetime(2025, 1, 1, tzinfo=UTC)
"""Seeded event ``i`` happened ``i`` minutes after this."""


def seeded_event(i: int, rule_id: int | None) -> dict[str, Any]:
    """Event ``i``: about 500 bytes, with a comma, quotes and an accent to escape."""
    return {
        "rule_id": rule_id,
        "run_id": i // 1000 + 1,
        "kind": "USER",
        "entity_key": f"user-{i:06d}",
        "entity_name": f'Zoë "{i}", Ops',
        "operation": "UPDATE",
        "outcome": "SUCCESS",
        "message": f"event {i}: " + f"{i:06d}" * 80,
        "actor": "seed",
        "created_at": BASE + timedelta(minutes=i),
    }


async def _seed(database_url: str, rows: list[dict[str, Any]], chunk: int) -> None:
    db = Database(database_url)
    try:
        for start in range(0, len(rows), chunk):
            async with db.session() as session:
                await session.execute(insert(table_of(AuditEvent)), rows[start : start + chunk])
                await session.commit()
    finally:
        await db.dispose()


def seed_events(database_url: str, rows: list[dict[str, Any]], chunk: int = 10_000) -> None:
    """Insert ``rows`` in bulk, from a thread of its own (the caller may run an event loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _seed(database_url, rows, chunk)).result()
