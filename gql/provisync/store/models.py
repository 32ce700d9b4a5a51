"""SQLModel tables: the directory, connections, rules, per-rule entity states, runs, audit.

Only the sync engine writes :class:`EntitySyncState`, :class:`RuleCounts` and
:class:`AuditEvent`. :class:`RuleCounts` holds the per-rule, per-kind tallies the engine keeps
in the same transaction as the states, so a summary costs the same for a million states as
for none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)  # type: ignore[call-overload]


def _json(default: Any, server_default: str | None = None) -> Any:
    column = Column(JSON, nullable=False, server_default=server_default)
    return Field(default_factory=default, sa_column=column)


class DirectoryUser(SQLModel, table=True):
    __tablename__ = "directory_user"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused (Relay global ids)

    id: int | None = Field(default=None, primary_key=True)
    user_name: str = Field(index=True, unique=True, max_length=256)
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    email: str | None = Field(default=None, index=True)
    phone: str | None = None
    title: str | None = None
    department: str | None = None
    employee_id: str | None = None
    manager: str | None = None
    active: bool = True
    extension_attributes: dict[str, Any] = _json(dict, "{}")
    """Named values besides the fixed fields (see :mod:`provisync.engine.extensions`)."""
    source_rule_id: int | None = Field(default=None, index=True)
    source_key: str | None = Field(default=None, index=True)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class DirectoryGroup(SQLModel, table=True):
    __tablename__ = "directory_group"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused (Relay global ids)

    id: int | None = Field(default=None, primary_key=True)
    display_name: str = Field(index=True, unique=True, max_length=256)
    description: str | None = None
    extension_attributes: dict[str, Any] = _json(dict, "{}")
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class GroupMembership(SQLModel, table=True):
    __tablename__ = "group_membership"

    group_id: int = Field(foreign_key="directory_group.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(
        foreign_key="directory_user.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class ProvisioningConnection(SQLModel, table=True):
    """One configured connector instance. Secrets are kept apart from settings."""

    __tablename__ = "provisioning_connection"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused (Relay global ids)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=256)
    connector_type: str = Field(max_length=128)
    settings: dict[str, Any] = _json(dict)
    secrets: dict[str, Any] = _json(dict)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class Rule(SQLModel, table=True):
    """What to sync where. The directory is the side that is not the connection."""

    __tablename__ = "rule"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused (Relay global ids)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=256)
    enabled: bool = False
    direction: str = Field(max_length=16)
    connection_id: int = Field(foreign_key="provisioning_connection.id", index=True)
    user_filter: str | None = None
    group_ids: list[int] = _json(list)
    mappings: list[dict[str, Any]] = _json(list, "[]")
    """Attribute mapping entries (see :mod:`provisync.engine.mapping`); empty: the defaults."""
    deprovision_action: str = Field(default="DISABLE", max_length=16)
    poll_interval_seconds: int = 900
    watermark: str | None = None
    last_sync_at: datetime | None = _ts(default=None)
    last_run_status: str | None = None
    last_run_error: str | None = None
    next_poll_at: datetime | None = _ts(default=None)
    deletion_max_count: int | None = None
    """Deletion protection: a run may disable or delete at most this many entities."""
    deletion_max_percent: float | None = None
    """Deletion protection: ... or at most this percentage of the impacted users."""
    failure_streak: int = 0
    """Runs in a row that failed as a whole (reset by a successful run)."""
    quarantined_at: datetime | None = _ts(default=None)
    quarantine_next_at: datetime | None = _ts(default=None)
    quarantine_reason: str | None = None
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class EntitySyncState(SQLModel, table=True):
    """Where one impacted entity of one rule stands. One row per (rule, kind, key)."""

    __tablename__ = "entity_sync_state"
    __table_args__ = (
        UniqueConstraint("rule_id", "kind", "entity_key", name="uq_state_entity"),
        Index("ix_state_rule_kind_state", "rule_id", "kind", "state", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="rule.id", ondelete="CASCADE")
    kind: str = Field(max_length=8)
    entity_key: str = Field(max_length=256)
    display_name: str = ""
    state: str = Field(max_length=16)
    action: str = Field(default="NONE", max_length=16)
    reason: str | None = None
    differences: list[dict[str, Any]] = _json(list)
    target_id: str | None = None
    managed_members: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """For a group: the target ids of the members provisync manages in it (merge mode)."""
    decision: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The compact reason trail of the last decision (see :mod:`provisync.engine.trail`)."""
    write_back_ok: bool | None = None
    write_back_reason: str | None = None
    write_back_at: datetime | None = _ts(default=None)
    # What the last write-back tried to write: {attribute: value}, values as text.
    write_back_attributes: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    updated_at: datetime = _ts(default_factory=utcnow)


