"""Changes a push could not apply: recorded FAILED with the reason, so the retry queue has them.

A run whose push fails as a whole (the target is down) would otherwise leave every entity it
carried in its last state, SUCCESS included, with nothing to retry, and forget the accounts the
connector created before the failure (it reports them with the failure, see RunFailure).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlmodel import col, select

from provisync.engine.context import RunContext
from provisync.engine.mapping import display_name_of, source_attributes
from provisync.engine.recorder import load_states
from provisync.engine.scope import Predicate
from provisync.store.models import DirectoryGroup, DirectoryUser
from provisync_sdk import (
    UNCONFIRMED,
    DeprovisionAction,
    EntityKind,
    EntityOutcome,
    EntityState,
    ReconcileRequest,
    RunFailure,
)

Names = dict[tuple[EntityKind, str], str]


async def record_unpushed(
    ctx: RunContext,
    request: ReconcileRequest,
    names: Names,
    processed: int,
    asked: Collection[tuple[EntityKind, str]],
    failure: RunFailure,
    failed: Sequence[EntityOutcome] = (),
) -> None:
    """The push failed as a whole: what the connector reported it did before the failure is
    recorded as it said; every other entity it carried is FAILED, its change not confirmed (and
    so queued for a retry), instead of keeping a state the target never confirmed. ``failed``
    (entities that never reached the connector, such as users whose mapping failed) are
    recorded as they are."""
    wanted = set(asked)
    reported = {(o.kind, o.key): o for o in failure.outcomes if (o.kind, o.key) in wanted}
    error = str(failure)
    pending = [
        EntityOutcome(
            kind=kind,
            key=key,
            state=EntityState.FAILED,
            reason=f"{UNCONFIRMED}the run failed before the target confirmed this change: {error}",
        )
        for kind, key in asked
        if (kind, key) not in reported
    ]
    pending += [
        EntityOutcome(kind=r.kind, key=r.key, state=EntityState.SUCCESS, removed=True)
        for r in request.removals
        if r.action is DeprovisionAction.NOTHING
    ]
    pending += failed
    async with ctx.db.session() as session:
        await ctx.record_in(session, list(reported.values()), names, 0)
        await ctx.record_in(session, pending, names, processed, observe=False)
        await session.commit()
    ctx.hub.publish(ctx.run)


async def groups_unpushed(ctx: RunContext, group_ids: Collection[int], error: str) -> None:
    """Changed groups a failed push never reached are FAILED too (their change waits)."""
    async with ctx.db.session() as session:
        groups = list(
            await session.execute(
                select(DirectoryGroup.id, DirectoryGroup.display_name).where(
                    col(DirectoryGroup.id).in_(list(group_ids))  # type: ignore[union-attr]
                )
            )
        )
    wanted = set(ctx.rule.group_ids)
    names: Names = {(EntityKind.GROUP, str(i)): n for i, n in groups if i in wanted}
    outcomes = [
        EntityOutcome(
            kind=kind,
            key=key,
            state=EntityState.FAILED,
            reason=f"{UNCONFIRMED}the run failed before pushing this change: {error}",
        )
        for kind, key in names
    ]
    if outcomes:
        await ctx.record(outcomes, names, observe=False)


async def record_unreached(ctx: RunContext, scope: Predicate, error: str) -> None:
    """A full resync failed as a whole: the impacted entities it never reached and that have no
    state yet are FAILED, not confirmed, and queued (an impacted entity is always in a state;
    "no account" cannot be claimed of an entity the run never looked up). Entities with a state
    from an earlier run keep it: it was true when it was seen."""
    reason = f"{UNCONFIRMED}the run failed before reaching this entity: {error}"
    after = 0
    while True:
        async with ctx.db.session() as session:
            users = list(
                await session.scalars(
                    select(DirectoryUser)
                    .where(col(DirectoryUser.id) > after)
                    .order_by(col(DirectoryUser.id))
                    .limit(ctx.batch_size)
                )
            )
            if not users:
                break
            after = users[-1].id or 0
            names: Names = {
                (EntityKind.USER, str(u.id)): display_name_of(u)
                for u in users
                if scope(source_attributes(u))
            }
            known = await load_states(session, ctx.rule_id, EntityKind.USER, [k for _, k in names])
        await _record_new(ctx, names, known, reason)
    async with ctx.db.session() as session:
        groups = list(
            await session.execute(
                select(DirectoryGroup.id, DirectoryGroup.display_name).where(
                    col(DirectoryGroup.id).in_(list(ctx.rule.group_ids))  # type: ignore[union-attr]
                )
            )
        )
        group_names: Names = {(EntityKind.GROUP, str(i)): n for i, n in groups}
        known = await load_states(
            session, ctx.rule_id, EntityKind.GROUP, [k for _, k in group_names]
        )
    await _record_new(ctx, group_names, known, reason)


async def _record_new(ctx: RunContext, names: Names, known: Collection[str], reason: str) -> None:
    outcomes = [
        EntityOutcome(kind=kind, key=key, state=EntityState.FAILED, reason=reason)
        for kind, key in names
        if key not in known
    ]
    if outcomes:
        await ctx.record(outcomes, names, observe=False)
