"""Webhook subscriptions and their deliveries (admins only: URLs may carry tokens)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gql.context import Info
from gql.engine.notices import NoticeType
from gql.security.roles import Role, principal_of, require
from gql.store.models import WebhookDelivery as DeliveryRow
from gql.store.models import WebhookSubscription as SubscriptionRow
from gql.types.common import aware
from gql.types.pagination import CountedConnection, paginate

WebhookEventType = strawberry.enum(
    NoticeType,
    name="WebhookEventType",
    description="What a webhook can be told; the CloudEvents `type` is the enum's value, "
    "such as provisync.run.failed.",
)


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    RETRYING = "RETRYING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


def _is_admin(info: Info) -> bool:
    return principal_of(info.context).may(Role.ADMIN)


@strawberry.type(description="One event sent, or to send, to one subscription.")
class WebhookDelivery(relay.Node):
    id: relay.NodeID[int]
    event_type: WebhookEventType  # type: ignore[valid-type]
    event_id: str = strawberry.field(description="The CloudEvents `id` of the event.")
    status: WebhookDeliveryStatus
    attempts: int
    last_error: str | None
    last_status_code: int | None
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due (null once delivered or given up)."
    )
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: DeliveryRow) -> WebhookDelivery:
        return cls(
            id=row.id or 0,
            event_type=NoticeType(row.event_type),
            event_id=str(row.event_id),
            status=WebhookDeliveryStatus(row.status),
            attempts=row.attempts,
            last_error=row.last_error,
            last_status_code=row.last_status_code,
            next_attempt_at=aware(row.next_attempt_at) if row.status != "DELIVERED" else None,
            created_at=aware(row.created_at) or row.created_at,
            delivered_at=aware(row.delivered_at),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[WebhookDelivery | None]:
        ids = [int(i) for i in node_ids]
        if not _is_admin(info):
            return [None for _ in ids]
        async with info.context.reader() as session:
            rows = {
                r.id: r
                for r in await session.scalars(
                    select(DeliveryRow).where(col(DeliveryRow.id).in_(ids))
                )
            }
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class WebhookDeliveryConnection(CountedConnection[WebhookDelivery]):
    pass


@strawberry.type(description="Where notifications go. The signing secret is write-only.")
class WebhookSubscription(relay.Node):
    id: relay.NodeID[int]
    url: str
    events: list[WebhookEventType]  # type: ignore[valid-type]
    description: str | None
    enabled: bool
    secret_set: bool = strawberry.field(description="Whether a signing secret is stored.")
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Deliveries to this subscription, newest first.")
    async def deliveries(
        self,
        info: Info,
        status: WebhookDeliveryStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> WebhookDeliveryConnection:
        statement = select(DeliveryRow).where(DeliveryRow.subscription_id == self.id)
        if status is not None:
            statement = statement.where(DeliveryRow.status == status.value)
        return await paginate(  # type: ignore[return-value]
            info,
            statement,
            DeliveryRow.id,
            WebhookDelivery.from_row,
            WebhookDeliveryConnection,
            first=first,
            after=after,
            descending=True,
        )

    @classmethod
    def from_row(cls, row: SubscriptionRow) -> WebhookSubscription:
        return cls(
            id=row.id or 0,
            url=row.url,
            events=[NoticeType(e) for e in row.events],
            description=row.description,
            enabled=row.enabled,
            secret_set=bool(row.secret),
            created_at=aware(row.created_at) or row.created_at,
            updated_at=aware(row.updated_at) or row.updated_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[WebhookSubscription | None]:
        ids = [int(i) for i in node_ids]
        if not _is_admin(info):
            return [None for _ in ids]
        async with info.context.reader() as session:
            rows = {
                r.id: r
                for r in await session.scalars(
                    select(SubscriptionRow).where(col(SubscriptionRow.id).in_(ids))
                )
            }
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class WebhookSubscriptionConnection(CountedConnection[WebhookSubscription]):
    pass


async def list_webhook_subscriptions(
    info: Info, first: int | None, after: str | None
) -> WebhookSubscriptionConnection:
    """Every subscription (admins only: a FORBIDDEN error for other callers)."""
    require(info, Role.ADMIN)
    return await paginate(  # type: ignore[return-value]
        info,
        select(SubscriptionRow),
        SubscriptionRow.id,
        WebhookSubscription.from_row,
        WebhookSubscriptionConnection,
        first=first,
        after=after,
    )
