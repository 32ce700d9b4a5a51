"""Roles and the caller (principal). The checks mutations make first, which answer with
GraphQL errors, are :mod:`provisync.api.security.guards`."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


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
