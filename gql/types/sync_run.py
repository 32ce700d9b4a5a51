"""SyncRun: one execution of a rule, with its progress."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlmodel import col, select
from strawberry import relay

from connectors import Action
from gql.context import Info
from gql.store.models import HeldOperation as HeldRow
from gql.store.models import PreviewItem as PreviewRow
from gql.store.models import SyncRun as RunRow
from gql.types.common import aware
from gql.types.controls import (
    ActionCount,
    HeldOperationConnection,
    PreviewItemConnection,
    PreviewItemNode,
    held_operations,
)
from gql.types.enums import EntityKindEnum, SyncAction, SyncRunKind, SyncRunStatus
from gql.types.pagination import CountedConnection, paginate

if TYPE_CHECKING:
    from gql.types.rule import Rule


@strawberry.type(
    description="How far a run is. A full outbound resync examines every directory user (and "
    "the rule's groups): processed and total count those; inScope counts the ones of them in "
    "the rule's scope, whose states the run recorded."
)
class SyncProgress:
    processed: int = strawberry.field(description="Entities examined so far.")
    total: int | None = strawberry.field(description="Null until the run knows its size.")
    in_scope: int = strawberry.field(
        description="Entities of the rule's scope the run recorded a state for so far."
    )


RUN_NAMES = {
    "FULL": "Full resync",
    "INCREMENTAL": "Incremental sync",
    "POLL": "Scheduled poll",
    "WRITE_BACK": "Write-back",
    "PREVIEW": "Preview of a full resync",
    "RELEASE": "Release of held operations",
    "ON_DEMAND": "Provision on demand",
}
STATES = ("SUCCESS", "UNSYNCED", "PARTIAL", "FAILED")


def run_label(kind: str, reason: str | None, started_by: str) -> str:
    """What a run is, in words: "Full resync (the rule was enabled)"."""
    name = RUN_NAMES.get(kind, kind.replace("_", " ").capitalize())
    if reason:
        return f"{name} ({reason})"
    if kind == "FULL" and started_by not in ("system", "demo", "quarantine"):
        return f"{name} (requested by {started_by})"
    return name


@strawberry.type
class OutcomeCount:
    outcome: str = strawberry.field(
        description="An entity state (SUCCESS, FAILED...), an action applied (CREATE, "
        "UPDATE, DISABLE...), REMOVED, WRITE_BACK or WRITE_BACK_FAILED."
    )
    count: int


@strawberry.type
class SyncRun(relay.Node):
    id: relay.NodeID[int]
    status: SyncRunStatus
    kind: SyncRunKind
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: SyncProgress
    error: str | None = strawberry.field(description="Why the run failed as a whole.")
    started_by: str
    label: str = strawberry.field(
        description='What the run is and why it started: "Full resync (the rule was enabled)".'
    )
    outcomes: list[OutcomeCount]
    rule_id: strawberry.Private[int]

    @strawberry.field
    async def rule(self, info: Info) -> Annotated[Rule, strawberry.lazy("gql.types.rule")] | None:
        from gql.types.rule import Rule

        row = await info.context.rules.load(self.rule_id)
        return Rule.from_row(row) if row else None

    @strawberry.field(description="For a preview: how many entities each action would touch.")
    def preview_counts(self) -> list[ActionCount] | None:
        if self.kind is not SyncRunKind.PREVIEW:
            return None
        return [
            ActionCount(action=c.outcome, count=c.count)  # type: ignore[arg-type]
            for c in self.outcomes
            if c.outcome in Action.__members__
        ]

    @strawberry.field(description="For a preview: what a full resync would do, entity by entity.")
    async def preview_items(
        self,
        info: Info,
        action: SyncAction | None = None,  # type: ignore[valid-type]
        kind: EntityKindEnum | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> PreviewItemConnection:
        statement = select(PreviewRow).where(PreviewRow.run_id == self.id)
        if action is not None:
            statement = statement.where(PreviewRow.action == action.value)
        if kind is not None:
            statement = statement.where(PreviewRow.kind == kind.value)
        return await paginate(  # type: ignore[return-value]
            info,
            statement,
            PreviewRow.id,
            PreviewItemNode.from_row,
            PreviewItemConnection,
            first=first,
            after=after,
        )

    @strawberry.field(description="The disables and deletes this run held back.")
    async def held_operations(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> HeldOperationConnection:
        return await held_operations(info, HeldRow.run_id == self.id, first, after)

    @classmethod
    def from_row(cls, row: RunRow) -> SyncRun:
        return cls(
            id=row.id or 0,
            status=SyncRunStatus(row.status),
            kind=SyncRunKind(row.kind),
            queued_at=aware(row.queued_at) or row.queued_at,
            started_at=aware(row.started_at),
            finished_at=aware(row.finished_at),
            progress=SyncProgress(
                processed=row.processed,
                total=row.total,
                in_scope=sum(int(row.counts.get(state, 0)) for state in STATES),
            ),
            error=row.error,
            started_by=row.started_by,
            label=run_label(row.kind, row.reason, row.started_by),
            outcomes=[OutcomeCount(outcome=k, count=v) for k, v in sorted(row.counts.items())],
            rule_id=row.rule_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[SyncRun | None]:
        ids = [int(i) for i in node_ids]
        async with info.context.reader() as session:
            rows = {
                r.id: r
                for r in await session.scalars(select(RunRow).where(col(RunRow.id).in_(ids)))
            }  # type: ignore[union-attr]
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class SyncRunConnection(CountedConnection[SyncRun]):
    pass
