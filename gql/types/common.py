"""Small helpers shared by the type modules."""

from __future__ import annotations

from datetime import UTC, datetime

from strawberry import relay

from gql.types.errors import NotFoundError, not_found


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def node_pk(gid: relay.GlobalID, type_name: str) -> int | NotFoundError:
    """The integer key of a global id of the given type, or a typed not-found error."""
    if gid.type_name != type_name:
        return not_found(type_name, gid)
    try:
        return int(gid.node_id)
    except ValueError:
        return not_found(type_name, gid)
