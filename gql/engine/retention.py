"""Audit retention: events older than ``audit_retention_days`` are purged, in batches.

Webhook events (the notification outbox) and their deliveries older than that go too.

A purge first writes its own admin event (``AUDIT_RETENTION``), then deletes older events a
batch per transaction, then says in that event how many went. Writing the event first keeps
it out of the purge and keeps the table from ever emptying (SQLite would then reuse ids).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from gql.engine.recorder import admin_event
from gql.settings import Settings
from gql.store.db import Database
from gql.store.models import AuditEvent, NotificationEvent, WebhookDelivery, utcnow

log = logging.getLogger("provisync.retention")
OPERATION = "AUDIT_RETENTION"


async def purge_audit_events(
    db: Database, days: int, batch_size: int, now: datetime | None = None
) -> int:
    """Delete the audit events created more than ``days`` days before ``now``.

    :return: how many were deleted (0 without an event, when nothing was old enough).
    """
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    older = col(AuditEvent.created_at) < cutoff
    async with db.session() as session:
        if await session.scalar(select(AuditEvent.id).where(older).limit(1)) is None:
            return 0
        record = admin_event(
            operation=OPERATION,
            message=f"purging audit events older than {days} days (before {cutoff.isoformat()})",
            actor="system",
        )
        session.add(record)
        await session.commit()
    purged = 0
    while True:
        async with db.session() as session:
            ids = list(
                await session.scalars(
                    select(AuditEvent.id)
                    .where(older, col(AuditEvent.id) != record.id)
                    .order_by(col(AuditEvent.id))
                    .limit(batch_size)
                )
            )
            if ids:
                await session.execute(delete(AuditEvent).where(col(AuditEvent.id).in_(ids)))
                await session.commit()
        purged += len(ids)
        if len(ids) < batch_size:
            break
    async with db.session() as session:
        stored = await session.get(AuditEvent, record.id)
        if stored is not None:
            stored.message = (
                f"{purged} audit events older than {days} days (before {cutoff.isoformat()}) "
                "purged by the retention policy"
            )
            session.add(stored)
            await session.commit()
    log.info("audit retention purged %d events older than %d days", purged, days)
    return purged


async def purge_notifications(
    db: Database, days: int, batch_size: int, now: datetime | None = None
) -> int:
    """Delete webhook events fanned out more than ``days`` days ago, with their deliveries.

    :return: how many events were deleted.
    """
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    purged = 0
    while True:
        async with db.session() as session:
            ids = list(
                await session.scalars(
                    select(NotificationEvent.id)
                    .where(
                        col(NotificationEvent.created_at) < cutoff,
                        col(NotificationEvent.dispatched_at).is_not(None),
                    )
                    .limit(batch_size)
                )
            )
            if ids:
                await session.execute(
                    delete(WebhookDelivery).where(col(WebhookDelivery.event_id).in_(ids))
                )
                await session.execute(
                    delete(NotificationEvent).where(col(NotificationEvent.id).in_(ids))
                )
                await session.commit()
        purged += len(ids)
        if len(ids) < batch_size:
            return purged


class RetentionLoop:
    """Purges now and then in the background (``audit_retention_interval_seconds``)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.settings.audit_retention_days > 0:
            self._task = asyncio.create_task(self._loop(), name="provisync-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            days, batch = (
                self.settings.audit_retention_days,
                self.settings.audit_retention_batch_size,
            )
            try:
                await purge_audit_events(self.db, days, batch)
                await purge_notifications(self.db, days, batch)
            except Exception:
                log.exception("purging old audit events failed")
            await asyncio.sleep(self.settings.audit_retention_interval_seconds)
