"""Audit retention: exactly the events older than PROVISYNC_AUDIT_RETENTION_DAYS go, in
batches, in the background, and an admin audit event says how many."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta

from sqlmodel import select

from gql.engine.retention import purge_audit_events
from gql.store.db import Database, upgrade
from gql.store.models import NotificationEvent, WebhookDelivery, WebhookSubscription, utcnow
from tests.support.api import running_api
from tests.support.audit import seed_events, seeded_event

DAY = timedelta(days=1)


def _export(api_url: str) -> list[dict[str, object]]:
    import httpx

    text = httpx.get(f"{api_url}/audit/export", params={"format": "jsonl"}, timeout=30).text
    return [json.loads(line) for line in text.splitlines()]


def test_retention_purges_exactly_the_older_events_and_says_so(database_url: str) -> None:
    upgrade(database_url)
    now = utcnow()
    old = [
        seeded_event(i, None) | {"created_at": now - 31 * DAY - timedelta(minutes=i)}
        for i in range(1234)
    ]
    just_older = seeded_event(5000, None) | {"created_at": now - 30 * DAY - timedelta(minutes=10)}
    just_newer = seeded_event(5001, None) | {"created_at": now - 30 * DAY + timedelta(minutes=10)}
    recent = [
        seeded_event(6000 + i, None) | {"created_at": now - timedelta(hours=i)} for i in range(300)
    ]
    seed_events(database_url, [*old, just_older, just_newer, *recent], chunk=500)
    kept = {e["entity_key"] for e in [just_newer, *recent]}

    # Kept forever with 0 days, whatever their age.
    async def keep_forever() -> int:
        db = Database(database_url)
        try:
            return await purge_audit_events(db, 0, 100)
        finally:
            await db.dispose()

    assert asyncio.run(keep_forever()) == 0
    asyncio.run(_seed_notifications(database_url, now))

    with running_api(
        database_url,
        audit_retention_days=30,
        audit_retention_batch_size=100,
        audit_retention_interval_seconds=0.2,
    ) as api:
        deadline = time.monotonic() + 30
        while True:
            records = _export(api.base_url)
            notes = [r for r in records if r["operation"] == "AUDIT_RETENTION"]
            if notes and "purged by the retention policy" in str(notes[0]["message"]):
                break
            assert time.monotonic() < deadline, notes
            time.sleep(0.1)
        assert len(notes) == 1, notes  # later passes find nothing old and write nothing
        assert str(notes[0]["message"]).startswith("1235 audit events older than 30 days")
        assert notes[0]["actor"] == "system" and notes[0]["outcome"] == "SUCCESS"
        remaining = {r["entityKey"] for r in records if r["actor"] == "seed"}
        assert remaining == kept
        time.sleep(0.5)  # a few more passes: still one note, nothing else gone
        again = _export(api.base_url)
        assert [r["id"] for r in again if r["operation"] == "AUDIT_RETENTION"] == [notes[0]["id"]]
        assert {r["entityKey"] for r in again if r["actor"] == "seed"} == kept
        # Webhook events past the retention go with their deliveries; recent ones stay.
        left = asyncio.run(_notifications(database_url))
        assert left == (["recent"], ["recent"])


async def _seed_notifications(database_url: str, now: datetime) -> None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            subscription = WebhookSubscription(url="http://127.0.0.1:9/", events=[], secret="x")
            session.add(subscription)
            await session.flush()
            for name, age in (("old", 40 * DAY), ("recent", DAY)):
                event = NotificationEvent(
                    type=name, data={}, created_at=now - age, dispatched_at=now - age
                )
                session.add(event)
                await session.flush()
                session.add(
                    WebhookDelivery(
                        subscription_id=subscription.id or 0,
                        event_id=event.id or 0,
                        event_type=name,
                        status="DELIVERED",
                    )
                )
            await session.commit()
    finally:
        await db.dispose()


async def _notifications(database_url: str) -> tuple[list[str], list[str]]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            events = list(await session.scalars(select(NotificationEvent.type)))
            deliveries = list(await session.scalars(select(WebhookDelivery.event_type)))
        return events, deliveries
    finally:
        await db.dispose()
