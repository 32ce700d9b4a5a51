"""EntityRetry: an entity whose change could not be applied, and when it is tried next."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gql.context import Info
from gql.store.models import EntityRetry as RetryRow
from gql.types.common import aware
from gql.types.enums import EntityKindEnum
from gql.types.pagination import CountedConnection, paginate


@strawberry.type(
    name="EntityRetry",
    description="An entity waiting in the retry queue: its push to the target, or its "
    "write-back to the source, failed and is tried again with growing backoff.",
)
class EntityRetryNode(relay.Node):
    id: relay.NodeID[int]
    kind: EntityKindEnum  # type: ignore[valid-type]
    entity_key: str = strawberry.field(description="The entity's id at the rule's source.")
    display_name: str
    operation: str = strawberry.field(description="PUSH (to the target) or WRITE_BACK.")
    attempts: int = strawberry.field(description="Attempts that failed so far.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    next_attempt_at: datetime
    queued_at: datetime

    @classmethod
    def from_row(cls, row: RetryRow) -> EntityRetryNode:
        return cls(
            id=row.id or 0,
            kind=row.kind,  # type: ignore[arg-type]
            entity_key=row.entity_key,
            display_name=row.display_name,
            operation=row.operation,
            attempts=row.attempts,
            last_error=row.last_error,
            next_attempt_at=aware(row.next_attempt_at) or row.next_attempt_at,
            queued_at=aware(row.created_at) or row.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[EntityRetryNode | None]:
        ids = [int(i) for i in node_ids]
        async with info.context.reader() as session:
            rows = {
                r.id: r
                for r in await session.scalars(select(RetryRow).where(col(RetryRow.id).in_(ids)))  # type: ignore[union-attr]
            }
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class EntityRetryConnection(CountedConnection[EntityRetryNode]):
    pass


async def retry_queue(
    info: Info, rule_id: int, first: int | None, after: str | None
) -> EntityRetryConnection:
    """A rule's queued retries, oldest first."""
    return await paginate(  # type: ignore[return-value]
        info,
        select(RetryRow).where(RetryRow.rule_id == rule_id),
        RetryRow.id,
        EntityRetryNode.from_row,
        EntityRetryConnection,
        first=first,
        after=after,
    )
