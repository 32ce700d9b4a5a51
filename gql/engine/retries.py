"""The entity retry queue: a change that could not be applied is tried again, never forgotten.

An outbound entity recorded FAILED (its push failed, or the run pushing it failed as a whole)
and a user whose write-back failed get an entry here. The scheduler retries due entries with
growing backoff (``retry_base_seconds`` doubling up to ``retry_max_seconds``) until an attempt
succeeds or a full resync settles the entity. Each failed attempt and each settlement is an
audit event. Only the engine writes these rows, in the transaction of the outcomes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from connectors import EntityKind, EntityOutcome, EntityState, WriteBackOutcome
from gql.engine.recorder import load_states
from gql.store.db import Database
from gql.store.models import (
    AuditEvent,
    DirectoryGroup,
    DirectoryUser,
    EntityRetry,
    EntitySyncState,
    Rule,
    SyncRun,
    utcnow,
)

PUSH = "PUSH"
WRITE_BACK = "WRITE_BACK"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long an entity waits before its next attempt."""

    base_seconds: float = 30.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int) -> float:
        """The wait after ``attempts`` failed attempts (1: the first failure)."""
        return float(min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))


async def _entries(
    session: AsyncSession, rule_id: int, kind: str, keys: Sequence[str]
) -> dict[str, EntityRetry]:
    found: dict[str, EntityRetry] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = await session.scalars(
            select(EntityRetry).where(
                EntityRetry.rule_id == rule_id,
                EntityRetry.kind == kind,
                col(EntityRetry.entity_key).in_(keys[start : start + _CHUNK]),
            )
        )
        found.update((row.entity_key, row) for row in rows)
    return found


async def has_entries(session: AsyncSession, rule_id: int) -> bool:
    """Whether the rule has any entity waiting for a retry (cheap: one indexed probe)."""
    return bool(await session.scalar(select(exists().where(col(EntityRetry.rule_id) == rule_id))))


def _event(
    entry: EntityRetry,
    operation: str,
    message: str,
    run_id: int | None,
    outcome: str,
    now: datetime,
) -> AuditEvent:
    """An audit event on the entity (so it shows in its kind's audit log)."""
    return AuditEvent(
        rule_id=entry.rule_id,
        run_id=run_id,
        kind=entry.kind,
        entity_key=entry.entity_key,
        entity_name=entry.display_name or entry.entity_key,
        operation=operation,
        outcome=outcome,
        message=message,
        actor="system",
        created_at=now,
    )


def _failed_attempt(
    session: AsyncSession,
    entry: EntityRetry,
    reason: str,
    run_id: int | None,
    policy: RetryPolicy,
    now: datetime,
) -> None:
    entry.attempts += 1
    entry.last_error = reason
    delay = policy.delay(entry.attempts)
    entry.next_attempt_at = now + timedelta(seconds=delay)
    entry.updated_at = now
    session.add(entry)
    session.add(
        _event(
            entry,
            "RETRY_SCHEDULED",
            f"{entry.operation.lower().replace('_', '-')} attempt {entry.attempts} failed "
            f"({reason}); next attempt in {delay:g}s",
            run_id,
            "FAILED",
            now,
        )
    )


def _settled(
    session: AsyncSession, entry: EntityRetry, how: str, run_id: int | None, outcome: str
) -> None:
    message = f"{entry.operation.lower().replace('_', '-')} settled: {how} after "
    message += f"{entry.attempts} failed attempt(s)"
    session.add(_event(entry, "RETRY_SETTLED", message, run_id, outcome, utcnow()))


async def track_outcomes(
    session: AsyncSession,
    *,
    rule_id: int,
    run_id: int | None,
    outcomes: Sequence[EntityOutcome],
    names: Mapping[tuple[EntityKind, str], str],
    policy: RetryPolicy,
    known: bool,
) -> bool:
    """Queue the outbound entities recorded FAILED; settle the queued ones that now are not.

    :param known: the rule may have entries already (else only failures need a look-up).
    :return: whether the rule may have entries now.
    """
    now = utcnow()
    by_kind: dict[EntityKind, list[EntityOutcome]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.kind, []).append(outcome)
    queued = known
    for kind, of_kind in by_kind.items():
        failed = [o for o in of_kind if o.state is EntityState.FAILED and not o.removed]
        look = of_kind if known else failed
        if not look:
            continue
        entries = await _entries(session, rule_id, kind.value, [o.key for o in look])
        for outcome in look:
            entry = entries.get(outcome.key)
            if outcome.state is EntityState.FAILED and not outcome.removed:
                if entry is None:
                    entry = EntityRetry(
                        rule_id=rule_id,
                        kind=kind.value,
                        entity_key=outcome.key,
                        display_name=names.get((kind, outcome.key), outcome.key),
                        operation=PUSH,
                        next_attempt_at=now,
                        created_at=now,
                    )
                    entries[outcome.key] = entry
                _failed_attempt(session, entry, outcome.reason or "failed", run_id, policy, now)
                queued = True
            elif entry is not None:
                how = "removed from the target" if outcome.removed else f"now {outcome.state.value}"
                _settled(session, entry, how, run_id, "SUCCESS")
                await session.delete(entry)
    return queued


