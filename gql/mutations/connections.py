"""Create, update and delete provisioning connections. Secrets are write-only."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
import strawberry
from sqlalchemy import func
from sqlmodel import select
from strawberry import relay
from strawberry.scalars import JSON

from gql.context import Info
from gql.engine.recorder import admin_event
from gql.mutations.common import pydantic_errors
from gql.mutations.edge import NAME_MAX, text_problem
from gql.security.crypto import SecretsUnreadable, decrypt_secrets, encrypt_secrets
from gql.security.egress import egress_problems
from gql.security.roles import Role, forbidden
from gql.store.models import ProvisioningConnection as ConnectionRow
from gql.store.models import Rule as RuleRow
from gql.store.models import utcnow
from gql.types.common import node_pk
from gql.types.connection import ProvisioningConnection
from gql.types.errors import (
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


@strawberry.type
class DeletePayload:
    deleted_id: relay.GlobalID


ConnectionResult = Annotated[
    ProvisioningConnection
    | NotFoundError
    | ValidationError
    | ConnectorNotInstalledError
    | ConflictError
    | ForbiddenError,
    strawberry.union("ProvisioningConnectionResult"),
]
DeleteResult = Annotated[
    DeletePayload | NotFoundError | ConflictError | ForbiddenError, strawberry.union("DeleteResult")
]


@strawberry.input
class CreateProvisioningConnectionInput:
    name: str
    connector_type: str
    settings: JSON = strawberry.field(default_factory=dict)
    secrets: JSON = strawberry.field(
        default_factory=dict, description="Secret settings; stored apart and never returned."
    )


@strawberry.input
class UpdateProvisioningConnectionInput:
    id: relay.GlobalID
    name: str | None = strawberry.UNSET
    settings: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces ALL the non-secret settings: a setting left out goes back to "
        "its default. To change one setting only, use settingsPatch.",
    )
    settings_patch: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Settings to change, merged into the stored ones server-side: "
        '{"page_size": 50} changes that one and keeps the others; a null value removes a '
        "setting (back to its default). Not together with settings. Secrets are kept.",
    )
    secrets: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Secrets to set; secrets not named keep their value."
    )


def _split(
    info: Info, connector_type: str, settings: Any, secrets: Any, old_secrets: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]] | ValidationError | ConnectorNotInstalledError:
    registry = info.context.services.registry
    ctype = registry.get(connector_type)
    if ctype is None:
        return connector_missing(connector_type)
    if not isinstance(settings, dict) or not isinstance(secrets, dict):
        return invalid(("settings", "settings and secrets must be JSON objects"))
    secret_names = set(ctype.secret_fields)
    merged_secrets = {**old_secrets, **{k: v for k, v in secrets.items() if k in secret_names}}
    merged_secrets.update({k: v for k, v in settings.items() if k in secret_names})
    unknown = set(secrets) - secret_names
    if unknown:
        return invalid(
            *((f"secrets.{name}", "not a secret of this connector") for name in sorted(unknown))
        )
    plain = {k: v for k, v in settings.items() if k not in secret_names}
    try:
        model = registry.validate_settings(connector_type, plain, merged_secrets)
    except pydantic.ValidationError as exc:
        return pydantic_errors(exc, "settings")
    if refused := egress_problems(model, info.context.services.settings):
        return invalid(*((f"settings.{name}", why) for name, why in refused))
    stored = model.model_dump(mode="json", exclude=secret_names)
    return stored, merged_secrets


async def _name_taken(session: Any, name: str, except_id: int | None = None) -> bool:
    statement = select(func.count()).select_from(ConnectionRow).where(ConnectionRow.name == name)
    if except_id is not None:
        statement = statement.where(ConnectionRow.id != except_id)
    return bool(await session.scalar(statement))


async def create_provisioning_connection(
    info: Info, input: CreateProvisioningConnectionInput
) -> ConnectionResult:
    if denied := forbidden(info, Role.ADMIN):
        return denied
    name = input.name.strip()
    if not name:
        return invalid(("name", "must not be empty"))
    if problem := text_problem(name, NAME_MAX):
        return invalid(("name", problem))
    split = _split(info, input.connector_type, input.settings, input.secrets, {})
    if not isinstance(split, tuple):
        return split
    async with info.context.db.session() as session:
        if await _name_taken(session, name):
            return conflict(f"a provisioning connection named {name!r} exists")
        row = ConnectionRow(
            name=name,
            connector_type=input.connector_type,
            settings=split[0],
            secrets=encrypt_secrets(split[1], info.context.services.settings),
        )
        session.add(row)
        await session.flush()
        session.add(
            admin_event(
                operation="CREATE_CONNECTION",
                message=f"connection {name!r} created",
                actor=info.context.actor,
            )
        )
        await session.commit()
    return ProvisioningConnection.from_row(row)


async def update_provisioning_connection(
    info: Info, input: UpdateProvisioningConnectionInput
) -> ConnectionResult:
    if denied := forbidden(info, Role.ADMIN):
        return denied
    pk = node_pk(input.id, "ProvisioningConnection")
    if isinstance(pk, NotFoundError):
        return pk
    async with info.context.db.session() as session:
        row = await session.get(ConnectionRow, pk)
        if row is None:
            return not_found("ProvisioningConnection", input.id)
        name = row.name if input.name in (None, strawberry.UNSET) else str(input.name).strip()
        if not name:
            return invalid(("name", "must not be empty"))
        if problem := text_problem(name, NAME_MAX):
            return invalid(("name", problem))
        if name != row.name and await _name_taken(session, name, pk):
            return conflict(f"a provisioning connection named {name!r} exists")
        settings = row.settings if input.settings in (None, strawberry.UNSET) else input.settings
        if input.settings_patch not in (None, strawberry.UNSET):
            patch = input.settings_patch
            if input.settings not in (None, strawberry.UNSET):
                return invalid(("settingsPatch", "give settings or settingsPatch, not both"))
            if not isinstance(patch, dict):
                return invalid(("settingsPatch", "must be a JSON object"))
            settings = {**row.settings, **patch}
            settings = {k: v for k, v in settings.items() if v is not None}
        secrets: Any = {} if input.secrets in (None, strawberry.UNSET) else input.secrets
        try:
            old_secrets = decrypt_secrets(row.secrets)
        except SecretsUnreadable:
            # Written under another key: the caller must set the secrets again.
            old_secrets = {}
        split = _split(info, row.connector_type, settings, secrets, old_secrets)
        if not isinstance(split, tuple):
            return split
        stored = encrypt_secrets(split[1], info.context.services.settings)
        row.name, row.settings, row.secrets, row.updated_at = name, split[0], stored, utcnow()
        session.add(
            admin_event(
                operation="UPDATE_CONNECTION",
                message=f"connection {name!r} updated",
                actor=info.context.actor,
            )
        )
        await session.commit()
    return ProvisioningConnection.from_row(row)


async def delete_provisioning_connection(info: Info, id: relay.GlobalID) -> DeleteResult:
    if denied := forbidden(info, Role.ADMIN):
        return denied
    pk = node_pk(id, "ProvisioningConnection")
    if isinstance(pk, NotFoundError):
        return pk
    async with info.context.db.session() as session:
        row = await session.get(ConnectionRow, pk)
        if row is None:
            return not_found("ProvisioningConnection", id)
        used = await session.scalar(
            select(func.count()).select_from(RuleRow).where(RuleRow.connection_id == pk)
        )
        if used:
            return conflict(f"connection {row.name!r} is used by {used} rule(s); delete them first")
        await session.delete(row)
        session.add(
            admin_event(
                operation="DELETE_CONNECTION",
                message=f"connection {row.name!r} deleted",
                actor=info.context.actor,
            )
        )
        await session.commit()
    return DeletePayload(deleted_id=id)
