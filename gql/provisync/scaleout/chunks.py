"""A large full resync split into chunks of users that several workers push at once.

In the queue mode, the worker that runs a full outbound resync of more users than
``resync_chunk_size`` plans the run as chunks (ranges of directory user ids, rows of
``run_chunk``), queues helper jobs for other workers, and works on chunks itself. Whoever takes
part claims a chunk with a lease, pushes it batch by batch (each batch's outcomes, the chunk's
checkpoint and the run's progress commit in one transaction), and renews the lease while it
works. A chunk whose lease ran out (its worker died) is claimed again by anyone and resumes
from its checkpoint. When every chunk is done, the run's own worker deprovisions who left scope
and syncs the groups as an unsplit run does: one run, one progress, one summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from provisync.engine.context import RunContext
from provisync.store.models import DirectoryUser, RunChunk, SyncRun, utcnow
from provisync_sdk import RunFailure

log = logging.getLogger("provisync.engine")
Checkpoint = Callable[[AsyncSession], Awaitable[None]]
Batch = Callable[[RunContext, list[DirectoryUser], Checkpoint], Awaitable[object]]
"""Pushes one batch of users, writing the chunk's checkpoint in the same transaction."""
WAIT_SECONDS = 0.5
"""How often the run's own worker looks whether the other chunks are done."""


class ChunkLost(Exception):
    """This worker's lease on a chunk ran out and another worker took the chunk over."""


@dataclass(frozen=True)
class Claim:
    id: int
    last_user_id: int
    done_through: int
    owner: str
    taken_over: bool
    """Its worker died: it may have written to the target what it did not record."""


