"""Operator controls: previewFullResync, provisionOnDemand, release and discard held operations.

Each checks the caller's role first, then its input, and writes nothing when it refuses.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from provisync.api.context import Info
from provisync.api.security.guards import forbidden
from provisync.api.types.common import node_pk
from provisync.api.types.controls import ProvisionStep, ProvisionStepStatus
from provisync.api.types.errors import (
    ConnectorNotInstalledError,
    ForbiddenError,
    NotFoundError,
    UnsupportedError,
    ValidationError,
    connector_missing,
    invalid,
    not_found,
)
from provisync.api.types.rule import Rule
from provisync.api.types.sync_run import SyncRun
from provisync.engine.engine import RunKind
from provisync.security.roles import Role
from provisync.store.models import DirectoryGroup, DirectoryUser
from provisync.store.models import ProvisioningConnection as ConnectionRow
from provisync.store.models import Rule as RuleRow
from provisync_sdk import Direction

PreviewResult = Annotated[
    SyncRun | NotFoundError | UnsupportedError | ConnectorNotInstalledError | ForbiddenError,
    strawberry.union("PreviewResult"),
]


@strawberry.input
class ProvisionOnDemandInput:
    rule_id: relay.GlobalID
    user_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A directory user (give this or groupId)."
    )
    group_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A directory group of the rule, synced with its members."
    )


@strawberry.type
class ProvisionOnDemandPayload:
    run: SyncRun = strawberry.field(description="The ON_DEMAND run, with its outcomes.")
    steps: list[ProvisionStep]


ProvisionOnDemandResult = Annotated[
    ProvisionOnDemandPayload
    | NotFoundError
    | ValidationError
    | UnsupportedError
    | ConnectorNotInstalledError
    | ForbiddenError,
    strawberry.union("ProvisionOnDemandResult"),
]


@strawberry.type
class HeldOperationsPayload:
    rule: Rule
    count: int = strawberry.field(
        description="How many held operations were released or discarded."
    )
    run: SyncRun | None = strawberry.field(
        description="The RELEASE run applying released operations (null when none were held)."
    )


HeldOperationsResult = Annotated[
    HeldOperationsPayload | NotFoundError | ForbiddenError,
    strawberry.union("HeldOperationsResult"),
]


async def _rule(
    info: Info, rule_id: relay.GlobalID
) -> tuple[RuleRow, ConnectionRow | None] | NotFoundError:
    pk = node_pk(rule_id, "Rule")
    if isinstance(pk, NotFoundError):
        return pk
    async with info.context.db.session() as session:
        rule = await session.get(RuleRow, pk)
        if rule is None:
            return not_found("Rule", rule_id)
        return rule, await session.get(ConnectionRow, rule.connection_id)


async def preview_full_resync(info: Info, rule_id: relay.GlobalID) -> PreviewResult:
    """Compute what a full resync would do, writing nothing but the preview itself.

    The answer is a PREVIEW run; follow it like any run, then page through its
    ``previewItems``. Works on disabled rules too (preview before enabling).
    """
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    found = await _rule(info, rule_id)
    if isinstance(found, NotFoundError):
        return found
    rule, connection = found
    engine = info.context.services.engine
    if connection is None or info.context.services.registry.get(connection.connector_type) is None:
        return connector_missing(connection.connector_type if connection else "?")
    if rule.direction == Direction.OUTBOUND.value and not engine.can_preview(
        connection.connector_type
    ):
        return UnsupportedError(
            message=f"connector type {connection.connector_type!r} cannot preview a resync",
            code="PREVIEW_UNSUPPORTED",
        )
    assert rule.id is not None
    run = await engine.request_run(rule.id, RunKind.PREVIEW, actor=info.context.actor)
    return SyncRun.from_row(run)


async def provision_on_demand(info: Info, input: ProvisionOnDemandInput) -> ProvisionOnDemandResult:
    """Sync one directory user, or one group with its members, of an outbound rule now.

    Returns within seconds with the steps taken (scope, match, action, outcome) and the run,
    which leaves the same states and audit events as a full resync. Works on a disabled rule
    too, to try a rule on one user before enabling it.
    """
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    if (input.user_id is None) == (input.group_id is None):
        return invalid(("userId", "give exactly one of userId and groupId"))
    target = input.user_id if input.user_id is not None else input.group_id
    type_name = "DirectoryUser" if input.user_id is not None else "DirectoryGroup"
    entity_pk = node_pk(target, type_name)  # type: ignore[arg-type]
    if isinstance(entity_pk, NotFoundError):
        return entity_pk
    found = await _rule(info, input.rule_id)
    if isinstance(found, NotFoundError):
        return found
    rule, connection = found
    assert rule.id is not None
    async with info.context.db.session() as session:
        entity = await session.get(DirectoryUser if input.user_id else DirectoryGroup, entity_pk)
    if entity is None:
        return not_found(type_name, target)
    if rule.direction != Direction.OUTBOUND.value:
        return UnsupportedError(
            message="provisioning on demand is for outbound rules; resync an inbound rule",
            code="UNSUPPORTED",
        )
    if connection is None or info.context.services.registry.get(connection.connector_type) is None:
        return connector_missing(connection.connector_type if connection else "?")
    run, steps = await info.context.services.engine.provision_on_demand(
        rule.id,
        user_id=entity_pk if input.user_id is not None else None,
        group_id=entity_pk if input.group_id is not None else None,
        actor=info.context.actor,
    )
    return ProvisionOnDemandPayload(
        run=SyncRun.from_row(run),
        steps=[
            ProvisionStep(name=s.name, status=ProvisionStepStatus(s.status.value), detail=s.detail)
            for s in steps
        ],
    )


async def release_held_operations(info: Info, rule_id: relay.GlobalID) -> HeldOperationsResult:
    """Apply the disables and deletes deletion protection held for a rule (audited)."""
    return await _resolve_held(info, rule_id, release=True)


async def discard_held_operations(info: Info, rule_id: relay.GlobalID) -> HeldOperationsResult:
    """Drop a rule's held disables and deletes: the accounts stay as they are at the target."""
    return await _resolve_held(info, rule_id, release=False)


async def _resolve_held(
    info: Info, rule_id: relay.GlobalID, *, release: bool
) -> HeldOperationsResult:
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    found = await _rule(info, rule_id)
    if isinstance(found, NotFoundError):
        return found
    rule = found[0]
    assert rule.id is not None
    engine, actor = info.context.services.engine, info.context.actor
    if release:
        count, run = await engine.release_held(rule.id, actor)
    else:
        count, run = await engine.discard_held(rule.id, actor), None
    return HeldOperationsPayload(
        rule=Rule.from_row(rule), count=count, run=SyncRun.from_row(run) if run else None
    )
