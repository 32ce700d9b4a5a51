"""Rule: what to sync where, how it is doing, and its history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry
from sqlalchemy import and_
from sqlmodel import col, select
from strawberry import relay
from strawberry.scalars import JSON

from provisync.api.context import Info, peek
from provisync.api.types.audit_event import AuditEventConnection
from provisync.api.types.audit_log import (
    audit_filter_args,
    audit_log,
    filter_operation,
    filter_outcome,
    filter_search,
)
from provisync.api.types.common import aware
from provisync.api.types.connection import ProvisioningConnection
from provisync.api.types.controls import (
    DeletionProtection,
    HeldOperationConnection,
    HeldOperationStatus,
    Quarantine,
    held_operations,
)
from provisync.api.types.entity_retry import EntityRetryConnection, retry_queue
from provisync.api.types.entity_state import EntityStateConnection, EntityStateNode, WriteBackStatus
from provisync.api.types.enums import (
    DeprovisionActionEnum,
    EndpointKind,
    EntityKindEnum,
    EntitySyncState,
    SyncDirection,
    SyncStatus,
)
from provisync.api.types.mapping import AttributeMapping, legacy_view, mapping_nodes
from provisync.api.types.pagination import CountedConnection, paginate
from provisync.api.types.summary import SyncSummary, prefetch_rules, summary_for_rule
from provisync.api.types.sync_run import SyncRun as SyncRunNode
from provisync.api.types.sync_run import SyncRunConnection
from provisync.store.models import EntitySyncState as StateRow
from provisync.store.models import HeldOperation as HeldRow
from provisync.store.models import ProvisioningConnection as ProvisioningConnectionRow
from provisync.store.models import Rule as RuleRow
from provisync.store.models import SyncRun as RunRow


@strawberry.type
class Endpoint:
    """One side of a rule: the directory, or a provisioning connection."""

    name: str
    kind: EndpointKind
    connection: ProvisioningConnection | None


@strawberry.type
class Rule(relay.Node):
    id: relay.NodeID[int]
    name: str
    enabled: bool
    direction: SyncDirection  # type: ignore[valid-type]
    user_filter: str | None
    group_ids: list[relay.GlobalID] = strawberry.field(
        description="The directory groups this rule syncs (which groups, not which users: "
        "users come from userFilter)."
    )
    attribute_mappings: JSON = strawberry.field(
        deprecation_reason="Use mappings: entries with fields, constants and expressions."
    )
    deprovision_action: DeprovisionActionEnum  # type: ignore[valid-type]
    poll_interval_seconds: int
    last_run_error: str | None = strawberry.field(description="Why the last run failed, if it did.")
    row: strawberry.Private[RuleRow]

    @classmethod
    def from_row(cls, row: RuleRow) -> Rule:
        return cls(
            id=row.id or 0,
            name=row.name,
            enabled=row.enabled,
            direction=row.direction,  # type: ignore[arg-type]
            user_filter=row.user_filter,
            group_ids=[relay.GlobalID("DirectoryGroup", str(g)) for g in row.group_ids],
            attribute_mappings=legacy_view(row.mappings),
            deprovision_action=row.deprovision_action,  # type: ignore[arg-type]
            poll_interval_seconds=row.poll_interval_seconds,
            last_run_error=row.last_run_error if row.last_run_status == "FAILED" else None,
            row=row,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Rule | None]:
        rows = await info.context.rules.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="Attribute mappings, one entry per target attribute.")
    def mappings(self) -> list[AttributeMapping]:
        return mapping_nodes(self.row.mappings)

    @strawberry.field
    def status(self) -> SyncStatus:
        if not self.row.enabled:
            return SyncStatus.INACTIVE
        if self.row.last_run_status == "FAILED" or self.row.quarantined_at is not None:
            return SyncStatus.FAILED
        return SyncStatus.ACTIVE

    @strawberry.field
    def deletion_protection(self) -> DeletionProtection:
        return DeletionProtection.of(self.row)

    @strawberry.field(description="Set while the rule's runs keep failing; null otherwise.")
    def quarantine(self) -> Quarantine | None:
        return Quarantine.of(self.row)

    @strawberry.field(description="Disables and deletes deletion protection held, oldest first.")
    async def held_operations(
        self,
        info: Info,
        status: HeldOperationStatus | None = HeldOperationStatus.HELD,
        first: int | None = None,
        after: str | None = None,
    ) -> HeldOperationConnection:
        where = [col(HeldRow.rule_id) == self.id]
        if status is not None:
            where.append(col(HeldRow.status) == status.value)
        return await held_operations(info, and_(*where), first, after)

    @strawberry.field(description="When the rule last synced successfully.")
    def last_sync(self) -> datetime | None:
        return aware(self.row.last_sync_at)

    def _connection(
        self, info: Info
    ) -> ProvisioningConnectionRow | Awaitable[ProvisioningConnectionRow | None] | None:
        found, row = peek(info.context.connections, self.row.connection_id)
        return row if found else info.context.connections.load(self.row.connection_id)

    def _endpoint(self, info: Info, directory_side: str) -> Endpoint | Awaitable[Endpoint]:
        if self.row.direction == directory_side:
            return Endpoint(name="Directory", kind=EndpointKind.DIRECTORY, connection=None)
        row = self._connection(info)
        if isinstance(row, Awaitable):
            return _later(row, _connection_endpoint)
        return _connection_endpoint(row)

    @strawberry.field
    def source(self, info: Info) -> Endpoint:
        return self._endpoint(info, "OUTBOUND")  # type: ignore[return-value]

    @strawberry.field
    def target(self, info: Info) -> Endpoint:
        return self._endpoint(info, "INBOUND")  # type: ignore[return-value]

    @strawberry.field
    def connection(self, info: Info) -> ProvisioningConnection | None:
        row = self._connection(info)
        if isinstance(row, Awaitable):
            return _later(row, _connection_node)  # type: ignore[return-value]
        return _connection_node(row)

    @strawberry.field(description="Null while the rule is disabled.")
    def summary(self, info: Info) -> SyncSummary | None:
        return summary_for_rule(info, self.row)  # type: ignore[return-value]

    @strawberry.field(
        description="Where each impacted user and group stands; the filters narrow it, all "
        "together. writeBack: FAILED lists the users whose last write-back failed."
    )
    async def entity_states(
        self,
        info: Info,
        kind: EntityKindEnum | None = None,  # type: ignore[valid-type]
        state: EntitySyncState | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
        write_back: Annotated[
            WriteBackStatus | None,
            strawberry.argument(description="Only users whose last write-back went this way."),
        ] = None,
    ) -> EntityStateConnection:
        statement = select(StateRow).where(StateRow.rule_id == self.id)
        if write_back is not None:
            statement = statement.where(
                col(StateRow.write_back_ok).is_(write_back is WriteBackStatus.OK)
            )
        if kind is not None:
            statement = statement.where(StateRow.kind == kind.value)
        if state is not None:
            statement = statement.where(StateRow.state == state.value)
        return await paginate(  # type: ignore[return-value]
            info,
            statement,
            StateRow.id,
            EntityStateNode.from_row,
            EntityStateConnection,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="Entities whose push or write-back failed and waits for its next "
        "attempt, oldest first."
    )
    async def retry_queue(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> EntityRetryConnection:
        return await retry_queue(info, self.id, first, after)

    @strawberry.field(description="Runs, newest first.")
    async def runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> SyncRunConnection:
        statement = select(RunRow).where(RunRow.rule_id == self.id)
        return await paginate(  # type: ignore[return-value]
            info,
            statement,
            RunRow.id,
            SyncRunNode.from_row,
            SyncRunConnection,
            first=first,
            after=after,
            descending=True,
        )

    @strawberry.field(
        description="Everything recorded for this rule, newest first (failures first among "
        "events of the same moment); the filters narrow it, all together."
    )
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        outcome: Annotated[str | None, filter_outcome] = None,
        operation: Annotated[str | None, filter_operation] = None,
        entity_kind: Annotated[
            EntityKindEnum | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only events about users, or about groups."),
        ] = None,
        search: Annotated[str | None, filter_search] = None,
    ) -> AuditEventConnection:
        kind = entity_kind.value if entity_kind is not None else None
        where = audit_filter_args(outcome, operation, search, kind)
        return await audit_log(info, self.id, where, first, after)

    @strawberry.field
    def created_at(self) -> datetime:
        return aware(self.row.created_at) or self.row.created_at


@strawberry.type
class RuleConnection(CountedConnection[Rule]):
    pass


async def list_rules(info: Info, first: int | None, after: str | None) -> RuleConnection:
    return await paginate(  # type: ignore[return-value]
        info,
        select(RuleRow),
        RuleRow.id,
        Rule.from_row,
        RuleConnection,
        first=first,
        after=after,
        on_page=prefetch_rules,
    )


T = TypeVar("T")
R = TypeVar("R")


async def _later(value: Awaitable[T], then: Callable[[T], R]) -> R:
    return then(await value)


def _connection_endpoint(row: ProvisioningConnectionRow | None) -> Endpoint:
    return Endpoint(
        name=row.name if row else "(deleted)",
        kind=EndpointKind.CONNECTION,
        connection=_connection_node(row),
    )


def _connection_node(row: ProvisioningConnectionRow | None) -> ProvisioningConnection | None:
    return ProvisioningConnection.from_row(row) if row else None
