"""Crash recovery: runs a killed process left unfinished are FAILED, and their rules say so."""

from __future__ import annotations

from sqlmodel import col, select

from gql.engine.recorder import admin_event
from gql.engine.retries import RetryPolicy, queue_interrupted
from gql.store.db import Database
from gql.store.models import Rule, SyncRun, utcnow

ACTIVE_STATUSES = ("QUEUED", "RUNNING")


async def fail_interrupted_runs(db: Database, policy: RetryPolicy) -> None:
    """Runs a previous process left unfinished are FAILED, and so is each rule whose most
    recent run that was, until one of its runs succeeds (audited). The changes an interrupted
    push carried wait in the retry queue."""
    now = utcnow()
    async with db.session() as session:
        interrupted = list(
            await session.scalars(
                select(SyncRun)
                .where(col(SyncRun.status).in_(ACTIVE_STATUSES))  # type: ignore[attr-defined]
                .order_by(col(SyncRun.id))
            )
        )
        latest: dict[int, SyncRun] = {}
        for run in interrupted:
            run.status, run.finished_at = "FAILED", now
            run.error = "interrupted: the process stopped"
            session.add(run)
            await queue_interrupted(session, run, policy, now)
            if run.kind != "PREVIEW":
                latest[run.rule_id] = run
        for rule_id, run in latest.items():
            rule = await session.get(Rule, rule_id)
            if rule is None:
                continue
            newer = await session.scalar(
                select(SyncRun.id).where(
                    SyncRun.rule_id == rule_id,
                    col(SyncRun.id) > (run.id or 0),
                    SyncRun.kind != "PREVIEW",
                )
            )
            if newer is not None:
                continue  # a later run ended on its own: the rule's status is that run's
            error = (
                f"interrupted: the process stopped during {run.kind.lower()} run {run.id} "
                f"(started {run.started_at or run.queued_at:%Y-%m-%d %H:%M:%S} UTC)"
            )
            rule.last_run_status, rule.last_run_error = "FAILED", error
            session.add(rule)
            session.add(
                admin_event(
                    operation="RUN_INTERRUPTED",
                    message=error,
                    actor="system",
                    rule_id=rule_id,
                    run_id=run.id,
                    outcome="FAILED",
                )
            )
        await session.commit()
