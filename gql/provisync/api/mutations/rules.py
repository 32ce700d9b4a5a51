"""Create, update and delete rules. Every check runs before anything is written."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy import delete, func
from sqlmodel import col, select
from strawberry import relay
from strawberry.scalars import JSON

from provisync.api.context import Info
from provisync.api.mutations.common import parse_ids
from provisync.api.mutations.connections import DeletePayload, DeleteResult
from provisync.api.mutations.edge import NAME_MAX, TEXT_MAX, text_problem
from provisync.api.mutations.mapping_input import (
    check_mappings,
    confirm_with_target,
    given_mappings,
)
from provisync.api.mutations.rule_dry_run import dry_run_update
from provisync.api.security.guards import forbidden
from provisync.api.types.common import node_pk
from provisync.api.types.controls import DeletionProtectionInput
from provisync.api.types.enums import DeprovisionActionEnum, SyncDirection
from provisync.api.types.errors import (
    ConflictError,
    ConnectorNotInstalledError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
    conflict,
    connector_missing,
    invalid,
    not_found,
)
from provisync.api.types.mapping import AttributeMappingInput
from provisync.api.types.rule import Rule
from provisync.api.types.rule_change_preview import RuleChangePreview
from provisync.engine.recorder import admin_event
from provisync.engine.scope import InvalidFilter, compile_scope
from provisync.security.roles import Role
from provisync.store.models import DirectoryGroup as GroupRow
from provisync.store.models import EntitySyncState, RuleCounts, SyncRun, utcnow
from provisync.store.models import ProvisioningConnection as ConnectionRow
from provisync.store.models import Rule as RuleRow
from provisync_sdk import DeprovisionAction, Direction

RuleResult = Annotated[
    Rule
    | NotFoundError
    | ValidationError
    | ConnectorNotInstalledError
    | ForbiddenError
    | ConflictError
    | RuleChangePreview,
    strawberry.union("RuleResult"),
]
MIN_POLL_SECONDS = 10


@strawberry.input
class CreateRuleInput:
    name: str
    connection_id: relay.GlobalID
    direction: SyncDirection  # type: ignore[valid-type]
    enabled: bool = strawberry.field(
        default=False,
        description="Create it enabled: that starts a full resync at once (a run to follow).",
    )
    user_filter: str | None = strawberry.field(
        default=None, description='SCIM filter over user attributes, e.g. department eq "Sales".'
    )
    group_ids: list[relay.GlobalID] = strawberry.field(
        default_factory=list,
        description="The directory groups this rule syncs to the target (created there, "
        "with their members). They choose which GROUPS are synced, not which users: users "
        "come from userFilter (every directory user when it is empty).",
    )
    attribute_mappings: JSON | None = strawberry.field(
        default=None,
        description='Canonical attribute → directory field, e.g. {"title": "department"}.',
        deprecation_reason="Use mappings.",
    )
    mappings: list[AttributeMappingInput] | None = strawberry.field(
        default=None,
        description="Attribute mapping entries; null: the defaults (see docs/mappings.md).",
    )
    deprovision_action: DeprovisionActionEnum = DeprovisionAction.DISABLE  # type: ignore[valid-type]
    poll_interval_seconds: int = 900
    deletion_protection: DeletionProtectionInput | None = strawberry.field(
        default=None,
        description="Hold a run's disables and deletes beyond a count or a percentage.",
    )


@strawberry.input
class UpdateRuleInput:
    id: relay.GlobalID
    name: str | None = strawberry.UNSET
    user_filter: str | None = strawberry.UNSET
    group_ids: list[relay.GlobalID] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The directory groups this rule syncs to the target (created there, "
        "with their members). They choose which GROUPS are synced, not which users: users "
        "come from userFilter (every directory user when it is empty).",
    )
    attribute_mappings: JSON | None = strawberry.field(
        default=strawberry.UNSET, deprecation_reason="Use mappings."
    )
    mappings: list[AttributeMappingInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The whole list of entries (replaces it)."
    )
    deprovision_action: DeprovisionActionEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    poll_interval_seconds: int | None = strawberry.UNSET
    deletion_protection: DeletionProtectionInput | None = strawberry.UNSET
    dry_run: bool = strawberry.field(
        default=False,
        description="Answer what the change would do (a RuleChangePreview) and save nothing.",
    )


def _mappings(entries: Any, legacy: Any, current: list[dict[str, Any]]) -> Any:
    """The entries asked for, or ``("problems", [...])`` when the legacy input is malformed."""
    given = given_mappings(entries, legacy, current)
    if given and isinstance(given[0], tuple):
        return ("problems", given)
    return given


def _protection(given: DeletionProtectionInput | None) -> dict[str, Any]:
    """The rule columns of a deletion protection input (None turns protection off)."""
    if given is None:
        return {"deletion_max_count": None, "deletion_max_percent": None}
    return {"deletion_max_count": given.max_count, "deletion_max_percent": given.max_percent}


async def _check(
    info: Info,
    session: Any,
    values: dict[str, Any],
    connection: ConnectionRow,
    stored_mappings: list[dict[str, Any]] | None = None,
) -> ValidationError | ConnectorNotInstalledError | None:
    ctype = info.context.services.registry.get(connection.connector_type)
    if ctype is None:
        return connector_missing(connection.connector_type)
    problems: list[tuple[str, str]] = []
    if not values["name"].strip():
        problems.append(("name", "must not be empty"))
    for field, value, limit in (
        ("name", values["name"], NAME_MAX),
        ("userFilter", values["user_filter"], TEXT_MAX),
    ):
        if isinstance(value, str) and (problem := text_problem(value, limit)):
            problems.append((field, problem))
    direction = Direction(values["direction"])
    if direction not in ctype.directions:
        problems.append(
            ("direction", f"connector {ctype.name!r} does not support {direction.value}")
        )
    try:
        compile_scope(values["user_filter"])
    except InvalidFilter as exc:
        problems.append(("userFilter", str(exc)))
    given = values["mappings"]
    if isinstance(given, tuple):  # the deprecated input's problems
        problems += given[1]
    else:
        values["mappings"], mapping_problems = check_mappings(ctype, direction, given)
        changed = values["mappings"] != stored_mappings
        if not mapping_problems and changed and direction is Direction.OUTBOUND:
            services = info.context.services
            mapping_problems = await confirm_with_target(
                services, connection, ctype, values["mappings"]
            )
        problems += mapping_problems
    max_count, max_percent = values["deletion_max_count"], values["deletion_max_percent"]
    if max_count is not None and max_count < 0:
        problems.append(("deletionProtection.maxCount", "must not be negative"))
    if max_percent is not None and not 0 <= max_percent <= 100:
        problems.append(("deletionProtection.maxPercent", "must be between 0 and 100"))
    if values["poll_interval_seconds"] < MIN_POLL_SECONDS:
        problems.append(("pollIntervalSeconds", f"must be at least {MIN_POLL_SECONDS}"))
    group_ids = values["group_ids"]
    if group_ids and direction is Direction.INBOUND:
        problems.append(("groupIds", "inbound rules read users only; select no groups"))
    elif group_ids:
        found = await session.scalar(
            select(func.count()).select_from(GroupRow).where(col(GroupRow.id).in_(group_ids))
        )  # type: ignore[union-attr]
        if found != len(set(group_ids)):
            problems.append(("groupIds", "unknown directory group"))
    return invalid(*problems) if problems else None


async def _name_conflict(
    session: Any, name: str, except_id: int | None = None
) -> ConflictError | None:
    """A conflict when another rule has this name, in any case (people tell rules apart by it)."""
    statement = (
        select(func.count())
        .select_from(RuleRow)
        .where(func.lower(RuleRow.name) == name.strip().lower())
    )
    if except_id is not None:
        statement = statement.where(RuleRow.id != except_id)
    if await session.scalar(statement):
        return conflict(f"a rule named {name.strip()!r} exists")
    return None


async def create_rule(info: Info, input: CreateRuleInput) -> RuleResult:
    if denied := forbidden(info, Role.ADMIN):
        return denied
    connection_pk = node_pk(input.connection_id, "ProvisioningConnection")
    if isinstance(connection_pk, NotFoundError):
        return connection_pk
    group_ids = parse_ids(input.group_ids, "DirectoryGroup", "groupIds")
    if isinstance(group_ids, ValidationError):
        return group_ids
    values: dict[str, Any] = {
        "name": input.name,
        "direction": Direction(input.direction).value,
        "user_filter": input.user_filter,
        "group_ids": group_ids,
        "mappings": _mappings(input.mappings, input.attribute_mappings, []),
        "deprovision_action": DeprovisionAction(input.deprovision_action).value,
        "poll_interval_seconds": input.poll_interval_seconds,
        **_protection(input.deletion_protection),
    }
    async with info.context.db.session() as session:
        connection = await session.get(ConnectionRow, connection_pk)
        if connection is None:
            return not_found("ProvisioningConnection", input.connection_id)
        error = await _check(info, session, values, connection)
        if error is not None:
            return error
        if taken := await _name_conflict(session, values["name"]):
            return taken
        row = RuleRow(
            **{**values, "name": values["name"].strip()},
            connection_id=connection_pk,
            enabled=input.enabled,
        )
        session.add(row)
        await session.flush()
        session.add(
            admin_event(
                operation="CREATE_RULE",
                message=f"rule {row.name!r} created",
                actor=info.context.actor,
                rule_id=row.id,
            )
        )
        await session.commit()
    if row.enabled:
        from provisync.engine.engine import RunKind

        assert row.id is not None
        await info.context.services.engine.request_run(
            row.id, RunKind.FULL, actor=info.context.actor, reason="the rule was created"
        )
    return Rule.from_row(row)


async def update_rule(info: Info, input: UpdateRuleInput) -> RuleResult:
    if denied := forbidden(info, Role.ADMIN):
        return denied
    pk = node_pk(input.id, "Rule")
    if isinstance(pk, NotFoundError):
        return pk
    async with info.context.db.session() as session:
        row = await session.get(RuleRow, pk)
        if row is None:
            return not_found("Rule", input.id)
        values = {
            "name": row.name,
            "direction": row.direction,
            "user_filter": row.user_filter,
            "group_ids": list(row.group_ids),
            "mappings": _mappings(input.mappings, input.attribute_mappings, list(row.mappings)),
            "deprovision_action": row.deprovision_action,
            "poll_interval_seconds": row.poll_interval_seconds,
            "deletion_max_count": row.deletion_max_count,
            "deletion_max_percent": row.deletion_max_percent,
        }
        if input.deletion_protection is not strawberry.UNSET:
            values.update(_protection(input.deletion_protection))
        if input.name is not strawberry.UNSET and input.name is not None:
            values["name"] = input.name
        if input.user_filter is not strawberry.UNSET:
            values["user_filter"] = input.user_filter
        if input.group_ids is not strawberry.UNSET:
            group_ids = parse_ids(input.group_ids or [], "DirectoryGroup", "groupIds")
            if isinstance(group_ids, ValidationError):
                return group_ids
            values["group_ids"] = group_ids
        if input.deprovision_action not in (strawberry.UNSET, None):
            values["deprovision_action"] = input.deprovision_action.value  # type: ignore[union-attr]
        if input.poll_interval_seconds not in (strawberry.UNSET, None):
            values["poll_interval_seconds"] = input.poll_interval_seconds
        connection = await session.get(ConnectionRow, row.connection_id)
        assert connection is not None
        error = await _check(info, session, values, connection, list(row.mappings))
        if error is not None:
            return error
        if taken := await _name_conflict(session, values["name"], pk):
            return taken
        if input.dry_run:
            stored, connector_type = RuleRow(**row.model_dump()), connection.connector_type
            await session.rollback()  # nothing of the change is saved
            return await dry_run_update(info, stored, connector_type, values)
        for key, value in values.items():
            setattr(row, key, value.strip() if key == "name" else value)
        row.updated_at = utcnow()
        session.add(
            admin_event(
                operation="UPDATE_RULE",
                message=f"rule {row.name!r} updated",
                actor=info.context.actor,
                rule_id=pk,
            )
        )
        await session.commit()
    return Rule.from_row(row)


async def delete_rule(info: Info, id: relay.GlobalID) -> DeleteResult:
    if denied := forbidden(info, Role.ADMIN):
        return denied
    pk = node_pk(id, "Rule")
    if isinstance(pk, NotFoundError):
        return pk
    async with info.context.db.session() as session:
        row = await session.get(RuleRow, pk)
        if row is None:
            return not_found("Rule", id)
        active = await session.scalar(
            select(func.count())
            .select_from(SyncRun)
            .where(
                SyncRun.rule_id == pk,
                col(SyncRun.status).in_(("QUEUED", "RUNNING")),  # type: ignore[attr-defined]
            )
        )
        if active:
            return conflict(f"rule {row.name!r} has a run in progress; delete it when the run ends")
        for table in (EntitySyncState, RuleCounts, SyncRun):
            await session.execute(delete(table).where(col(table.rule_id) == pk))
        await session.delete(row)
        # The rule's audit trail stays: it is the record of what was done.
        session.add(
            admin_event(
                operation="DELETE_RULE",
                message=f"rule {row.name!r} deleted",
                actor=info.context.actor,
                rule_id=pk,
            )
        )
        await session.commit()
    return DeletePayload(deleted_id=id)
