"""Audit logs of a rule: filtered, ordered newest first with failures first among equals, paged.

Events of one batch share a timestamp; ordering by id alone put a run's one failure behind all
its successes. The order is (created_at desc, failures first, id desc), paged by a keyset
cursor on those three values.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import and_, case, func, or_
from sqlmodel import col, select
from strawberry import relay

from gql.context import Info
from gql.store.models import AuditEvent as AuditRow
from gql.types.audit_event import AuditEvent, AuditEventConnection

_PREFIX = "audit:"
_RANK = case((col(AuditRow.outcome) == "FAILED", 0), else_=1)


@dataclass(frozen=True)
class AuditFilter:
    """What a caller asked to see; every field narrows the log (all of them together)."""

    kind: str | None = None
    outcome: str | None = None
    operation: str | None = None
    search: str | None = None


def audit_filter_args(
    outcome: str | None, operation: str | None, search: str | None, kind: str | None = None
) -> AuditFilter:
    return AuditFilter(
        kind=kind,
        outcome=outcome.strip().upper() if outcome and outcome.strip() else None,
        operation=operation.strip().upper() if operation and operation.strip() else None,
        search=search.strip() if search and search.strip() else None,
    )


def _encode(row: AuditRow) -> str:
    value = [row.created_at.isoformat(), 0 if row.outcome == "FAILED" else 1, row.id]
    return base64.b64encode((_PREFIX + json.dumps(value)).encode()).decode()


def _decode(cursor: str) -> tuple[datetime, int, int]:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(cursor)
        when, rank, key = json.loads(text.removeprefix(_PREFIX))
        return datetime.fromisoformat(when), int(rank), int(key)
    except Exception as exc:
        raise ValueError(f"invalid cursor {cursor!r}") from exc


def _after(cursor: str) -> Any:
    when, rank, key = _decode(cursor)
    at = col(AuditRow.created_at)
    return or_(
        at < when,
        and_(at == when, _RANK > rank),
        and_(at == when, _RANK == rank, col(AuditRow.id) < key),
    )


async def audit_log(
    info: Info,
    rule_id: int,
    where: AuditFilter,
    first: int | None,
    after: str | None,
) -> AuditEventConnection:
    """A rule's audit log, newest first (failures first within one timestamp)."""
    limit = info.context.page_size(first)
    statement = select(AuditRow).where(AuditRow.rule_id == rule_id)
    if where.kind is not None:
        statement = statement.where(AuditRow.kind == where.kind)
    if where.outcome is not None:
        statement = statement.where(AuditRow.outcome == where.outcome)
    if where.operation is not None:
        statement = statement.where(AuditRow.operation == where.operation)
    if where.search is not None:
        statement = statement.where(
            or_(
                *(
                    func.lower(column).contains(where.search.lower(), autoescape=True)
                    for column in (
                        col(AuditRow.entity_name),
                        col(AuditRow.entity_key),
                        col(AuditRow.message),
                        col(AuditRow.actor),
                    )
                )
            )
        )
    async with info.context.reader() as session:
        total = await session.scalar(select(func.count()).select_from(statement.subquery()))
        page = statement if after is None else statement.where(_after(after))
        page = page.order_by(col(AuditRow.created_at).desc(), _RANK, col(AuditRow.id).desc()).limit(
            limit + 1
        )
        rows = list(await session.scalars(page))
    has_next = len(rows) > limit
    rows = rows[:limit]
    edges = [relay.Edge(node=AuditEvent.from_row(row), cursor=_encode(row)) for row in rows]
    return AuditEventConnection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=int(total or 0),
    )


OUTCOME_HELP = "Only events with this outcome (SUCCESS, FAILED, PARTIAL, UNSYNCED...)."
OPERATION_HELP = "Only events of this operation (CREATE, UPDATE, WRITE_BACK, FULL_RESYNC...)."
SEARCH_HELP = "Only events whose entity name or key, message or actor contains this text."
filter_outcome = strawberry.argument(description=OUTCOME_HELP)
filter_operation = strawberry.argument(description=OPERATION_HELP)
filter_search = strawberry.argument(description=SEARCH_HELP)
