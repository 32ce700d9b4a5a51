"""SyncRun: one execution of a rule, with its progress."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gql.context import Info
from gql.store.models import SyncRun as RunRow
from gql.types.common import aware
from gql.types.enums import SyncRunKind, SyncRunStatus
from gql.types.pagination import CountedConnection

if TYPE_CHECKING:
    from gql.types.rule import Rule


@strawberry.type
class SyncProgress:
    processed: int
    total: int | None = strawberry.field(description="Null until the run knows its size.")


@strawberry.type
class OutcomeCount:
    outcome: str = strawberry.field(description="An entity state, REMOVED, WRITE_BACK(_FAILED).")
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
    outcomes: list[OutcomeCount]
    rule_id: strawberry.Private[int]

    @strawberry.field
    async def rule(self, info: Info) -> Annotated[Rule, strawberry.lazy("gql.types.rule")] | None:
        from gql.types.rule import Rule

        row = await info.context.rules.load(self.rule_id)
        return Rule.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: RunRow) -> SyncRun:
        return cls(
            id=row.id or 0,
            status=SyncRunStatus(row.status),
            kind=SyncRunKind(row.kind),
            queued_at=aware(row.queued_at) or row.queued_at,
            started_at=aware(row.started_at),
            finished_at=aware(row.finished_at),
            progress=SyncProgress(processed=row.processed, total=row.total),
            error=row.error,
            started_by=row.started_by,
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
