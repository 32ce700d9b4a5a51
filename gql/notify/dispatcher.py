"""The notifier: fans enqueued events out to subscriptions and sends them, in the background.

It wakes when the engine rings (``SyncEngine.notify``) and every ``webhook_tick_seconds``
(events enqueued by other processes, retries coming due). A delivery is claimed with a lease
before it is sent, so a process that dies mid-send leaves it to be retried, and several
replicas never send the same attempt twice (PostgreSQL row locks; SQLite has one writer).
Redirects are not followed: a 3xx is a failed attempt (it could lead past the egress rules).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import httpx2
from sqlmodel import col, select

from gql.notify.envelope import signed_request
from gql.security.crypto import SecretsUnreadable, decrypt_secrets
from gql.security.egress import EgressRefused, check_resolved
from gql.settings import Settings
from gql.store.db import Database
from gql.store.models import NotificationEvent, WebhookDelivery, WebhookSubscription, utcnow

log = logging.getLogger("provisync.notify")
DUE_STATUSES = ("PENDING", "RETRYING")
BATCH = 100
SENDING_AT_ONCE = 10


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


class Notifier:
    """One per process that serves the API (the engine only enqueues)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: httpx2.AsyncClient | None = None
        self._sending = asyncio.Semaphore(SENDING_AT_ONCE)
        self._attempts: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._http = httpx2.AsyncClient(
            timeout=self.settings.webhook_timeout, follow_redirects=False
        )
        self._task = asyncio.create_task(self._loop(), name="provisync-notify")

    async def stop(self) -> None:
        tasks = [*self._attempts, *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()  # a cancelled attempt keeps its lease and is retried after it
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("sending webhook notifications failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_tick_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def run_once(self) -> None:
        """Fan out new events, then start sending every delivery that is due."""
        while await self.fan_out():
            pass
        await self.send_due()

    async def fan_out(self) -> int:
        """One delivery per subscription that wants each new event. :return: events taken."""
        async with self.db.session() as session:
            events = list(
                await session.scalars(
                    select(NotificationEvent)
                    .where(col(NotificationEvent.dispatched_at).is_(None))
                    .order_by(col(NotificationEvent.id))
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            if not events:
                return 0
            subscriptions = list(
                await session.scalars(
                    select(WebhookSubscription).where(col(WebhookSubscription.enabled).is_(True))
                )
            )
            now = utcnow()
            for event in events:
                for subscription in subscriptions:
                    if event.type in subscription.events:
                        session.add(
                            WebhookDelivery(
                                subscription_id=subscription.id or 0,
                                event_id=event.id or 0,
                                event_type=event.type,
                                next_attempt_at=now,
                            )
                        )
                event.dispatched_at = now
                session.add(event)
            await session.commit()
        return len(events)

    async def send_due(self) -> int:
        """Claim the due deliveries (a lease) and send each in a task of its own, so a slow
        receiver delays no other. :return: how many were claimed."""
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.webhook_timeout + 30)
        async with self.db.session() as session:
            due = list(
                await session.scalars(
                    select(WebhookDelivery)
                    .join(
                        WebhookSubscription,
                        col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
                    )
                    .where(
                        col(WebhookDelivery.status).in_(DUE_STATUSES),
                        col(WebhookDelivery.next_attempt_at) <= now,
                        # A disabled subscription pauses: its deliveries wait, untried.
                        col(WebhookSubscription.enabled).is_(True),
                    )
                    .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
                    .limit(BATCH)
                    .with_for_update(skip_locked=True, of=WebhookDelivery)
                )
            )
            for delivery in due:
                delivery.next_attempt_at = lease
                session.add(delivery)
            await session.commit()
        for delivery in due:
            task = asyncio.create_task(self._attempt(delivery.id or 0))
            self._attempts.add(task)
            task.add_done_callback(self._attempts.discard)
        return len(due)

    async def _attempt(self, delivery_id: int) -> None:
        try:
            await self._attempt_once(delivery_id)
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", delivery_id)

    async def _attempt_once(self, delivery_id: int) -> None:
        # No session is held while the receiver answers: a hanging receiver must not keep
        # database connections the engine needs.
        async with self.db.session() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            subscription = (
                await session.get(WebhookSubscription, delivery.subscription_id)
                if delivery
                else None
            )
            event = await session.get(NotificationEvent, delivery.event_id) if delivery else None
        if delivery is None or subscription is None or event is None:
            return  # its subscription was deleted meanwhile
        async with self._sending:
            error, status_code, final = await self._send(delivery, subscription, event)
        now = utcnow()
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        if error is None:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                "DELIVERED",
                now,
                None,
            )
        elif final or delivery.attempts >= self.settings.webhook_max_attempts:
            delivery.status, delivery.next_attempt_at = "FAILED", None
        else:
            delay = min(
                self.settings.webhook_retry_base_seconds * 2 ** (delivery.attempts - 1),
                self.settings.webhook_retry_max_seconds,
            )
            delivery.status = "RETRYING"
            delivery.next_attempt_at = now + timedelta(seconds=delay)
        async with self.db.session() as session:
            if await session.get(WebhookDelivery, delivery_id) is None:
                return
            await session.merge(delivery)
            await session.commit()

    async def _send(
        self,
        delivery: WebhookDelivery,
        subscription: WebhookSubscription,
        event: NotificationEvent,
    ) -> tuple[str | None, int | None, bool]:
        """One attempt: (error or None, HTTP status, whether retrying is pointless)."""
        try:
            await check_resolved(subscription.url)
        except EgressRefused as exc:
            return f"refused by the egress rules: {exc}", None, True
        try:
            secret = decrypt_secrets({"secret": subscription.secret})["secret"]
        except SecretsUnreadable:
            return "the subscription's secret cannot be decrypted: set it again", None, True
        body, headers = signed_request(delivery.id or 0, str(secret), event, utcnow())
        assert self._http is not None
        try:
            response = await self._http.post(subscription.url, content=body, headers=headers)
        except httpx2.TimeoutException:
            return f"no answer within {self.settings.webhook_timeout:g}s", None, False
        except httpx2.ConnectError:
            return "cannot connect to the receiver", None, False
        except httpx2.HTTPError:
            return "the request to the receiver failed (transport error)", None, False
        if 200 <= response.status_code < 300:
            return None, response.status_code, False
        detail = response.text[:200].strip()
        return (
            f"HTTP {response.status_code}" + (f": {detail}" if detail else ""),
            (response.status_code),
            False,
        )
