"""The one writer of entity states, their tallies, and audit events.

Every state change of an entity, and every action taken on one, leaves an audit event in the
same transaction as the state, so nothing reported is lost. Tallies in ``rule_counts`` move by
the same deltas, which keeps ``impacted == success + unsynced + partial + failed`` true and
makes a summary cost the same whatever the number of states.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from provisync.engine.bulk import insert_rows, select_in
from provisync.engine.trail import decision_trail
from provisync.store.models import (
    AuditEvent,
    EntitySyncState,
    PreviewItem,
    RuleCounts,
    SyncRun,
    table_of,
    utcnow,
)
from provisync_sdk import Action, EntityKind, EntityOutcome, EntityState, WriteBackOutcome

_COLUMN = {
    EntityState.SUCCESS: "success",
    EntityState.UNSYNCED: "unsynced",
    EntityState.PARTIAL: "partial",
    EntityState.FAILED: "failed",
}
_COLUMN_OF = {state.value: column for state, column in _COLUMN.items()}
"""By stored value (a hot path: building the enum from its value costs more than the rest)."""
_CHUNK = 500
_NO_DIFFERENCES: list[dict[str, Any]] = []
"""Shared by the rows of a page without differences (never mutated): stored as one value."""
_NO_DIFFERENCES_STORED = ()
"""The same in rows to insert: stored as ``[]`` too, and a row holding only atomic values is
not tracked by the garbage collector (a page's rows outlive several of its passes)."""


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def load_states(
    session: AsyncSession, rule_id: int, kind: EntityKind, keys: Sequence[str]
) -> dict[str, EntitySyncState]:
    """The stored states of some entities of a rule, by key."""
    found: dict[str, EntitySyncState] = {}
    for chunk in _chunks(list(keys)):
        rows = await session.scalars(
            select(EntitySyncState).where(
                EntitySyncState.rule_id == rule_id,
                EntitySyncState.kind == kind.value,
                col(EntitySyncState.entity_key).in_(chunk),  # type: ignore[attr-defined]
            )
        )
        found.update((row.entity_key, row) for row in rows)
    return found


class _Tally:
    """Count deltas per (kind, column), applied to ``rule_counts`` at the end."""

    def __init__(self) -> None:
        self.delta: Counter[tuple[str, str]] = Counter()

    def move(self, kind: str, old: str | None, new: str | None) -> None:
        if old == new:
            return
        if old is not None:
            self.delta[(kind, _COLUMN_OF[old])] -= 1
        if new is not None:
            self.delta[(kind, _COLUMN_OF[new])] += 1

    def write_back(self, kind: str, was_failed: bool, is_failed: bool) -> None:
        if was_failed != is_failed:
            self.delta[(kind, "write_back_failures")] += 1 if is_failed else -1

    async def apply(self, session: AsyncSession, rule_id: int) -> None:
        """Add the deltas in the database (``col = col + n``): workers pushing chunks of one
        run at once record into the same tallies, and none may overwrite another's. One
        upsert per kind (a missing row starts at the deltas)."""
        kinds = {kind for (kind, _column), value in self.delta.items() if value}
        table = table_of(RuleCounts)
        dialect = session.get_bind().dialect.name
        upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        for kind in sorted(kinds):
            changes = {
                column: value
                for (delta_kind, column), value in self.delta.items()
                if delta_kind == kind and value
            }
            statement = upsert(table).values(
                rule_id=rule_id,
                kind=kind,
                **{column: changes.get(column, 0) for column in _TALLIED},
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.rule_id, table.c.kind],
                    set_={column: table.c[column] + value for column, value in changes.items()},
                )
            )


_TALLIED = ("success", "unsynced", "partial", "failed", "write_back_failures")


_STATE_COLUMNS = (
    "id",
    "entity_key",
    "display_name",
    "state",
    "action",
    "reason",
    "differences",
    "target_id",
    "managed_members",
    "write_back_ok",
    "decision",
)


async def _stored_rows(
    session: AsyncSession, rule_id: int, kind: EntityKind, keys: Sequence[str]
) -> dict[str, Any]:
    """The stored states of some entities as plain rows (no ORM objects: this is a hot path)."""
    found: dict[str, Any] = {}
    table = table_of(EntitySyncState)
    for chunk in _chunks(list(keys)):
        rows = await select_in(
            session,
            table,
            _STATE_COLUMNS,
            "entity_key",
            chunk,
            {"rule_id": rule_id, "kind": kind.value},
        )
        found.update((row.entity_key, row) for row in rows)
    return found


