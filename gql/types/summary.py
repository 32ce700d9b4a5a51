"""The shared summary resolver: one per rule, from stored tallies, for every connector."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Annotated

import strawberry

from connectors import Capability, EntityKind
from gql.context import Info, peek
from gql.loaders import load_connections, load_rule_counts
from gql.store.models import ProvisioningConnection, RuleCounts
from gql.store.models import Rule as RuleRow
from gql.types.audit_event import AuditEventConnection
from gql.types.audit_log import (
    audit_filter_args,
    audit_log,
    filter_operation,
    filter_outcome,
    filter_search,
)
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

    @strawberry.field(
        description="This kind's audit log, newest first (failures first among events of the "
        "same moment); the filters narrow it, all together."
    )
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        outcome: Annotated[str | None, filter_outcome] = None,
        operation: Annotated[str | None, filter_operation] = None,
        search: Annotated[str | None, filter_search] = None,
    ) -> AuditEventConnection:
        where = audit_filter_args(outcome, operation, search, self.kind)
        return await audit_log(info, self.rule_id, where, first, after)


@strawberry.type
class SyncSummary:
    users: EntitySummary
    groups: EntitySummary
    last_sync: datetime | None


def _entity_summary(
    rule_id: int, kind: EntityKind, counts: RuleCounts | None, writes_back: bool
) -> EntitySummary:
    success, unsynced, partial, failed, wb_failures = (
        (counts.success, counts.unsynced, counts.partial, counts.failed, counts.write_back_failures)
        if counts is not None
        else (0, 0, 0, 0, 0)
    )
    return EntitySummary(
        impacted=success + unsynced + partial + failed,
        success=success,
        unsynced=unsynced,
        partial_synced=partial,
        failed=failed,
        write_back_failures=wb_failures if writes_back and kind is EntityKind.USER else None,
        rule_id=rule_id,
        kind=kind.value,
    )


def summary_for_rule(
    info: Info, rule: RuleRow
) -> SyncSummary | Awaitable[SyncSummary | None] | None:
    """The summary of a rule (null while disabled), batched across rules by DataLoaders.

    When a page of rules was prefetched (see ``prefetch_rules``) the answer is built at once,
    without a coroutine per rule: on a page of rules that per-rule await was most of the cost.
    """
    if not rule.enabled or rule.id is None:
        return None
    has_counts, counts = peek(info.context.rule_counts, rule.id)
    has_connection, connection = peek(info.context.connections, rule.connection_id)
    if has_counts and has_connection:
        return _build(info, rule, counts, connection)
    return _load_and_build(info, rule)


async def _load_and_build(info: Info, rule: RuleRow) -> SyncSummary:
    assert rule.id is not None
    counts = await info.context.rule_counts.load(rule.id)
    connection = await info.context.connections.load(rule.connection_id)
    return _build(info, rule, counts, connection)


async def prefetch_rules(info: Info, rules: Sequence[RuleRow]) -> None:
    """Load the tallies and connections of a page of rules: two statements for the page."""
    ids = [r.id for r in rules if r.id is not None and r.enabled]
    connection_ids = sorted({r.connection_id for r in rules})
    if ids:
        info.context.rule_counts.prime_many(
            dict(zip(ids, await load_rule_counts(info.context.reader, ids), strict=True))
        )
    if connection_ids:
        rows = await load_connections(info.context.reader, connection_ids)
        info.context.connections.prime_many(dict(zip(connection_ids, rows, strict=True)))


def _build(
    info: Info,
    rule: RuleRow,
    counts: dict[str, RuleCounts],
    connection: ProvisioningConnection | None,
) -> SyncSummary:
    assert rule.id is not None
    ctype = info.context.services.registry.get(connection.connector_type) if connection else None
    writes_back = ctype is not None and Capability.WRITE_BACK in ctype.capabilities
    return SyncSummary(
        users=_entity_summary(rule.id, EntityKind.USER, counts.get("USER"), writes_back),
        groups=_entity_summary(rule.id, EntityKind.GROUP, counts.get("GROUP"), False),
        last_sync=aware(rule.last_sync_at),
    )
