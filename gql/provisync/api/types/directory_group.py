"""DirectoryGroup: a group of provisync's own directory, with its members."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
from sqlmodel import col, select
from strawberry import relay
from strawberry.scalars import JSON

from provisync.api.context import Info
from provisync.api.types.common import as_json
from provisync.api.types.directory_user import DirectoryUser, DirectoryUserConnection
from provisync.api.types.pagination import CountedConnection, paginate
from provisync.store.models import DirectoryGroup as GroupRow
from provisync.store.models import DirectoryUser as UserRow
from provisync.store.models import GroupMembership


@strawberry.type
class DirectoryGroup(relay.Node):
    id: relay.NodeID[int]
    display_name: str
    description: str | None
    extension_attributes: JSON = strawberry.field(
        description="Named values besides the fixed fields, e.g. {\"site\": \"Berlin\"}."
    )

    @strawberry.field
    async def members(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> DirectoryUserConnection:
        statement = (
            select(UserRow)
            .join(GroupMembership, col(GroupMembership.user_id) == col(UserRow.id))
            .where(  # type: ignore[arg-type]
                GroupMembership.group_id == self.id
            )
        )
        return await paginate(  # type: ignore[return-value]
            info,
            statement,
            UserRow.id,
            DirectoryUser.from_row,
            DirectoryUserConnection,
            first=first,
            after=after,
        )

    @classmethod
    def from_row(cls, row: GroupRow) -> DirectoryGroup:
        return cls(
            id=row.id or 0,
            display_name=row.display_name,
            description=row.description,
            extension_attributes=as_json(dict(row.extension_attributes or {})),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[DirectoryGroup | None]:
        ids = [int(i) for i in node_ids]
        async with info.context.reader() as session:
            rows = {
                r.id: r
                for r in await session.scalars(select(GroupRow).where(col(GroupRow.id).in_(ids)))
            }  # type: ignore[union-attr]
        return [cls.from_row(rows[i]) if i in rows else None for i in ids]


@strawberry.type
class DirectoryGroupConnection(CountedConnection[DirectoryGroup]):
    pass


async def list_groups(info: Info, first: int | None, after: str | None) -> DirectoryGroupConnection:
    return await paginate(  # type: ignore[return-value]
        info,
        select(GroupRow),
        GroupRow.id,
        DirectoryGroup.from_row,
        DirectoryGroupConnection,
        first=first,
        after=after,
    )
