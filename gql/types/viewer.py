"""Viewer: who the caller is and what its role lets it do (clients disable the rest)."""

from __future__ import annotations

from enum import Enum

import strawberry

from gql.context import Info
from gql.security.roles import Role, principal_of


@strawberry.enum(description="A caller's role; each may do everything the roles before it may.")
class ViewerRole(Enum):
    VIEWER = "VIEWER"
    OPERATOR = "OPERATOR"
    ADMIN = "ADMIN"


@strawberry.type(description="The caller of this request.")
class Viewer:
    name: str = strawberry.field(description='The token\'s name, or "anonymous" when auth is off.')
    role: ViewerRole | None = strawberry.field(description="Null when not authenticated.")
    may_operate: bool = strawberry.field(
        description="May start resyncs, enable and disable rules, release held operations."
    )
    may_administer: bool = strawberry.field(
        description="May create, change and delete rules, connections and directory entries."
    )


def viewer_of(info: Info) -> Viewer:
    principal = principal_of(info.context)
    return Viewer(
        name=principal.name,
        role=ViewerRole(principal.role.name) if principal.role is not None else None,
        may_operate=principal.may(Role.OPERATOR),
        may_administer=principal.may(Role.ADMIN),
    )
