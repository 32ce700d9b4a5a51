"""Roles, the caller (principal), and the checks mutations and subscriptions make first."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from gql.types.errors import ForbiddenError

log = logging.getLogger("provisync.security")


class Role(enum.IntEnum):
    """Each role may do everything the roles below it may."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, value: object) -> Role | None:
        if isinstance(value, str) and value.strip().upper() in cls.__members__:
            return cls[value.strip().upper()]
        return None


@dataclass(frozen=True)
class Principal:
    """Who is calling: a name for audit events and a role (None: not authenticated)."""

    name: str
    role: Role | None
    expires_at: float | None = None
    """When the credential stops being valid (a JWT's ``exp``, epoch seconds); None: never."""

    def may(self, role: Role) -> bool:
        return self.role is not None and self.role >= role


ANONYMOUS = Principal("anonymous", Role.ADMIN)
"""The caller when authentication is off (the embedded default on loopback)."""
UNAUTHENTICATED = Principal("unauthenticated", None)

SCOPE_KEY = "provisync.principal"


def principal_of(context: Any) -> Principal:
    principal = getattr(context, "principal", None)
    return principal if isinstance(principal, Principal) else UNAUTHENTICATED


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