def participant() -> str:
    """A name for one worker's part in one run (host, process, and a random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def plan(ctx: RunContext) -> int:
    """Split the run's users into chunks, unless it was split before it was resumed.

    :return: how many chunks the run has.
    """
    async with ctx.db.session() as session:
        existing = await session.scalar(
            select(func.count()).select_from(RunChunk).where(RunChunk.run_id == ctx.run.id)
        )
        if existing:
            return int(existing)
        numbered = select(
            col(DirectoryUser.id).label("id"),
            func.row_number().over(order_by=col(DirectoryUser.id)).label("n"),
        ).subquery()
        bounds = list(
            await session.scalars(
                select(numbered.c.id)
                .where(numbered.c.n % ctx.chunk_size == 0)
                .order_by(numbered.c.id)
            )
        )
        last = await session.scalar(select(func.max(DirectoryUser.id)))
        if last is None:
            return 0
        if not bounds or bounds[-1] != last:
            bounds.append(last)
        after = 0
        for position, bound in enumerate(bounds):
            session.add(
                RunChunk(
                    run_id=ctx.run.id or 0,
                    position=position,
                    after_user_id=after,
                    last_user_id=bound,
                    done_through=after,
                )
            )
            after = bound
        await session.commit()
    log.info(
        "run %s split into %s chunks of up to %s users", ctx.run.id, len(bounds), ctx.chunk_size
    )
    return len(bounds)


async def _claim(ctx: RunContext, owner: str) -> Claim | None:
    """Take the first chunk nobody holds (new, or its lease ran out) while the run runs."""
    now = utcnow()
    failed = aliased(RunChunk)
    async with ctx.db.session() as session:
        row = (
            await session.execute(
                select(RunChunk.id, RunChunk.status, RunChunk.last_user_id, RunChunk.done_through)
                .where(
                    col(RunChunk.run_id) == ctx.run.id,
                    or_(
                        col(RunChunk.status) == "TODO",
                        and_(col(RunChunk.status) == "RUNNING", col(RunChunk.lease_until) < now),
                    ),
                    exists().where(col(SyncRun.id) == ctx.run.id, col(SyncRun.status) == "RUNNING"),
                    ~exists().where(
                        col(failed.run_id) == ctx.run.id, col(failed.status) == "FAILED"
                    ),
                )
                .order_by(col(RunChunk.position))
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None:
            return None
        chunk_id, status, last_user_id, done_through = row
        await session.execute(
            update(RunChunk)
            .where(col(RunChunk.id) == chunk_id)
            .values(
                status="RUNNING",
                owner=owner,
                lease_until=now + timedelta(seconds=ctx.lease_seconds),
            )
        )
        await session.commit()
    return Claim(
        id=chunk_id or 0,
        last_user_id=last_user_id,
        done_through=done_through,
        owner=owner,
        taken_over=status == "RUNNING",
    )


async def _update_own(session: AsyncSession, claim: Claim, **values: object) -> None:
    done = await session.execute(
        update(RunChunk)
        .where(
            col(RunChunk.id) == claim.id,
            col(RunChunk.owner) == claim.owner,
            col(RunChunk.status) == "RUNNING",
        )
        .values(**values)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ChunkLost(f"chunk {claim.id} was taken over by another worker")


async def _keep_lease(ctx: RunContext, claim: Claim) -> None:
    """Renew the lease while the chunk is worked on, so a slow target does not lose it."""
    while True:
        await asyncio.sleep(ctx.lease_seconds / 3)
        async with ctx.db.session() as session:
            await _update_own(
                session, claim, lease_until=utcnow() + timedelta(seconds=ctx.lease_seconds)
            )
            await session.commit()


async def _work(ctx: RunContext, claim: Claim, push: Batch) -> None:
    keeper = asyncio.create_task(_keep_lease(ctx, claim), name=f"provisync-lease-{claim.id}")
    try:
        last = claim.done_through
        while last < claim.last_user_id:
            async with ctx.db.session() as session:
                users = list(
                    await session.scalars(
                        select(DirectoryUser)
                        .where(
                            col(DirectoryUser.id) > last,
                            col(DirectoryUser.id) <= claim.last_user_id,
                        )
                        .order_by(col(DirectoryUser.id))
                        .limit(ctx.batch_size)
                    )
                )
            if not users:
                break
            last = users[-1].id or 0

            async def checkpoint(session: AsyncSession, through: int = last) -> None:
                await _update_own(
                    session,
                    claim,
                    done_through=through,
                    lease_until=utcnow() + timedelta(seconds=ctx.lease_seconds),
                )

            await push(ctx, users, checkpoint)
            if keeper.done():
                keeper.result()  # the lease was lost: stop here (raises ChunkLost)
        async with ctx.db.session() as session:
            await _update_own(session, claim, status="DONE", lease_until=None)
            await session.commit()
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError, ChunkLost):
            await keeper


async def _fail(ctx: RunContext, claim: Claim, reason: str) -> None:
    async with ctx.db.session() as session:
        with contextlib.suppress(ChunkLost):
            await _update_own(session, claim, status="FAILED", error=reason, lease_until=None)
        await session.commit()


async def take_part(ctx: RunContext, push: Batch) -> int:
    """Claim and push chunks until none is free. :return: how many this worker pushed.

    A run failure in a chunk (the target refused, say) marks the chunk FAILED with the reason,
    which ends the run, and is raised; a chunk another worker took over is left to it.
    """
    owner = participant()
    pushed = 0
    while (claim := await _claim(ctx, owner)) is not None:
        worker_ctx, fresh = ctx, None
        if claim.taken_over:
            log.warning(
                "chunk %s of run %s is taken over from a stopped worker", claim.id, ctx.run.id
            )
            worker_ctx = replace(ctx, after_a_stop=True)
        if claim.taken_over and ctx.reopen is not None:
            # What this connector read of the target (a cached listing, say) may predate the
            # dead worker's writes: a new one reads the target afresh.
            fresh = ctx.reopen()
            worker_ctx = replace(worker_ctx, connector=fresh)
        try:
            await _work(worker_ctx, claim, push)
        except ChunkLost as exc:
            log.warning("%s", exc)
            continue
        except RunFailure as exc:
            await _fail(ctx, claim, str(exc))
            raise
        except Exception as exc:
            await _fail(ctx, claim, f"internal error: {type(exc).__name__}")
            raise
        finally:
            if fresh is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(fresh.aclose(), 5)
        pushed += 1
    return pushed


async def run_split(ctx: RunContext, chunks: int, push: Batch) -> int:
    """The run's own worker: ask for helpers, take part, and wait until every chunk is done.

    :return: the last user id of the plan (users after it came during the run: their own
        increments push them).
    :raises RunFailure: with the reason of a chunk that failed.
    """
    if ctx.fan_out is not None and chunks > 1:
        await ctx.fan_out(chunks - 1)
    while True:
        await take_part(ctx, push)
        async with ctx.db.session() as session:
            rows = (
                await session.execute(
                    select(RunChunk.status, RunChunk.error, RunChunk.last_user_id).where(
                        RunChunk.run_id == ctx.run.id
                    )
                )
            ).all()
        failed = [error for status, error, _ in rows if status == "FAILED"]
        if failed:
            raise RunFailure(failed[0] or "a chunk of the run failed")
        if all(status == "DONE" for status, _, _ in rows):
            return max((last for _, _, last in rows), default=0)
        await asyncio.sleep(WAIT_SECONDS)  # others hold chunks; a dead one's lease runs out


async def help_run(ctx: RunContext, push: Batch) -> None:
    """A helper job: push free chunks of a split run, then leave (the run's worker ends it)."""
    try:
        pushed = await take_part(ctx, push)
    except RunFailure as exc:
        log.warning("a chunk of run %s failed: %s", ctx.run.id, exc)
        return
    if pushed:
        log.info("pushed %s chunk(s) of run %s", pushed, ctx.run.id)
