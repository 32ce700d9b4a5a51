"""ProvisioningConnection: one configured connector instance. Secrets never leave the server."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from sqlmodel import select
from strawberry import relay
from strawberry.scalars import JSON

from provisync.api.context import Info
from provisync.api.types.common import as_json, aware
from provisync.api.types.connector_type import ConnectorType
from provisync.api.types.pagination import CountedConnection
from provisync.store.models import ProvisioningConnection as ConnectionRow


@strawberry.type
class ProvisioningConnection(relay.Node):
    id: relay.NodeID[int]
    name: str
    connector_type_name: str = strawberry.field(name="connectorTypeName")
    settings: JSON = strawberry.field(description="Settings without secrets.")
    secrets_set: list[str] = strawberry.field(
        description="Names of the secrets that hold a value (the values are write-only)."
    )
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Null when the connector's plugin is not installed.")
    def connector_type(self, info: Info) -> ConnectorType | None:
        registered = info.context.services.registry.types.get(self.connector_type_name)
        return ConnectorType.from_registered(registered) if registered else None

    @classmethod
    def from_row(cls, row: ConnectionRow) -> ProvisioningConnection:
        return cls(
            id=row.id or 0,
            name=row.name,
            connector_type_name=row.connector_type,
            settings=as_json(dict(row.settings)),
            secrets_set=sorted(k for k, v in row.secrets.items() if v),
            created_at=aware(row.created_at) or row.created_at,
            updated_at=aware(row.updated_at) or row.updated_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ProvisioningConnection | None]:
        rows = await info.context.connections.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]


@strawberry.type
class ProvisioningConnectionConnection(CountedConnection[ProvisioningConnection]):
    pass


@strawberry.type
class ConnectionTestResult:
    ok: bool
    message: str
    details: JSON


async def list_connections(
    info: Info, first: int | None, after: str | None
) -> ProvisioningConnectionConnection:
    from provisync.api.types.pagination import paginate

    return await paginate(  # type: ignore[return-value]
        info,
        select(ConnectionRow),
        ConnectionRow.id,
        ProvisioningConnection.from_row,
        ProvisioningConnectionConnection,
        first=first,
        after=after,
    )
