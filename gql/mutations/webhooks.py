"""Create, update and delete webhook subscriptions (admins). Secrets are write-only."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from gql.context import Info
from gql.engine.notices import NoticeType
from gql.engine.recorder import admin_event
from gql.mutations.connections import DeletePayload, DeleteResult
from gql.notify.envelope import secret_problem
from gql.security.crypto import encrypt_secrets
from gql.security.egress import EgressRefused, check_url
from gql.security.roles import Role, forbidden
from gql.store.models import WebhookSubscription as SubscriptionRow
from gql.store.models import utcnow
from gql.types.common import node_pk
from gql.types.errors import ForbiddenError, NotFoundError, ValidationError, invalid, not_found
from gql.types.webhook import WebhookEventType, WebhookSubscription

WebhookSubscriptionResult = Annotated[
    WebhookSubscription | NotFoundError | ValidationError | ForbiddenError,
    strawberry.union("WebhookSubscriptionResult"),
]


@strawberry.input
class CreateWebhookSubscriptionInput:
    url: str = strawberry.field(description="http(s) URL that receives the events.")
    events: list[WebhookEventType]  # type: ignore[valid-type]
    secret: str = strawberry.field(
        description="Standard Webhooks signing secret, whsec_<base64 of 24-64 bytes>; "
        "stored encrypted and never returned."
    )
    description: str | None = None
    enabled: bool = True


@strawberry.input
class UpdateWebhookSubscriptionInput:
    id: relay.GlobalID
    url: str | None = strawberry.UNSET
    events: list[WebhookEventType] | None = strawberry.UNSET  # type: ignore[valid-type]
    secret: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new signing secret (the old one is replaced)."
    )
    description: str | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET


def _given(value: object) -> bool:
    return value is not strawberry.UNSET and value is not None


def _problems(
    url: str | None, events: list[NoticeType] | None, secret: str | None
) -> ValidationError | None:
    fields: list[tuple[str, str]] = []
    if url is not None:
        try:
            check_url(url)
        except EgressRefused as exc:
            fields.append(("url", str(exc)))
        if len(url) > 2048:
            fields.append(("url", "must be at most 2048 characters"))
    if events is not None and not events:
        fields.append(("events", "name at least one event type"))
    if secret is not None and (problem := secret_problem(secret)):
        fields.append(("secret", problem))
    return invalid(*fields) if fields else None


def _stored_secret(info: Info, secret: str) -> str:
    return str(encrypt_secrets({"secret": secret}, info.context.services.settings)["secret"])


async def create_webhook_subscription(
    info: Info, input: CreateWebhookSubscriptionInput
) -> WebhookSubscriptionResult:
    """Subscribe a URL to event types; deliveries are signed with the secret."""
    if denied := forbidden(info, Role.ADMIN):
        return denied
    events = list(dict.fromkeys(NoticeType(e) for e in input.events))
    if problem := _problems(input.url, events, input.secret):
        return problem
    async with info.context.db.session() as session:
        row = SubscriptionRow(
            url=input.url.strip(),
            events=[e.value for e in events],
            secret=_stored_secret(info, input.secret),
            description=input.description,
            enabled=input.enabled,
        )
        session.add(row)
        await session.flush()
        session.add(
            admin_event(
                operation="CREATE_WEBHOOK",
                message=f"webhook subscription {row.id} created for {', '.join(row.events)}",
                actor=info.context.actor,
            )
        )
        await session.commit()
    return WebhookSubscription.from_row(row)


async def update_webhook_subscription(
    info: Info, input: UpdateWebhookSubscriptionInput
) -> WebhookSubscriptionResult:
    """Change what is given; the rest keeps its value."""
    if denied := forbidden(info, Role.ADMIN):
        return denied
    pk = node_pk(input.id, "WebhookSubscription")
    if isinstance(pk, NotFoundError):
        return pk
    url = str(input.url) if _given(input.url) else None
    events = (
        list(dict.fromkeys(NoticeType(e) for e in input.events or []))
        if _given(input.events)
        else None
    )
    secret = str(input.secret) if _given(input.secret) else None
    if problem := _problems(url, events, secret):
        return problem
    async with info.context.db.session() as session:
        row = await session.get(SubscriptionRow, pk)
        if row is None:
            return not_found("WebhookSubscription", input.id)
        if url is not None:
            row.url = url.strip()
        if events is not None:
            row.events = [e.value for e in events]
        if secret is not None:
            row.secret = _stored_secret(info, secret)
        if input.description is not strawberry.UNSET:
            row.description = input.description
        if _given(input.enabled):
            row.enabled = bool(input.enabled)
        row.updated_at = utcnow()
        session.add(row)
        session.add(
            admin_event(
                operation="UPDATE_WEBHOOK",
                message=f"webhook subscription {row.id} updated",
                actor=info.context.actor,
            )
        )
        await session.commit()
    return WebhookSubscription.from_row(row)


async def delete_webhook_subscription(info: Info, id: relay.GlobalID) -> DeleteResult:
    """Delete a subscription and its deliveries (pending ones are not sent)."""
    if denied := forbidden(info, Role.ADMIN):
        return denied
    pk = node_pk(id, "WebhookSubscription")
    if isinstance(pk, NotFoundError):
        return pk
    async with info.context.db.session() as session:
        row = await session.get(SubscriptionRow, pk)
        if row is None:
            return not_found("WebhookSubscription", id)
        await session.delete(row)
        session.add(
            admin_event(
                operation="DELETE_WEBHOOK",
                message=f"webhook subscription {pk} deleted",
                actor=info.context.actor,
            )
        )
        await session.commit()
    return DeletePayload(deleted_id=id)
