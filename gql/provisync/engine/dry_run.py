"""What a rule change would do, before it is saved: ``updateRule(..., dryRun: true)``.

The change runs as a PREVIEW run of the rule whose context holds the changed rule (scope,
mappings, groups, deprovision action, deletion protection) instead of the stored one: it is
computed exactly as a preview is (dry-run reconciles, deletion protection judging the
disables and deletes), the rule itself is not saved, and the run's preview items are the
answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from provisync.engine.context import RunContext
from provisync.engine.engine import RunKind
from provisync.engine.inbound import read_inbound
from provisync.engine.outbound import full_outbound
from provisync.engine.recorder import admin_event
from provisync.store.models import PreviewItem, Rule, SyncRun
from provisync_sdk import Direction

FIRST_PER_ACTION = 5
HELD = "would be held by"


@dataclass(slots=True)
class ChangePreview:
    """The answer: the preview run, its counts by action, and the first items of each."""

    run: SyncRun
    counts: dict[str, int] = field(default_factory=dict)
    held: int = 0
    first: dict[str, list[PreviewItem]] = field(default_factory=dict)


def changed_rule(stored: Rule, values: Mapping[str, Any]) -> Rule:
    """A detached copy of the rule with the proposed values (never added to a session)."""
    copy = Rule(**stored.model_dump())
    for name, value in values.items():
        setattr(copy, name, value.strip() if name == "name" else value)
    return copy


async def preview_change(
    services: Any, rule: Rule, values: Mapping[str, Any], actor: str
) -> ChangePreview:
    """Run the change as a preview and wait for it (up to six times ``on_demand_wait``).

    :raises TimeoutError: the preview is still running; it goes on, and its run says so.
    """
    engine = services.engine
    assert rule.id is not None
    async with services.db.session() as session:
        run = SyncRun(
            rule_id=rule.id, kind=RunKind.PREVIEW.value, status="QUEUED", started_by=actor
        )
        session.add(run)
        await session.flush()
        session.add(
            admin_event(
                operation="PREVIEW_RULE_CHANGE",
                message=f"preview of a change to rule {rule.name!r} requested (not saved)",
                actor=actor,
                rule_id=rule.id,
                run_id=run.id,
            )
        )
        await session.commit()

    async def work(ctx: RunContext) -> None:
        ctx.rule = changed_rule(ctx.rule, values)
        if ctx.rule.direction == Direction.OUTBOUND.value:
            await full_outbound(ctx)
        else:
            await read_inbound(ctx, incremental=False, changed=lambda _ids: None)

    task = engine._spawn(run, {}, set(), work)  # the engine's own run lifecycle
    await asyncio.wait_for(asyncio.shield(task), services.settings.on_demand_wait * 6)
    return await _answer(services, run)


async def _answer(services: Any, run: SyncRun) -> ChangePreview:
    async with services.db.session() as session:
        stored = await session.get(SyncRun, run.id)
        assert stored is not None
        counts = dict(
            (
                await session.execute(
                    select(PreviewItem.action, func.count())
                    .where(PreviewItem.run_id == run.id)
                    .group_by(PreviewItem.action)
                )
            ).all()
        )
        held = await session.scalar(
            select(func.count())
            .select_from(PreviewItem)
            .where(PreviewItem.run_id == run.id, col(PreviewItem.reason).startswith(HELD))
        )
        first: dict[str, list[PreviewItem]] = {}
        for action in counts:
            first[action] = list(
                await session.scalars(
                    select(PreviewItem)
                    .where(PreviewItem.run_id == run.id, PreviewItem.action == action)
                    .order_by(col(PreviewItem.id))
                    .limit(FIRST_PER_ACTION)
                )
            )
    return ChangePreview(run=stored, counts=counts, held=int(held or 0), first=first)