async def record_outcomes(
    session: AsyncSession,
    *,
    rule_id: int,
    run_id: int | None,
    outcomes: Sequence[EntityOutcome],
    names: Mapping[tuple[EntityKind, str], str],
    actor: str = "system",
    each_check: bool = False,
) -> Counter[str]:
    """Store what a connector reported, with audit events and tallies (no commit).

    Rows are written in bulk, and an entity whose state, reason and differences did not
    change is not written at all, so a resync where nothing changed writes nothing here.

    :param each_check: entities first seen in sync get an event each, not one for all.

    :return: how many outcomes ended in each state, ``REMOVED`` for deprovisioned ones, and
        per action (``CREATE``, ``UPDATE``...) how many were applied.
    """
    summary: Counter[str] = Counter()
    tally = _Tally()
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    by_kind: dict[EntityKind, list[EntityOutcome]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.kind, []).append(outcome)
    for kind, kind_outcomes in by_kind.items():
        existing = await _stored_rows(session, rule_id, kind, [o.key for o in kind_outcomes])
        removed_ids: list[int] = []
        already_synced = 0
        for outcome in kind_outcomes:
            row = existing.get(outcome.key)
            name = names.get((kind, outcome.key)) or (row.display_name if row else outcome.key)
            if outcome.removed:
                summary["REMOVED"] += 1
                if row is not None:
                    tally.move(kind.value, row.state, None)
                    tally.write_back(kind.value, row.write_back_ok is False, False)
                    removed_ids.append(row.id)
                events.append(_event(rule_id, run_id, kind, outcome, name, actor, now))
                continue
            summary[outcome.state.value] += 1
            target_id = _target_id(outcome, row)
            if outcome.action is not Action.NONE and outcome.state is not EntityState.FAILED:
                summary[outcome.action.value] += 1  # what the run did: CREATE 3, UPDATE 1
            values = {
                "display_name": name,
                "state": outcome.state.value,
                "action": outcome.action.value
                if outcome.action is not Action.NONE or row is None
                else row.action,
                "reason": outcome.reason,
                "differences": [asdict(diff) for diff in outcome.differences]
                if outcome.differences
                else _NO_DIFFERENCES,
                "target_id": target_id,
                "managed_members": sorted(outcome.managed_members)
                if outcome.managed_members is not None
                else (row.managed_members if row else None),
            }
            values["decision"] = decision_trail(outcome, target_id)
            if row is None:
                tally.move(kind.value, None, outcome.state.value)
                if values["differences"] is _NO_DIFFERENCES:
                    values["differences"] = _NO_DIFFERENCES_STORED
                inserts.append(
                    {
                        **values,
                        "rule_id": rule_id,
                        "kind": kind.value,
                        "entity_key": outcome.key,
                        "write_back_ok": None,
                        "write_back_reason": None,
                        "write_back_at": None,
                        "write_back_attributes": None,
                        "updated_at": now,
                    }
                )
                in_sync = outcome.action is Action.NONE and outcome.state is EntityState.SUCCESS
                if in_sync and not each_check:
                    already_synced += 1  # one event for them all, below
                else:
                    events.append(_event(rule_id, run_id, kind, outcome, name, actor, now))
                continue
            tally.move(kind.value, row.state, outcome.state.value)
            audited = (
                row.state != outcome.state.value
                or outcome.action is not Action.NONE
                or row.reason != outcome.reason
            )
            if audited:
                events.append(_event(rule_id, run_id, kind, outcome, name, actor, now))
            if audited or any(getattr(row, k) != v for k, v in values.items()):
                updates.append({**values, "id": row.id, "updated_at": now})
        if already_synced:
            events.append(_checked_event(rule_id, run_id, kind, already_synced, actor, now))
        for start in range(0, len(removed_ids), _CHUNK):
            chunk = removed_ids[start : start + _CHUNK]
            await session.execute(delete(EntitySyncState).where(col(EntitySyncState.id).in_(chunk)))
    if inserts:
        await insert_rows(session, table_of(EntitySyncState), inserts)
    if updates:
        await session.execute(update(EntitySyncState), updates)
    if events:
        await insert_rows(session, table_of(AuditEvent), events)
    await tally.apply(session, rule_id)
    return summary


def _target_id(outcome: EntityOutcome, row: Any) -> str | None:
    """The target id to store: a failed create or an UNSYNCED entity has no account, so an
    old id (of an account the target no longer holds) is dropped rather than kept."""
    if outcome.target_id:
        return outcome.target_id
    no_account = outcome.state is EntityState.UNSYNCED or (
        outcome.action is Action.CREATE and outcome.state is EntityState.FAILED
    )
    if no_account or row is None:
        return None
    return row.target_id  # type: ignore[no-any-return]


