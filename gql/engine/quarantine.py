"""Quarantine: a rule whose runs keep failing as a whole backs off instead of hammering.

After ``quarantine_after_failures`` runs in a row fail as a whole, the rule is quarantined:
its status is FAILED, directory changes no longer start runs for it, and the scheduler
retries it (a full resync, or a poll for an inbound rule) at ``quarantine_base_seconds``,
doubling with each further failure up to ``quarantine_max_seconds``. A successful run or a
manual resync ends the quarantine. Both transitions are audit events.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gql.engine.notices import NoticeType, notice
from gql.engine.recorder import admin_event
from gql.settings import Settings
from gql.store.models import Rule


def count_failure(
    session: AsyncSession,
    rule: Rule,
    error: str,
    now: datetime,
    run_id: int | None,
    settings: Settings,
) -> None:
    """One more run failed as a whole: past the threshold, the rule is (still) quarantined."""
    rule.failure_streak += 1
    session.add(rule)
    after = settings.quarantine_after_failures
    if rule.failure_streak < after:
        return
    delay = min(
        settings.quarantine_base_seconds * 2 ** (rule.failure_streak - after),
        settings.quarantine_max_seconds,
    )
    entering = rule.quarantined_at is None
    if entering:
        rule.quarantined_at = now
    rule.quarantine_next_at = now + timedelta(seconds=delay)
    rule.quarantine_reason = error
    session.add(
        admin_event(
            operation="QUARANTINE" if entering else "QUARANTINE_RETRY_FAILED",
            message=f"{rule.failure_streak} runs in a row failed ({error}); "
            f"next attempt in {delay:g}s",
            actor="system",
            rule_id=rule.id,
            run_id=run_id,
            outcome="FAILED",
        )
    )
    if entering:
        session.add(
            notice(
                NoticeType.RULE_QUARANTINED,
                rule_id=rule.id,
                run_id=run_id,
                ruleName=rule.name,
                failures=rule.failure_streak,
                reason=error,
                nextAttemptAt=rule.quarantine_next_at.isoformat(),
            )
        )


async def end_quarantine(
    session: AsyncSession, rule_id: int, why: str, run_id: int | None = None
) -> None:
    """Reset the failure streak and end the rule's quarantine, if any (audited)."""
    rule = await session.get(Rule, rule_id)
    if rule is None:
        return
    was = rule.quarantined_at is not None
    if rule.failure_streak or was:
        rule.failure_streak = 0
        rule.quarantined_at = rule.quarantine_next_at = rule.quarantine_reason = None
        session.add(rule)
    if was:
        session.add(
            admin_event(
                operation="QUARANTINE_ENDED",
                message=f"quarantine ended: {why}",
                actor="system",
                rule_id=rule_id,
                run_id=run_id,
            )
        )
        session.add(
            notice(
                NoticeType.RULE_RELEASED,
                rule_id=rule_id,
                run_id=run_id,
                ruleName=rule.name,
                why=why,
            )
        )
