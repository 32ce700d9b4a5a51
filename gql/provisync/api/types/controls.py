"""Operator controls: deletion protection, held operations, quarantine, previews, on-demand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from sqlmodel import col, select
from strawberry import relay

from provisync.api.context import Info
from provisync.api.types.common import aware
from provisync.api.types.entity_state import AttributeDifference
from provisync.api.types.enums import EntityKindEnum, EntitySyncState, SyncAction
from provisync.api.types.pagination import CountedConnection
from provisync.store.models import HeldOperation as HeldRow
from provisync.store.models import PreviewItem as PreviewRow
from provisync.store.models import Rule as RuleRow


async def _rows_by_id(
    info: Info, model: Any, node_ids: Iterable[str]
) -> tuple[list[int], dict[int, Any]]:
    ids = [int(i) for i in node_ids]
    async with info.context.reader() as session:
        rows = {r.id: r for r in await session.scalars(select(model).where(col(model.id).in_(ids)))}
    return ids, rows


@strawberry.type(description="Deletion protection: the most disables and deletes one run may make.")
class DeletionProtection:
    max_count: int | None = strawberry.field(description="At most this many, of users or groups.")
    max_percent: float | None = strawberry.field(
        description="At most this percentage of the impacted users (or groups)."
    )

    @classmethod
    def of(cls, row: RuleRow) -> DeletionProtection:
        return cls(max_count=row.deletion_max_count, max_percent=row.deletion_max_percent)


@strawberry.input(description="Null fields turn that limit off.")
class DeletionProtectionInput:
    max_count: int | None = None
    max_percent: float | None = None


@strawberry.type(
    description="A rule whose runs keep failing as a whole retries at growing intervals."
)
class Quarantine:
    since: datetime
    next_attempt_at: datetime | None
    reason: str | None
    failed_runs: int = strawberry.field(description="Runs in a row that failed as a whole.")

    @classmethod
    def of(cls, row: RuleRow) -> Quarantine | None:
        if row.quarantined_at is None:
            return None
        return cls(
            since=aware(row.quarantined_at) or row.quarantined_at,
            next_attempt_at=aware(row.quarantine_next_at),
            reason=row.quarantine_reason,
            failed_runs=row.failure_streak,
        )


@strawberry.enum
class HeldOperationStatus(Enum):
    HELD = "HELD"
    RELEASED = "RELEASED"
    APPLIED = "APPLIED"
    DISCARDED = "DISCARDED"


@strawberry.type(name="HeldOperation", description="A disable or delete deletion protection held.")
class HeldOperationNode(relay.Node):
    id: relay.NodeID[int]
    kind: EntityKindEnum  # type: ignore[valid-type]
    entity_key: str
    display_name: str
    target_id: str | None
    action: SyncAction  # type: ignore[valid-type]
    status: HeldOperationStatus
    held_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None

    @classmethod
    def from_row(cls, row: HeldRow) -> HeldOperationNode:
        return cls(
            id=row.id or 0,
            kind=row.kind,  # type: ignore[arg-type]
            entity_key=row.entity_key,
            display_name=row.display_name,
            target_id=row.target_id,
            action=row.action,  # type: ignore[arg-type]
            status=HeldOperationStatus(row.status),
            held_at=aware(row.created_at) or row.created_at,
            resolved_at=aware(row.resolved_at),
            resolved_by=row.resolved_by,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[HeldOperationNode | None]:
        ids, rows = await _rows_by_id(info, HeldRow, node_ids)
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class HeldOperationConnection(CountedConnection[HeldOperationNode]):
    pass


@strawberry.type(name="PreviewItem", description="What a full resync would do to one entity.")
class PreviewItemNode(relay.Node):
    id: relay.NodeID[int]
    kind: EntityKindEnum  # type: ignore[valid-type]
    entity_key: str
    display_name: str
    action: SyncAction  # type: ignore[valid-type]
    state: EntitySyncState = strawberry.field(  # type: ignore[valid-type]
        description="The state the entity would be in afterwards."
    )
    reason: str | None
    differences: list[AttributeDifference] = strawberry.field(
        description="For an update or a write-back: the attributes it would change."
    )

    @classmethod
    def from_row(cls, row: PreviewRow) -> PreviewItemNode:
        return cls(
            id=row.id or 0,
            kind=row.kind,  # type: ignore[arg-type]
            entity_key=row.entity_key,
            display_name=row.display_name,
            action=row.action,  # type: ignore[arg-type]
            state=row.state,  # type: ignore[arg-type]
            reason=row.reason,
            differences=[AttributeDifference(**d) for d in row.differences],
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[PreviewItemNode | None]:
        ids, rows = await _rows_by_id(info, PreviewRow, node_ids)
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class PreviewItemConnection(CountedConnection[PreviewItemNode]):
    pass


@strawberry.type
class ActionCount:
    action: SyncAction  # type: ignore[valid-type]
    count: int


@strawberry.enum
class ProvisionStepStatus(Enum):
    OK = "OK"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


@strawberry.type(description="One step of a provisioning on demand.")
class ProvisionStep:
    name: str = strawberry.field(
        description="SCOPE, MATCH, MEMBERS (groups), ACTION, OUTCOME; WAIT or RUN when the run "
        "did not end in time or failed as a whole."
    )
    status: ProvisionStepStatus
    detail: str


async def held_operations(
    info: Info, where: Any, first: int | None, after: str | None
) -> HeldOperationConnection:
    """A page of held operations matching ``where`` (a rule's or a run's), oldest first."""
    from provisync.api.types.pagination import paginate

    return await paginate(  # type: ignore[return-value]
        info,
        select(HeldRow).where(where),
        HeldRow.id,
        HeldOperationNode.from_row,
        HeldOperationConnection,
        first=first,
        after=after,
    )
