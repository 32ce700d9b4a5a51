"""Notifications the engine enqueues for webhooks: one outbox row per event, nothing sent here.

The engine adds a :class:`~gql.store.models.NotificationEvent` in the same transaction as the
change it reports (so an event is never lost nor invented), then rings ``SyncEngine.notify``:
the notifier (:mod:`gql.notify.dispatcher`) wakes, or finds the event at its next tick, fans
it out to subscriptions and sends it in the background. A sync never waits for a receiver.
"""

from __future__ import annotations

import enum
from typing import Any

from gql.store.models import NotificationEvent, Rule, SyncRun


class NoticeType(enum.StrEnum):
    """The event types a webhook can subscribe to (the CloudEvents ``type`` attribute)."""

    RUN_FAILED = "provisync.run.failed"
    """A run failed as a whole (target unreachable, credentials rejected, plugin crashed)."""
    RULE_QUARANTINED = "provisync.rule.quarantined"
    """Runs kept failing: the rule backs off (see :mod:`gql.engine.quarantine`)."""
    RULE_RELEASED = "provisync.rule.released"
    """A rule's quarantine ended (a run succeeded, or an operator resynced it)."""
    OPERATIONS_HELD = "provisync.operations.held"
    """Deletion protection held disables or deletes for an operator."""
    WRITE_BACK_FAILURES = "provisync.writeback.failures"
    """A run's failed write-backs reached ``webhook_write_back_failure_threshold``."""
    RULE_HEALTHY = "provisync.rule.healthy"
    """A run succeeded after the rule's previous run had failed."""


def notice(
    type: NoticeType,
    *,
    rule_id: int | None,
    run_id: int | None = None,
    **data: Any,
) -> NotificationEvent:
    """The outbox row of one event (add it to the session of the change it reports)."""
    return NotificationEvent(
        type=type.value,
        rule_id=rule_id,
        run_id=run_id,
        data={"ruleId": rule_id, "runId": run_id, **data},
    )


def run_end_notices(
    run: SyncRun, rule: Rule, whole_failure: bool, write_back_threshold: int
) -> list[NotificationEvent]:
    """What a run's end tells webhooks; call before the rule's last status is overwritten."""
    error = run.error
    common: dict[str, Any] = {"ruleName": rule.name, "runKind": run.kind}
    ids = {"rule_id": rule.id, "run_id": run.id}
    events = []
    stopped = not whole_failure and (error or "").startswith("cancelled")
    if run.status == "FAILED" and not stopped:
        events.append(notice(NoticeType.RUN_FAILED, **ids, error=error, **common))
    failed = int(run.counts.get("WRITE_BACK_FAILED", 0))
    if failed >= write_back_threshold:
        attempted = int(run.counts.get("WRITE_BACK", 0))
        events.append(
            notice(
                NoticeType.WRITE_BACK_FAILURES,
                **ids,
                failed=failed,
                attempted=attempted,
                threshold=write_back_threshold,
                **common,
            )
        )
    if run.status == "SUCCEEDED" and rule.last_run_status == "FAILED":
        events.append(
            notice(NoticeType.RULE_HEALTHY, **ids, previousError=rule.last_run_error, **common)
        )
    return events
