"""The shared summary resolver: one per rule, from stored tallies, for every connector."""

from __future__ import annotations

from datetime import datetime

import strawberry

from connectors import Capability, EntityKind
from gql.context import Info
from gql.store.models import Rule as RuleRow
from gql.store.models import RuleCounts
from gql.types.audit_event import AuditEventConnection, audit_log
from gql.types.common import aware


@strawberry.type
class EntitySummary:
    impacted: int = strawberry.field(description="Entities in the rule's scope at its source.")
    success: int
    unsynced: int
    partial_synced: int
    failed: int
    write_back_failures: int | None = strawberry.field(
        description="Users whose last write-back failed; null unless the connector writes back."
    )
    rule_id: strawberry.Private[int]
    kind: strawberry.Private[str]

    @strawberry.field(description="This kind's audit log, newest first.")
    async def audit_log(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> AuditEventConnection:
        return await audit_log(info, self.rule_id, self.kind, first, after)


@strawberry.type
class SyncSummary:
    users: EntitySummary
    groups: EntitySummary
    last_sync: datetime | None


def _entity_summary(
    rule_id: int, kind: EntityKind, counts: RuleCounts | None, writes_back: bool
) -> EntitySummary:
    c = counts or RuleCounts(rule_id=rule_id, kind=kind.value)
    return EntitySummary(
        impacted=c.success + c.unsynced + c.partial + c.failed,
        success=c.success,
        unsynced=c.unsynced,
        partial_synced=c.partial,
        failed=c.failed,
        write_back_failures=c.write_back_failures if writes_back and kind is EntityKind.USER else None,
        rule_id=rule_id,
        kind=kind.value,
    )


async def summary_for_rule(info: Info, rule: RuleRow) -> SyncSummary | None:
    """The summary of a rule (null while disabled), batched across rules by DataLoaders."""
    if not rule.enabled or rule.id is None:
        return None
    counts = await info.context.rule_counts.load(rule.id)
    connection = await info.context.connections.load(rule.connection_id)
    ctype = info.context.services.registry.get(connection.connector_type) if connection else None
    writes_back = ctype is not None and Capability.WRITE_BACK in ctype.capabilities
    return SyncSummary(
        users=_entity_summary(rule.id, EntityKind.USER, counts.get("USER"), writes_back),
        groups=_entity_summary(rule.id, EntityKind.GROUP, counts.get("GROUP"), False),
        last_sync=aware(rule.last_sync_at),
    )
