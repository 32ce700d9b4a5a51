"""Create, update and delete directory users and groups; changes are pushed to outbound rules."""

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
from provisync.api.mutations.edge import NAME_MAX, TEXT_MAX, normalized_email, text_problem
from provisync.api.security.guards import forbidden
from provisync.api.types.common import node_pk
from provisync.api.types.directory_group import DirectoryGroup
from provisync.api.types.directory_user import DirectoryUser
from provisync.api.types.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
    conflict,
    invalid,
    not_found,
)
from provisync.engine.extensions import InvalidExtensionAttributes, merged
from provisync.engine.references import forget_group
from provisync.security.roles import Role
from provisync.store.models import DirectoryGroup as GroupRow
from provisync.store.models import DirectoryUser as UserRow
from provisync.store.models import GroupMembership, utcnow

UserResult = Annotated[
    DirectoryUser | NotFoundError | ValidationError | ConflictError | ForbiddenError,
    strawberry.union("DirectoryUserResult"),
]
GroupResult = Annotated[
    DirectoryGroup | NotFoundError | ValidationError | ConflictError | ForbiddenError,
    strawberry.union("DirectoryGroupResult"),
]
USER_FIELDS = (
    "user_name",
    "given_name",
    "family_name",
    "display_name",
    "email",
    "phone",
    "title",
    "department",
    "employee_id",
    "manager",
    "active",
)


@strawberry.input
class DirectoryUserInput:
    """Fields of a directory user; on update, fields left out keep their value."""

    user_name: str | None = strawberry.UNSET
    given_name: str | None = strawberry.UNSET
    family_name: str | None = strawberry.UNSET
    display_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    department: str | None = strawberry.UNSET
    employee_id: str | None = strawberry.UNSET
    manager: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET
    extension_attributes: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Extension attributes to set (name to value); null removes a name, "
        "names left out keep their values.",
    )


@strawberry.input
class DirectoryGroupInput:
    display_name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=strawberry.UNSET, description="The whole member list (replaces it)."
    )
    extension_attributes: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Extension attributes to set (name to value); null removes a name.",
    )


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def _user_values(data: DirectoryUserInput) -> dict[str, Any] | ValidationError:
    values = {f: getattr(data, f) for f in USER_FIELDS if getattr(data, f) is not strawberry.UNSET}
    if "user_name" in values and not (values["user_name"] or "").strip():
        return invalid(("userName", "must not be empty"))
    if values.get("active", True) is None:
        return invalid(("active", "must be true or false"))
    problems = [
        (_camel(field), problem)
        for field, value in values.items()
        if isinstance(value, str) and (problem := text_problem(value, NAME_MAX))
    ]
    if problems:
        return invalid(*problems)
    email = values.get("email")
    if email:
        normalized, problem = normalized_email(email)
        if problem:
            return invalid(("email", problem))
        values["email"] = normalized
    return values


def _extensions(current: dict[str, Any], given: Any) -> dict[str, Any] | ValidationError:
    """Extension attributes after a change (unset or null: unchanged)."""
    if given is strawberry.UNSET or given is None:
        return dict(current)
    try:
        return merged(current, given)
    except InvalidExtensionAttributes as exc:
        return invalid(*exc.problems)


def _group_text_problems(data: DirectoryGroupInput) -> ValidationError | None:
    problems = [
        (name, problem)
        for name, value, limit, multiline in (
            ("displayName", data.display_name, NAME_MAX, False),
            ("description", data.description, TEXT_MAX, True),
        )
        if isinstance(value, str) and (problem := text_problem(value, limit, multiline))
    ]
    return invalid(*problems) if problems else None


async def _user_name_taken(session: Any, name: str, except_id: int | None = None) -> bool:
    """Whether another user has this userName, in any case (targets match it that way)."""
    statement = (
        select(func.count())
        .select_from(UserRow)
        .where(func.lower(UserRow.user_name) == name.lower())
    )
    if except_id is not None:
        statement = statement.where(UserRow.id != except_id)
    return bool(await session.scalar(statement))


async def create_directory_user(info: Info, input: DirectoryUserInput) -> UserResult:
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    values = _user_values(input)
    if isinstance(values, ValidationError):
        return values
    if not values.get("user_name"):
        return invalid(("userName", "is required"))
    extensions = _extensions({}, input.extension_attributes)
    if isinstance(extensions, ValidationError):
        return extensions
    values["extension_attributes"] = extensions
    async with info.context.db.session() as session:
        if await _user_name_taken(session, values["user_name"]):
            return conflict(f"userName {values['user_name']!r} is taken")
        row = UserRow(**values)
        session.add(row)
        await session.commit()
    assert row.id is not None
    info.context.services.engine.users_changed([row.id], set(values))
    return DirectoryUser.from_row(row)


async def update_directory_user(
    info: Info, id: relay.GlobalID, input: DirectoryUserInput
) -> UserResult:
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    pk = node_pk(id, "DirectoryUser")
    if isinstance(pk, NotFoundError):
        return pk
    values = _user_values(input)
    if isinstance(values, ValidationError):
        return values
    async with info.context.db.session() as session:
        row = await session.get(UserRow, pk)
        if row is None:
            return not_found("DirectoryUser", id)
        if "user_name" in values and await _user_name_taken(session, values["user_name"], pk):
            return conflict(f"userName {values['user_name']!r} is taken")
        extensions = _extensions(row.extension_attributes or {}, input.extension_attributes)
        if isinstance(extensions, ValidationError):
            return extensions
        values["extension_attributes"] = extensions
        changed = {f for f, v in values.items() if getattr(row, f) != v}
        for field in changed:
            setattr(row, field, values[field])
        if changed:
            row.updated_at = utcnow()
        await session.commit()
    if changed:
        info.context.services.engine.users_changed([pk], changed)
    return DirectoryUser.from_row(row)


