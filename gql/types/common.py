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


def node_pk(gid: relay.GlobalID, type_name: str) -> int | NotFoundError:
    """The integer key of a global id of the given type, or a typed not-found error."""
    if gid.type_name != type_name:
        return not_found(type_name, gid)
    try:
        return int(gid.node_id)
    except ValueError:
        return not_found(type_name, gid)
