"""Small helpers shared by the type modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from strawberry import relay
from strawberry.scalars import JSON

from gql.types.errors import NotFoundError, not_found


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def as_json(value: Any) -> JSON:
    """A plain JSON value typed as the JSON scalar."""
    return cast(JSON, value)


MAX_PK = 2**63 - 1
"""The largest key a database row can have (SQLite and PostgreSQL BIGINT alike)."""


def valid_pk(node_id: str) -> int | None:
    """A global id's key as stored: a positive integer a database can hold, else None."""
    if not node_id.isascii() or not node_id.isdigit() or len(node_id) > 19:
        return None
    pk = int(node_id)
    return pk if 0 < pk <= MAX_PK else None


def node_pk(gid: relay.GlobalID, type_name: str) -> int | NotFoundError:
    """The integer key of a global id of the given type, or a typed not-found error.

    A key no row can have (huge, negative, not digits) is not found rather than a database
    error (SQLite overflows past 2**63).
    """
    if gid.type_name != type_name:
        return not_found(type_name, gid)
    pk = valid_pk(gid.node_id)
    return not_found(type_name, gid) if pk is None else pk
