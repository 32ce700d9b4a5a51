"""Changes a push could not apply: recorded FAILED with the reason, so the retry queue has them.

An incremental or retry run whose push fails as a whole (the target is down) would otherwise
leave every entity it carried in its last state, SUCCESS included, with nothing to retry.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select

from connectors import DeprovisionAction, EntityKind, EntityOutcome, EntityState, ReconcileRequest
from gql.engine.context import RunContext
from gql.store.models import DirectoryGroup

Names = dict[tuple[EntityKind, str], str]


async def record_unpushed(
    ctx: RunContext,
    request: ReconcileRequest,
    names: Names,
    processed: int,
    asked: Collection[tuple[EntityKind, str]],
    error: str,
) -> None:
    """The push failed as a whole: every entity it carried is FAILED with the reason (and so
    queued for a retry) instead of keeping a state the target never confirmed."""
    outcomes = [
        EntityOutcome(kind=kind, key=key, state=EntityState.FAILED, reason=f"not pushed: {error}")
        for kind, key in asked
    ]
    outcomes += [
        EntityOutcome(kind=r.kind, key=r.key, state=EntityState.SUCCESS, removed=True)
        for r in request.removals
        if r.action is DeprovisionAction.NOTHING
    ]
    await ctx.record(outcomes, names, processed, observe=False)


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
        EntityOutcome(kind=kind, key=key, state=EntityState.FAILED, reason=f"not pushed: {error}")
        for kind, key in names
    ]
    if outcomes:
        await ctx.record(outcomes, names, observe=False)
