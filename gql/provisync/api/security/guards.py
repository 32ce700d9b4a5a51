"""The checks every mutation and subscription makes first: is the caller's role enough?"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from provisync.api.types.errors import ForbiddenError
from provisync.security.roles import Role, principal_of

log = logging.getLogger("provisync.security")


def forbidden(info: Any, role: Role) -> ForbiddenError | None:
    """A refusal when the caller's role is below ``role``; None when allowed.

    Called first in every mutation, before any lookup, so a refusal reveals nothing.
    """
    principal = principal_of(info.context)
    if principal.may(role):
        return None
    log.warning(
        "refused %s to %s (role %s, needs %s)",
        info.field_name,
        principal.name,
        principal.role.name if principal.role else "none",
        role.name,
    )
    return ForbiddenError(message=f"this needs the {role.name.lower()} role", code="FORBIDDEN")


def require(info: Any, role: Role) -> None:
    """For subscriptions (no union to answer with): raise a FORBIDDEN GraphQL error."""
    denied = forbidden(info, role)
    if denied is not None:
        raise GraphQLError(denied.message, extensions={"code": denied.code})