async def track_write_backs(
    session: AsyncSession,
    *,
    rule_id: int,
    run_id: int | None,
    outcomes: Sequence[WriteBackOutcome],
    fields: Mapping[str, Collection[str]],
    names: Mapping[str, str],
    policy: RetryPolicy,
) -> None:
    """Queue the users whose write-back failed (with the attributes still to write back);
    settle those whose write-back now succeeded."""
    now = utcnow()
    entries = await _entries(session, rule_id, EntityKind.USER.value, [o.key for o in outcomes])
    new = [o.key for o in outcomes if not o.ok and o.key not in entries and o.key not in names]
    states = await load_states(session, rule_id, EntityKind.USER, new) if new else {}
    names = {**{k: row.display_name for k, row in states.items()}, **names}
    for outcome in outcomes:
        entry = entries.get(outcome.key)
        if not outcome.ok:
            if entry is None:
                entry = EntityRetry(
                    rule_id=rule_id,
                    kind=EntityKind.USER.value,
                    entity_key=outcome.key,
                    display_name=names.get(outcome.key, outcome.key),
                    operation=WRITE_BACK,
                    next_attempt_at=now,
                    created_at=now,
                )
                entries[outcome.key] = entry
            entry.fields = sorted({*entry.fields, *fields.get(outcome.key, ())})
            _failed_attempt(session, entry, outcome.reason or "failed", run_id, policy, now)
        elif entry is not None:
            _settled(session, entry, "written back", run_id, "SUCCESS")
            await session.delete(entry)


async def settle_unreported(
    session: AsyncSession, rule_id: int, run_id: int | None, entries: Iterable[EntityRetry]
) -> None:
    """Drop entries a retry found nothing left to do for (the entity left the directory)."""
    for entry in entries:
        row = await session.get(EntityRetry, entry.id)
        if row is not None and row.attempts == entry.attempts:
            _settled(session, row, "nothing left to do", run_id, "SUCCESS")
            await session.delete(row)


async def drop_orphans(session: AsyncSession, rule_id: int, run_id: int | None) -> None:
    """After a full resync: entries of entities the rule no longer has a state for."""
    orphans = list(
        await session.scalars(
            select(EntityRetry).where(
                EntityRetry.rule_id == rule_id,
                ~exists().where(
                    col(EntitySyncState.rule_id) == col(EntityRetry.rule_id),
                    col(EntitySyncState.kind) == col(EntityRetry.kind),
                    col(EntitySyncState.entity_key) == col(EntityRetry.entity_key),
                ),
            )
        )
    )
    for entry in orphans:
        _settled(session, entry, "no longer impacted", run_id, "SUCCESS")
        await session.delete(entry)


async def claim_due(
    db: Database, now: datetime, policy: RetryPolicy, busy: Collection[int] = ()
) -> dict[int, list[EntityRetry]]:
    """The due entries of enabled, unquarantined rules, by rule; each is pushed back by its
    next delay first, so a retry that never records an outcome does not loop.

    :param busy: rules that have a retry run queued or running (skipped).
    """
    async with db.session() as session:
        statement: Any = (
            select(EntityRetry)
            .join(Rule, col(Rule.id) == col(EntityRetry.rule_id))
            .where(
                col(EntityRetry.next_attempt_at) <= now,
                col(Rule.enabled).is_(True),
                col(Rule.quarantined_at).is_(None),
            )
            .order_by(col(EntityRetry.id))
        )
        if busy:
            statement = statement.where(col(EntityRetry.rule_id).not_in(list(busy)))
        if session.get_bind().dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True, of=EntityRetry)
        due = list(await session.scalars(statement))
        by_rule: dict[int, list[EntityRetry]] = {}
        for entry in due:
            by_rule.setdefault(entry.rule_id, []).append(entry)
            later = now + timedelta(seconds=policy.delay(entry.attempts + 1))
            await session.execute(
                update(EntityRetry)
                .where(col(EntityRetry.id) == entry.id)
                .values(next_attempt_at=later)
            )
        await session.commit()
    return by_rule


async def queue_interrupted(
    session: AsyncSession, run: SyncRun, policy: RetryPolicy, now: datetime
) -> None:
    """Queue the changes an incremental push was carrying when its process died (no commit)."""
    pending = {
        EntityKind.USER: (run.checkpoint or {}).get("pending_users") or [],
        EntityKind.GROUP: (run.checkpoint or {}).get("pending_groups") or [],
    }
    reason = f"interrupted: the process stopped during incremental run {run.id}"
    for kind, ids in pending.items():
        model: Any = DirectoryUser if kind is EntityKind.USER else DirectoryGroup
        names = {
            str(i): n
            for i, n in await session.execute(
                select(
                    model.id, model.display_name if kind is EntityKind.GROUP else model.user_name
                ).where(col(model.id).in_(list(ids)))
            )
        }
        keys = [str(i) for i in ids]
        entries = await _entries(session, run.rule_id, kind.value, keys)
        for key in keys:
            if key in entries:
                continue  # already waiting: its own schedule stands
            entry = EntityRetry(
                rule_id=run.rule_id,
                kind=kind.value,
                entity_key=key,
                display_name=names.get(key, key),
                operation=PUSH,
                next_attempt_at=now,
                created_at=now,
            )
            _failed_attempt(session, entry, reason, run.id, policy, now)