async def record_write_backs(
    session: AsyncSession,
    *,
    rule_id: int,
    run_id: int | None,
    outcomes: Sequence[WriteBackOutcome],
    actor: str = "system",
    written: Mapping[str, Mapping[str, Any]] | None = None,
) -> int:
    """Store write-back results on the users' states, audited (no commit).

    :param written: per user key, the attributes the write-back tried to write.

    :return: how many write-backs failed.
    """
    tally = _Tally()
    now = utcnow()
    existing = await load_states(session, rule_id, EntityKind.USER, [o.key for o in outcomes])
    failures = 0
    for outcome in outcomes:
        row = existing.get(outcome.key)
        failures += not outcome.ok
        if row is not None:
            tally.write_back(EntityKind.USER.value, row.write_back_ok is False, not outcome.ok)
            row.write_back_ok = outcome.ok
            row.write_back_reason = outcome.reason
            row.write_back_at = now
            attributes = (written or {}).get(outcome.key)
            row.write_back_attributes = (
                {k: None if v is None else str(v) for k, v in attributes.items()}
                if attributes is not None
                else None
            )
        session.add(
            AuditEvent(
                rule_id=rule_id,
                run_id=run_id,
                kind=EntityKind.USER.value,
                entity_key=outcome.key,
                entity_name=row.display_name if row else outcome.key,
                operation=Action.WRITE_BACK.value,
                outcome="SUCCESS" if outcome.ok else "FAILED",
                message=outcome.reason,
                actor=actor,
                created_at=now,
            )
        )
    await tally.apply(session, rule_id)
    return failures


async def record_preview(
    session: AsyncSession,
    *,
    run_id: int | None,
    outcomes: Sequence[EntityOutcome],
    names: Mapping[tuple[EntityKind, str], str],
) -> None:
    """Store what a preview found each entity would go through (no commit)."""
    rows = [
        {
            "run_id": run_id,
            "kind": o.kind.value,
            "entity_key": o.key,
            "display_name": names.get((o.kind, o.key)) or o.key,
            "action": o.action.value,
            "state": o.state.value,
            "reason": o.reason,
            "differences": [asdict(diff) for diff in o.differences],
        }
        for o in outcomes
    ]
    if rows:
        await session.execute(insert(table_of(PreviewItem)), rows)


def admin_event(
    *,
    operation: str,
    message: str,
    actor: str,
    rule_id: int | None = None,
    run_id: int | None = None,
    outcome: str = "SUCCESS",
) -> AuditEvent:
    """An audit event for an administrator's action (resync, enable, changes)."""
    return AuditEvent(
        rule_id=rule_id,
        run_id=run_id,
        operation=operation,
        outcome=outcome,
        message=message,
        actor=actor,
    )


RUN_OPERATIONS = {"FULL": "FULL_RESYNC", "PREVIEW": "PREVIEW", "RELEASE": "RELEASE_HELD"}


def run_failed_event(run: SyncRun, kind: str, error: str | None) -> AuditEvent:
    """The audit event of a run's failed end: the operation it ran and why it failed."""
    label = kind.lower().replace("_", " ")
    return admin_event(
        operation=RUN_OPERATIONS.get(kind, f"{kind}_RUN"),
        outcome="FAILED",
        message=f"{label} run failed: {error or 'no reason given'}",
        actor="system",
        rule_id=run.rule_id,
        run_id=run.id,
    )


def _checked_event(
    rule_id: int, run_id: int | None, kind: EntityKind, count: int, actor: str, now: datetime
) -> dict[str, Any]:
    """One event for entities seen for the first time and found in sync: nothing was changed,
    so a line per entity (68 "CHECK SUCCESS" on enabling a rule) would only bury the rest."""
    noun = ("user" if kind is EntityKind.USER else "group") + ("" if count == 1 else "s")
    return {
        "rule_id": rule_id,
        "run_id": run_id,
        "kind": kind.value,
        "entity_key": None,
        "entity_name": None,
        "operation": "CHECK",
        "outcome": EntityState.SUCCESS.value,
        "message": f"{count} {noun} already in sync at the target: nothing to change",
        "actor": actor,
        "created_at": now,
    }


def _event(
    rule_id: int,
    run_id: int | None,
    kind: EntityKind,
    outcome: EntityOutcome,
    name: str,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    message = outcome.reason
    if outcome.differences and not message:
        message = "differs: " + ", ".join(diff.attribute for diff in outcome.differences)
    operation = outcome.action.value if outcome.action is not Action.NONE else "CHECK"
    return {
        "rule_id": rule_id,
        "run_id": run_id,
        "kind": kind.value,
        "entity_key": outcome.key,
        "entity_name": name,
        "operation": ("REMOVE_" + outcome.action.value) if outcome.removed else operation,
        "outcome": outcome.state.value,
        "message": message,
        "actor": actor,
        "created_at": now,
    }
