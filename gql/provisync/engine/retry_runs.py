"""What a RETRY run does: push again, or write back again, the entities the queue holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlmodel import col, select

from provisync.engine.context import RunContext
from provisync.engine.inbound import write_back
from provisync.engine.mapping import write_back_values
from provisync.engine.outbound import incremental_outbound
from provisync.engine.retries import RetryPolicy, claim_due, settle_unreported
from provisync.store.db import Database
from provisync.store.models import DirectoryUser, EntityRetry, SyncRun
from provisync_sdk import EntityKind, WriteBackRequest

Work = Callable[[RunContext], Awaitable[None]]
ACTIVE_STATUSES = ("QUEUED", "RUNNING")


def _ids(entries: Sequence[EntityRetry], kind: EntityKind) -> list[int]:
    return [int(e.entity_key) for e in entries if e.kind == kind.value and e.entity_key.isdigit()]


async def retry_write_backs(ctx: RunContext, entries: Sequence[EntityRetry]) -> None:
    """Write back again, from the directory's current values, what the queue holds."""
    protected = ctx.connector.write_back_attributes()
    keys = [e.entity_key for e in entries]
    async with ctx.db.session() as session:
        users = {
            u.source_key: u
            for u in await session.scalars(
                select(DirectoryUser).where(
                    DirectoryUser.source_rule_id == ctx.rule_id,
                    col(DirectoryUser.source_key).in_(keys),
                )
            )
        }
    requests: list[WriteBackRequest] = []
    for entry in entries:
        user = users.get(entry.entity_key)
        wanted = [a for a in (entry.fields or protected) if a in protected]
        if user is None or not wanted:
            continue
        requests.append(
            WriteBackRequest(
                key=entry.entity_key,
                attributes=write_back_values(user, ctx.rule.mappings, wanted),
            )
        )
    await ctx.progress(total=len(requests))
    if requests:
        await write_back(ctx, requests)
        await ctx.progress(processed=len(requests))


async def run_retries(ctx: RunContext, entries: Sequence[EntityRetry]) -> None:
    """One attempt for each due entry; an entry no attempt reported on is settled (the entity
    left the directory, or the rule no longer syncs it)."""
    if ctx.outbound:
        users = _ids(entries, EntityKind.USER)
        groups = set(_ids(entries, EntityKind.GROUP))
        await incremental_outbound(ctx, users, groups)
    else:
        await retry_write_backs(ctx, entries)
    async with ctx.db.session() as session:
        await settle_unreported(session, ctx.rule_id, ctx.run.id, entries)
        await session.commit()


def _retrying(entries: list[EntityRetry]) -> Work:
    async def work(ctx: RunContext) -> None:
        await run_retries(ctx, entries)

    return work


async def start_due_retries(
    db: Database, policy: RetryPolicy, now: datetime, spawn: Callable[[SyncRun, Work], object]
) -> list[SyncRun]:
    """Start a RETRY run (through ``spawn``) for each rule with due entries and no retry run
    queued or running already.

    :return: the runs started.
    """
    async with db.session() as session:
        busy = set(
            await session.scalars(
                select(SyncRun.rule_id).where(
                    SyncRun.kind == "RETRY",
                    col(SyncRun.status).in_(ACTIVE_STATUSES),  # type: ignore[attr-defined]
                )
            )
        )
    started = []
    for rule_id, entries in (await claim_due(db, now, policy, busy)).items():
        async with db.session() as session:
            run = SyncRun(rule_id=rule_id, kind="RETRY", status="QUEUED")
            session.add(run)
            await session.commit()
        spawn(run, _retrying(entries))
        started.append(run)
    return started