class RuleCounts(SQLModel, table=True):
    """Tallies of :class:`EntitySyncState` per rule and kind, kept by the engine."""

    __tablename__ = "rule_counts"

    rule_id: int = Field(foreign_key="rule.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(primary_key=True, max_length=8)
    success: int = 0
    unsynced: int = 0
    partial: int = 0
    failed: int = 0
    write_back_failures: int = 0


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_run_rule_id", "rule_id", "id"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="rule.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    processed: int = 0
    total: int | None = None
    counts: dict[str, int] = _json(dict)
    error: str | None = None
    started_by: str = "system"
    reason: str | None = Field(default=None, max_length=120)
    """Why the run was started, in words ("the rule was enabled"); None: requested as such."""
    checkpoint: dict[str, Any] = _json(dict)
    """Where a run resumes when a worker died in the middle of it (full outbound resyncs)."""
    queued_at: datetime = _ts(default_factory=utcnow)
    started_at: datetime | None = _ts(default=None)
    finished_at: datetime | None = _ts(default=None)


class RunChunk(SQLModel, table=True):
    """A range of directory users of a split full resync (see :mod:`provisync.scaleout.chunks`)."""

    __tablename__ = "run_chunk"
    __table_args__ = (UniqueConstraint("run_id", "position"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="sync_run.id", ondelete="CASCADE")
    position: int
    after_user_id: int
    """The chunk holds the users with ``after_user_id < id <= last_user_id``."""
    last_user_id: int
    done_through: int
    """Checkpoint: the users up to this id are pushed and recorded."""
    status: str = Field(default="TODO", max_length=8)
    """TODO, RUNNING (claimed by ``owner`` until ``lease_until``), DONE or FAILED."""
    owner: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = _ts(default=None)
    error: str | None = None


class EntityRetry(SQLModel, table=True):
    """An entity whose change could not be applied, waiting for its next attempt.

    The engine alone writes these: an outbound push (``PUSH``) or a write-back to the source
    (``WRITE_BACK``) that failed is retried with growing backoff until it succeeds or a full
    resync settles it.
    """

    __tablename__ = "entity_retry"
    __table_args__ = (
        UniqueConstraint("rule_id", "kind", "entity_key", name="uq_retry_entity"),
        Index("ix_retry_due", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="rule.id", ondelete="CASCADE")
    kind: str = Field(max_length=8)
    entity_key: str = Field(max_length=256)
    display_name: str = ""
    operation: str = Field(max_length=16)
    fields: list[str] = _json(list)
    """Write-backs: the attributes still to write back (empty: all the rule writes back)."""
    attempts: int = 0
    """Attempts that failed so far (the first push counts)."""
    last_error: str | None = None
    next_attempt_at: datetime = _ts()
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_rule_kind", "rule_id", "kind", "id"),
        Index("ix_audit_rule", "rule_id", "id"),
        Index("ix_audit_created", "created_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int | None = Field(default=None)
    run_id: int | None = Field(default=None)
    kind: str | None = Field(default=None, max_length=8)
    entity_key: str | None = None
    entity_name: str | None = None
    operation: str = Field(max_length=32)
    outcome: str = Field(max_length=16)
    message: str | None = None
    actor: str = "system"
    created_at: datetime = _ts(default_factory=utcnow)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model: bulk inserts through it skip the ORM's per-row work."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


class ApiToken(SQLModel, table=True):
    """An API token: only the SHA-256 of the token is stored; it is shown once, at creation."""

    __tablename__ = "api_token"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused (Relay global ids)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=128)
    role: str = Field(max_length=16)
    hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts(default_factory=utcnow)
    revoked_at: datetime | None = _ts(default=None)
    last_used_at: datetime | None = _ts(default=None)


class HeldOperation(SQLModel, table=True):
    """A disable or delete that deletion protection held back, until released or discarded."""

    __tablename__ = "held_operation"
    __table_args__ = (
        Index("ix_held_rule_status", "rule_id", "status", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="rule.id", ondelete="CASCADE")
    run_id: int | None = Field(default=None)
    kind: str = Field(max_length=8)
    entity_key: str = Field(max_length=256)
    display_name: str = ""
    target_id: str | None = None
    action: str = Field(max_length=16)
    status: str = Field(default="HELD", max_length=16)
    created_at: datetime = _ts(default_factory=utcnow)
    resolved_at: datetime | None = _ts(default=None)
    resolved_by: str | None = None


class PreviewItem(SQLModel, table=True):
    """What a preview (dry run) found a full resync would do to one entity."""

    __tablename__ = "preview_item"
    __table_args__ = (
        Index("ix_preview_run_action", "run_id", "action", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="sync_run.id", ondelete="CASCADE")
    kind: str = Field(max_length=8)
    entity_key: str = Field(max_length=256)
    display_name: str = ""
    action: str = Field(max_length=16)
    state: str = Field(max_length=16)
    reason: str | None = None
    differences: list[dict[str, Any]] = _json(list)


class WebhookSubscription(SQLModel, table=True):
    """Where notifications go: a URL, the event types it wants, its signing secret (encrypted)."""

    __tablename__ = "webhook_subscription"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2048)
    events: list[str] = _json(list)
    secret: str = Field(repr=False)
    """``enc:v1:...``: the Standard Webhooks secret, encrypted like connection secrets."""
    description: str | None = None
    enabled: bool = True
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class NotificationEvent(SQLModel, table=True):
    """An event the engine enqueued for webhooks (an outbox row), fanned out by the notifier."""

    __tablename__ = "notification_event"
    __table_args__ = (
        Index("ix_notification_pending", "dispatched_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=64)
    rule_id: int | None = Field(default=None)
    run_id: int | None = Field(default=None)
    data: dict[str, Any] = _json(dict)
    created_at: datetime = _ts(default_factory=utcnow)
    dispatched_at: datetime | None = _ts(default=None)


class WebhookDelivery(SQLModel, table=True):
    """One event sent (or to send) to one subscription, with its attempts."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_subscription", "subscription_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id", ondelete="CASCADE")
    event_id: int = Field(foreign_key="notification_event.id", ondelete="CASCADE")
    event_type: str = Field(max_length=64)
    status: str = Field(default="PENDING", max_length=16)
    """PENDING (first attempt due), RETRYING, DELIVERED, or FAILED (gave up)."""
    attempts: int = 0
    last_error: str | None = None
    last_status_code: int | None = None
    next_attempt_at: datetime | None = _ts(default_factory=utcnow)
    created_at: datetime = _ts(default_factory=utcnow)
    delivered_at: datetime | None = _ts(default=None)
