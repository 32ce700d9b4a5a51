"""``GET /audit/export``: audit events (and optionally entity states) streamed as CSV or JSONL.

Rows are read by keyset on the primary key, ``export_batch_size`` at a time, each batch in a
short session of its own, and written out as they come: memory stays flat however many rows
there are. The export stops at the newest event that existed when it started. Viewers and up
may export; parameters are checked before anything is streamed (400 with a message).

Parameters: ``rule`` (a Rule global id; default every rule and the admin events),
``since`` (inclusive) and ``until`` (exclusive) as ISO 8601 dates or times (UTC when no
offset is given), ``format`` (``csv``, the default, or ``jsonl``), ``include=states`` (also
the rule's current entity states, after the events; ``since``/``until`` do not apply to them).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from strawberry import relay

from gql.security.authn import request_principal
from gql.security.roles import Role
from gql.store.db import Database
from gql.store.models import AuditEvent, EntitySyncState, Rule

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
PARAMETERS = {"rule", "since", "until", "format", "include"}
INCLUDES = {"states"}
ROWS_HEADER = "x-provisync-export-rows"
"""How many rows (events, and states when included) the export holds: for progress bars."""
COLUMNS = (
    "record",
    "id",
    "time",
    "ruleId",
    "runId",
    "entityKind",
    "entityKey",
    "entityName",
    "operation",
    "outcome",
    "message",
    "actor",
    "state",
    "action",
    "reason",
    "targetId",
)
"""CSV columns: audit rows leave the state columns empty, state rows the audit ones."""
_EVENT_COLUMNS: tuple[Any, ...] = (
    AuditEvent.id,
    AuditEvent.created_at,
    AuditEvent.rule_id,
    AuditEvent.run_id,
    AuditEvent.kind,
    AuditEvent.entity_key,
    AuditEvent.entity_name,
    AuditEvent.operation,
    AuditEvent.outcome,
    AuditEvent.message,
    AuditEvent.actor,
)
_STATE_COLUMNS: tuple[Any, ...] = (
    EntitySyncState.id,
    EntitySyncState.updated_at,
    EntitySyncState.rule_id,
    EntitySyncState.kind,
    EntitySyncState.entity_key,
    EntitySyncState.display_name,
    EntitySyncState.state,
    EntitySyncState.action,
    EntitySyncState.reason,
    EntitySyncState.target_id,
)


class BadParameter(ValueError):
    """A parameter of the export is wrong; the message says which and why."""


@dataclass(frozen=True)
class ExportQuery:
    rule_id: int | None
    since: datetime | None
    until: datetime | None
    format: str
    states: bool


def _when(name: str, text: str) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            value = datetime(day.year, day.month, day.day)
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(
            f"{name}: {text!r} is not an ISO 8601 date or time (2026-01-31, 2026-01-31T12:00Z)"
        ) from None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def parse_query(params: Iterable[tuple[str, str]]) -> ExportQuery:
    """The export's parameters. :raises BadParameter: one is unknown, repeated or invalid."""
    values: dict[str, str] = {}
    for name, value in params:
        if name not in PARAMETERS:
            raise BadParameter(
                f"unknown parameter {name!r} (known: {', '.join(sorted(PARAMETERS))})"
            )
        if name in values:
            raise BadParameter(f"{name}: given more than once")
        values[name] = value.strip()
    rule_id = None
    if "rule" in values:
        try:
            gid = relay.GlobalID.from_id(values["rule"])
            if gid.type_name != "Rule" or not gid.node_id.isdigit():
                raise ValueError
        except Exception:
            raise BadParameter(f"rule: {values['rule']!r} is not a Rule id") from None
        rule_id = int(gid.node_id)
    since = _when("since", values["since"]) if values.get("since") else None
    until = _when("until", values["until"]) if values.get("until") else None
    if since and until and since >= until:
        raise BadParameter("since must be before until")
    fmt = values.get("format", "csv").lower()
    if fmt not in FORMATS:
        raise BadParameter(f"format: {fmt!r} is not one of csv, jsonl")
    include = {part.strip() for part in values.get("include", "").split(",") if part.strip()}
    if include - INCLUDES:
        raise BadParameter(f"include: {', '.join(sorted(include - INCLUDES))} (known: states)")
    return ExportQuery(rule_id, since, until, fmt, "states" in include)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


def _gid(type_name: str, pk: int | None) -> str | None:
    return relay.to_base64(type_name, pk) if pk is not None else None


