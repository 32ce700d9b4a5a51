"""AuditEvent: one recorded operation on an entity, or an administrator's action."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gql.context import Info
from gql.store.models import AuditEvent as AuditRow
from gql.types.common import aware
from gql.types.enums import EntityKindEnum
from gql.types.pagination import CountedConnection


@strawberry.type
class AuditEvent(relay.Node):
    id: relay.NodeID[int]
    created_at: datetime
    operation: str = strawberry.field(
        description="CREATE, UPDATE, DISABLE, DELETE, WRITE_BACK, CHECK, REMOVE_* (left scope), "
        "or an admin action such as FULL_RESYNC, ENABLE_RULE, CREATE_RULE."
    )
    outcome: str = strawberry.field(description="The entity's state after it, or SUCCESS/FAILED.")
    message: str | None
    actor: str
    entity_kind: EntityKindEnum | None  # type: ignore[valid-type]
    entity_key: str | None
    entity_name: str | None
    run_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AuditRow) -> AuditEvent:
        return cls(
            id=row.id or 0,
            created_at=aware(row.created_at) or row.created_at,
            operation=row.operation,
            outcome=row.outcome,
            message=row.message,
            actor=row.actor,
            entity_kind=row.kind,  # type: ignore[arg-type]
            entity_key=row.entity_key,
            entity_name=row.entity_name,
            run_id=row.run_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[AuditEvent | None]:
        ids = [int(i) for i in node_ids]
        async with info.context.reader() as session:
            rows = {
                r.id: r
                for r in await session.scalars(select(AuditRow).where(col(AuditRow.id).in_(ids)))
            }  # type: ignore[union-attr]
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class AuditEventConnection(CountedConnection[AuditEvent]):
    pass
