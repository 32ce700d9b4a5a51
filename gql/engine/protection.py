"""Deletion protection: a run that would disable or delete too much holds those operations.

A rule's threshold is a count (``deletion_max_count``) or a percentage of the impacted
entities of a kind (``deletion_max_percent``), or both (the lower wins). A run whose removals
of one kind go over it applies everything else, and stores those removals as
:class:`~gql.store.models.HeldOperation` rows (status ``HELD``), with an audit event. An
operator then releases them (a ``RELEASE`` run applies them) or discards them (the entities
stop being impacted and their accounts stay as they are at the target).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from connectors import DeprovisionAction, EntityKind, EntityOutcome, EntityState, Removal
from gql.engine.context import RunContext
from gql.engine.notices import NoticeType, notice
from gql.engine.recorder import admin_event, record_outcomes
from gql.store.db import Database
from gql.store.models import EntitySyncState, HeldOperation, Rule


def limit_of(rule: Rule, impacted: int) -> int | None:
    """The most disables and deletes one run may make, or None when unprotected."""
    limits = []
    if rule.deletion_max_count is not None:
        limits.append(rule.deletion_max_count)
    if rule.deletion_max_percent is not None:
        limits.append(math.floor(impacted * rule.deletion_max_percent / 100))
    return min(limits) if limits else None


async def guard_removals(
    ctx: RunContext,
    kind: EntityKind,
    removals: Sequence[Removal],
    names: Mapping[tuple[EntityKind, str], str],
) -> tuple[list[Removal], list[Removal], str | None]:
    """Split removals into those to apply now and those deletion protection holds.

    :return: (to apply, held, why held). Previews hold nothing but say what would be held.
    """
    destructive = [r for r in removals if r.action is not DeprovisionAction.NOTHING]
    if not destructive or ctx.release:
        return list(removals), [], None
    async with ctx.db.session() as session:
        impacted = await session.scalar(
            select(func.count()).where(
                EntitySyncState.rule_id == ctx.rule_id, EntitySyncState.kind == kind.value
            )
        )
        already = set(
            await session.scalars(
                select(HeldOperation.entity_key).where(
                    HeldOperation.rule_id == ctx.rule_id,
                    HeldOperation.kind == kind.value,
                    HeldOperation.status == "HELD",
                )
            )
        )
    limit = limit_of(ctx.rule, impacted or 0)
    pending = [r for r in destructive if r.key not in already]
    if limit is None or (len(destructive) <= limit and not already):
        return list(removals), [], None
    if len(destructive) <= limit:
        # Below the limit, but some of these are held already: those wait for the operator.
        return [r for r in removals if r.key not in already], [], None
    why = (
        f"deletion protection: {len(destructive)} {kind.value.lower()}s would be "
        f"disabled or deleted, more than the rule's limit of {limit}"
    )
    keep = [r for r in removals if r.action is DeprovisionAction.NOTHING]
    if ctx.preview:
        return keep, destructive, why
    async with ctx.db.session() as session:
        for removal in pending:
            session.add(
                HeldOperation(
                    rule_id=ctx.rule_id,
                    run_id=ctx.run.id,
                    kind=kind.value,
                    entity_key=removal.key,
                    display_name=names.get((kind, removal.key), removal.key),
                    target_id=removal.target_id,
                    action=removal.action.value,
                )
            )
        if pending:
            session.add(
                admin_event(
                    operation="HOLD_DEPROVISION",
                    message=f"{why}: {len(pending)} held for an operator",
                    actor="system",
                    rule_id=ctx.rule_id,
                    run_id=ctx.run.id,
                    outcome="HELD",
                )
            )
            session.add(
                notice(
                    NoticeType.OPERATIONS_HELD,
                    rule_id=ctx.rule_id,
                    run_id=ctx.run.id,
                    ruleName=ctx.rule.name,
                    kind=kind.value,
                    held=len(pending),
                    limit=limit,
                    reason=why,
                )
            )
        await session.commit()
    ctx.counts["HELD"] += len(pending)
    return keep, destructive, why


async def released_removals(
    ctx: RunContext,
) -> tuple[list[Removal], dict[tuple[EntityKind, str], str]]:
    """The operations an operator released and no run has applied yet, with their names."""
    async with ctx.db.session() as session:
        rows = list(
            await session.scalars(
                select(HeldOperation)
                .where(HeldOperation.rule_id == ctx.rule_id, HeldOperation.status == "RELEASED")
                .order_by(col(HeldOperation.id))
            )
        )
    names = {(EntityKind(row.kind), row.entity_key): row.display_name for row in rows}
    return [
        Removal(
            kind=EntityKind(row.kind),
            key=row.entity_key,
            target_id=row.target_id,
            action=DeprovisionAction(row.action),
        )
        for row in rows
    ], names


async def mark_applied(ctx: RunContext, removals: Sequence[Removal]) -> None:
    async with ctx.db.session() as session:
        for removal in removals:
            rows = await session.scalars(
                select(HeldOperation).where(
                    HeldOperation.rule_id == ctx.rule_id,
                    HeldOperation.kind == removal.kind.value,
                    HeldOperation.entity_key == removal.key,
                    HeldOperation.status == "RELEASED",
                )
            )
            for row in rows:
                row.status = "APPLIED"
                row.run_id = ctx.run.id
                session.add(row)
        await session.commit()


async def _take_held(
    session: AsyncSession, rule_id: int, status: str, actor: str, now: datetime
) -> list[HeldOperation]:
    """The rule's HELD operations, marked ``status`` (RELEASED or DISCARDED) by ``actor``."""
    rows = list(
        await session.scalars(
            select(HeldOperation).where(
                HeldOperation.rule_id == rule_id, HeldOperation.status == "HELD"
            )
        )
    )
    for row in rows:
        row.status, row.resolved_at, row.resolved_by = status, now, actor
        session.add(row)
    return rows


async def release_held(db: Database, rule_id: int, actor: str, now: datetime) -> int:
    """Mark a rule's HELD operations RELEASED (a RELEASE run then applies them).

    :return: how many were held.
    """
    async with db.session() as session:
        rows = await _take_held(session, rule_id, "RELEASED", actor, now)
        await session.commit()
    return len(rows)


async def discard_held(db: Database, rule_id: int, actor: str, now: datetime) -> int:
    """Discard a rule's held disables and deletes: the accounts stay as they are at the target,
    and the entities stop being impacted by the rule (their states go, audited).

    :return: how many were discarded.
    """
    async with db.session() as session:
        rows = await _take_held(session, rule_id, "DISCARDED", actor, now)
        outcomes = [
            EntityOutcome(
                kind=EntityKind(row.kind),
                key=row.entity_key,
                state=EntityState.SUCCESS,
                reason=f"held {row.action.lower()} discarded by {actor}",
                removed=True,
            )
            for row in rows
        ]
        names = {(EntityKind(r.kind), r.entity_key): r.display_name for r in rows}
        await record_outcomes(
            session, rule_id=rule_id, run_id=None, outcomes=outcomes, names=names, actor=actor
        )
        if rows:
            session.add(
                admin_event(
                    operation="DISCARD_HELD",
                    message=f"{len(rows)} held disables and deletes discarded; "
                    "their accounts stay as they are at the target",
                    actor=actor,
                    rule_id=rule_id,
                )
            )
        await session.commit()
    return len(rows)