def _event_record(row: Sequence[Any]) -> dict[str, Any]:
    pk, created, rule, run, kind, key, name, operation, outcome, message, actor = row
    return {
        "record": "audit",
        "id": _gid("AuditEvent", pk),
        "time": _iso(created),
        "ruleId": _gid("Rule", rule),
        "runId": _gid("SyncRun", run),
        "entityKind": kind,
        "entityKey": key,
        "entityName": name,
        "operation": operation,
        "outcome": outcome,
        "message": message,
        "actor": actor,
    }


def _state_record(row: Sequence[Any]) -> dict[str, Any]:
    pk, updated, rule, kind, key, name, state, action, reason, target_id = row
    return {
        "record": "state",
        "id": _gid("EntityState", pk),
        "time": _iso(updated),
        "ruleId": _gid("Rule", rule),
        "entityKind": kind,
        "entityKey": key,
        "entityName": name,
        "state": state,
        "action": action,
        "reason": reason,
        "targetId": target_id,
    }


def _encode(records: list[dict[str, Any]], fmt: str) -> bytes:
    if fmt == "jsonl":
        return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r.get(c) for c in COLUMNS] for r in records)
    return out.getvalue().encode()


async def _batches(
    db: Database, statement: Select[Any], key: Any, batch_size: int
) -> AsyncIterator[list[Sequence[Any]]]:
    after: int | None = None
    while True:
        page = statement if after is None else statement.where(key > after)
        async with db.session() as session:
            rows = list((await session.execute(page.order_by(key).limit(batch_size))).all())
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        after = rows[-1][0]


def _events(query: ExportQuery, newest: int) -> Select[Any]:
    events = select(*_EVENT_COLUMNS).where(col(AuditEvent.id) <= newest)
    if query.rule_id is not None:
        events = events.where(col(AuditEvent.rule_id) == query.rule_id)
    if query.since is not None:
        events = events.where(col(AuditEvent.created_at) >= query.since)
    if query.until is not None:
        events = events.where(col(AuditEvent.created_at) < query.until)
    return events


def _states(query: ExportQuery) -> Select[Any]:
    states = select(*_STATE_COLUMNS)
    if query.rule_id is not None:
        states = states.where(col(EntitySyncState.rule_id) == query.rule_id)
    return states


async def count_export(db: Database, query: ExportQuery) -> tuple[int, int]:
    """(the newest event id the export stops at, how many rows it will hold)."""
    async with db.session() as session:
        newest = int(await session.scalar(select(func.max(AuditEvent.id))) or 0)
        total = int(
            await session.scalar(
                select(func.count()).select_from(_events(query, newest).subquery())
            )
            or 0
        )
        if query.states:
            total += int(
                await session.scalar(select(func.count()).select_from(_states(query).subquery()))
                or 0
            )
    return newest, total


async def stream_export(
    db: Database, query: ExportQuery, newest: int, batch_size: int
) -> AsyncIterator[bytes]:
    """The export's bytes, a batch at a time (events up to id ``newest``)."""
    if query.format == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(COLUMNS)
        yield out.getvalue().encode()
    async for rows in _batches(db, _events(query, newest), AuditEvent.id, batch_size):
        yield _encode([_event_record(r) for r in rows], query.format)
    if query.states:
        async for rows in _batches(db, _states(query), EntitySyncState.id, batch_size):
            yield _encode([_state_record(r) for r in rows], query.format)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def audit_export(request: Request) -> Response:
    services = request.app.state.services
    principal = request_principal(request, services.settings)
    if principal.role is None:
        return _error(401, "UNAUTHENTICATED", "authentication required: send a bearer token")
    if not principal.may(Role.VIEWER):
        return _error(403, "FORBIDDEN", "this needs the viewer role")
    try:
        query = parse_query(request.query_params.multi_items())
    except BadParameter as exc:
        return _error(400, "BAD_PARAMETER", str(exc))
    if query.rule_id is not None:
        async with services.db.session() as session:
            if await session.get(Rule, query.rule_id) is None:
                return _error(404, "NOT_FOUND", f"no Rule with id {request.query_params['rule']}")
    newest, total = await count_export(services.db, query)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"rule-{query.rule_id}" if query.rule_id is not None else "all"
    return StreamingResponse(
        stream_export(services.db, query, newest, services.settings.export_batch_size),
        media_type=FORMATS[query.format],
        headers={
            "content-disposition": f'attachment; filename="audit-{scope}-{stamp}.{query.format}"',
            "cache-control": "no-store",
            ROWS_HEADER: str(total),
        },
    )