async def delete_directory_user(info: Info, id: relay.GlobalID) -> DeleteResult:
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    pk = node_pk(id, "DirectoryUser")
    if isinstance(pk, NotFoundError):
        return pk
    async with info.context.db.session() as session:
        row = await session.get(UserRow, pk)
        if row is None:
            return not_found("DirectoryUser", id)
        groups = list(
            await session.scalars(
                select(GroupMembership.group_id).where(GroupMembership.user_id == pk)
            )
        )
        await session.execute(delete(GroupMembership).where(GroupMembership.user_id == pk))  # type: ignore[arg-type]
        await session.delete(row)
        await session.commit()
    info.context.services.engine.users_changed([pk])
    info.context.services.engine.groups_changed(groups)
    return DeletePayload(deleted_id=id)


async def _set_members(
    session: Any, group_id: int, member_ids: list[int]
) -> ValidationError | None:
    unique = sorted(set(member_ids))
    found = (
        await session.scalar(
            select(func.count()).select_from(UserRow).where(col(UserRow.id).in_(unique))
        )
        if unique
        else 0
    )  # type: ignore[union-attr]
    if found != len(unique):
        return invalid(("memberIds", "unknown directory user"))
    await session.execute(delete(GroupMembership).where(GroupMembership.group_id == group_id))  # type: ignore[arg-type]
    session.add_all([GroupMembership(group_id=group_id, user_id=u) for u in unique])
    return None


async def _group_name_taken(session: Any, name: str, except_id: int | None = None) -> bool:
    statement = (
        select(func.count())
        .select_from(GroupRow)
        .where(func.lower(GroupRow.display_name) == name.lower())
    )
    if except_id is not None:
        statement = statement.where(GroupRow.id != except_id)
    return bool(await session.scalar(statement))


async def create_directory_group(info: Info, input: DirectoryGroupInput) -> GroupResult:
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    if refused := _group_text_problems(input):
        return refused
    name = (input.display_name or "").strip() if input.display_name is not strawberry.UNSET else ""
    if not name:
        return invalid(("displayName", "is required"))
    members = parse_ids(input.member_ids or [], "DirectoryUser", "memberIds")
    if isinstance(members, ValidationError):
        return members
    extensions = _extensions({}, input.extension_attributes)
    if isinstance(extensions, ValidationError):
        return extensions
    async with info.context.db.session() as session:
        if await _group_name_taken(session, name):
            return conflict(f"a group named {name!r} exists")
        description = None if input.description is strawberry.UNSET else input.description
        row = GroupRow(
            display_name=name, description=description, extension_attributes=extensions
        )
        session.add(row)
        await session.flush()
        assert row.id is not None
        error = await _set_members(session, row.id, members)
        if error is not None:
            await session.rollback()
            return error
        await session.commit()
    info.context.services.engine.groups_changed([row.id])
    return DirectoryGroup.from_row(row)


async def update_directory_group(
    info: Info, id: relay.GlobalID, input: DirectoryGroupInput
) -> GroupResult:
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    pk = node_pk(id, "DirectoryGroup")
    if isinstance(pk, NotFoundError):
        return pk
    if refused := _group_text_problems(input):
        return refused
    async with info.context.db.session() as session:
        row = await session.get(GroupRow, pk)
        if row is None:
            return not_found("DirectoryGroup", id)
        if input.display_name is not strawberry.UNSET:
            name = (input.display_name or "").strip()
            if not name:
                return invalid(("displayName", "must not be empty"))
            if await _group_name_taken(session, name, pk):
                return conflict(f"a group named {name!r} exists")
            row.display_name = name
        if input.description is not strawberry.UNSET:
            row.description = input.description
        extensions = _extensions(row.extension_attributes or {}, input.extension_attributes)
        if isinstance(extensions, ValidationError):
            return extensions
        row.extension_attributes = extensions
        if input.member_ids is not strawberry.UNSET:
            members = parse_ids(input.member_ids or [], "DirectoryUser", "memberIds")
            if isinstance(members, ValidationError):
                return members
            error = await _set_members(session, pk, members)
            if error is not None:
                await session.rollback()
                return error
        row.updated_at = utcnow()
        await session.commit()
    info.context.services.engine.groups_changed([pk])
    return DirectoryGroup.from_row(row)


async def delete_directory_group(info: Info, id: relay.GlobalID) -> DeleteResult:
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    pk = node_pk(id, "DirectoryGroup")
    if isinstance(pk, NotFoundError):
        return pk
    async with info.context.db.session() as session:
        row = await session.get(GroupRow, pk)
        if row is None:
            return not_found("DirectoryGroup", id)
        await session.execute(delete(GroupMembership).where(GroupMembership.group_id == pk))  # type: ignore[arg-type]
        rules = await forget_group(session, pk, row.display_name, info.context.actor)
        await session.delete(row)
        await session.commit()
    info.context.services.engine.groups_forgotten(rules, pk)
    info.context.services.engine.groups_changed([pk])
    return DeletePayload(deleted_id=id)
