"""EntityState: where one impacted user or group of a rule stands, and why."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from sqlmodel import col, select
from strawberry import relay

from provisync.api.context import Info
from provisync.api.types.common import aware
from provisync.api.types.entity_retry import EntityRetryNode
from provisync.api.types.enums import EntityKindEnum, EntitySyncState, SyncAction
from provisync.api.types.pagination import CountedConnection
from provisync.store.models import EntitySyncState as StateRow


@strawberry.type
class AttributeDifference:
    attribute: str
    source_value: str | None
    target_value: str | None


@strawberry.enum(description="How a user's last write-back to the source went.")
class WriteBackStatus(Enum):
    OK = "OK"
    FAILED = "FAILED"


@strawberry.type(description="One attribute a write-back wrote (or tried to write).")
class WrittenAttribute:
    attribute: str
    value: str | None


@strawberry.type
class WriteBackResult:
    ok: bool
    reason: str | None = strawberry.field(description="Why it failed: what the source answered.")
    at: datetime | None
    attributes: list[WrittenAttribute] = strawberry.field(
        description="What was written back (attribute and directory value); empty when unknown."
    )


@strawberry.type(name="EntityState")
class EntityStateNode(relay.Node):
    id: relay.NodeID[int]
    kind: EntityKindEnum  # type: ignore[valid-type]
    entity_key: str = strawberry.field(description="The entity's id at the rule's source.")
    display_name: str
    state: EntitySyncState  # type: ignore[valid-type]
    last_action: SyncAction  # type: ignore[valid-type]
    reason: str | None
    differences: list[AttributeDifference]
    target_id: str | None
    write_back: WriteBackResult | None = strawberry.field(
        description="The last write-back of this user, for connectors that write back."
    )
    updated_at: datetime
    decision_trail: list[str] = strawberry.field(
        description="Why it is in this state: the compact trail of its last decision."
    )
    rule_id: strawberry.Private[int] = 0

    @strawberry.field(
        description="Set while the entity waits in the retry queue: its attempts so far and "
        "when the next one is due; null otherwise."
    )
    async def retry(self, info: Info) -> EntityRetryNode | None:
        row = await info.context.retries.load((self.rule_id, self.kind, self.entity_key))
        return EntityRetryNode.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row: StateRow) -> EntityStateNode:
        return cls(
            id=row.id or 0,
            kind=row.kind,  # type: ignore[arg-type]
            entity_key=row.entity_key,
            display_name=row.display_name,
            state=row.state,  # type: ignore[arg-type]
            last_action=row.action,  # type: ignore[arg-type]
            reason=row.reason,
            differences=[AttributeDifference(**d) for d in row.differences],
            target_id=row.target_id,
            write_back=None
            if row.write_back_ok is None
            else WriteBackResult(
                ok=row.write_back_ok,
                reason=row.write_back_reason,
                at=aware(row.write_back_at),
                attributes=[
                    WrittenAttribute(attribute=k, value=v)
                    for k, v in sorted((row.write_back_attributes or {}).items())
                ],
            ),
            updated_at=aware(row.updated_at) or row.updated_at,
            decision_trail=list(row.decision or []),
            rule_id=row.rule_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[EntityStateNode | None]:
        ids = [int(i) for i in node_ids]
        async with info.context.reader() as session:
            rows = {
                r.id: r
                for r in await session.scalars(select(StateRow).where(col(StateRow.id).in_(ids)))
            }  # type: ignore[union-attr]
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class EntityStateConnection(CountedConnection[EntityStateNode]):
    pass
