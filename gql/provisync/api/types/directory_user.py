"""DirectoryUser: a user of provisync's own directory."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from sqlmodel import col, select
from strawberry import relay
from strawberry.scalars import JSON

from provisync.api.context import Info
from provisync.api.types.common import as_json, aware
from provisync.api.types.pagination import CountedConnection, paginate
from provisync.store.models import DirectoryUser as UserRow


@strawberry.type
class DirectoryUser(relay.Node):
    id: relay.NodeID[int]
    user_name: str
    given_name: str | None
    family_name: str | None
    display_name: str | None
    email: str | None
    phone: str | None
    title: str | None
    department: str | None
    employee_id: str | None
    manager: str | None
    active: bool
    extension_attributes: JSON = strawberry.field(
        description="Named values besides the fixed fields, e.g. {\"costCenter\": \"C-100\"}."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: UserRow) -> DirectoryUser:
        return cls(
            id=row.id or 0,
            user_name=row.user_name,
            given_name=row.given_name,
            family_name=row.family_name,
            display_name=row.display_name,
            email=row.email,
            phone=row.phone,
            title=row.title,
            department=row.department,
            employee_id=row.employee_id,
            manager=row.manager,
            active=row.active,
            extension_attributes=as_json(dict(row.extension_attributes or {})),
            created_at=aware(row.created_at) or row.created_at,
            updated_at=aware(row.updated_at) or row.updated_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[DirectoryUser | None]:
        ids = [int(i) for i in node_ids]
        async with info.context.reader() as session:
            rows = {
                r.id: r
                for r in await session.scalars(select(UserRow).where(col(UserRow.id).in_(ids)))
            }  # type: ignore[union-attr]
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class DirectoryUserConnection(CountedConnection[DirectoryUser]):
    pass


async def list_users(info: Info, first: int | None, after: str | None) -> DirectoryUserConnection:
    return await paginate(  # type: ignore[return-value]
        info,
        select(UserRow),
        UserRow.id,
        DirectoryUser.from_row,
        DirectoryUserConnection,
        first=first,
        after=after,
    )
