"""Relay connections with ``totalCount``, paged in SQL by keyset on the primary key."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import Select, func
from sqlmodel import select
from strawberry import relay

from provisync.api.context import Info

NodeT = TypeVar("NodeT", bound=relay.Node)
RowT = TypeVar("RowT")
_PREFIX = "cursor:"


def encode_cursor(value: int) -> str:
    return base64.b64encode(f"{_PREFIX}{value}".encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(cursor)
        return int(text.removeprefix(_PREFIX))
    except Exception as exc:
        raise ValueError(f"invalid cursor {cursor!r}") from exc


@strawberry.type
class CountedConnection(relay.Connection[NodeT], Generic[NodeT]):
    """A Relay connection that also says how many nodes there are in all."""

    total_count: int = strawberry.field(description="How many nodes the whole list holds.")


async def paginate(
    info: Info,
    statement: Select[Any],
    key: Any,
    to_node: Callable[[Any], NodeT],
    connection: type[CountedConnection[NodeT]],
    *,
    first: int | None,
    after: str | None,
    descending: bool = False,
    on_page: Callable[[Info, Sequence[Any]], Awaitable[None]] | None = None,
) -> CountedConnection[NodeT]:
    """Page ``statement`` (rows of one entity) by its integer key ``key``.

    Two statements: the total count, and one page fetched with one extra row to learn
    whether a next page exists.
    """
    limit = info.context.page_size(first)
    after_key = decode_cursor(after)
    async with info.context.reader() as session:
        total = await session.scalar(select(func.count()).select_from(statement.subquery()))
        page = statement
        if after_key is not None:
            page = page.where(key < after_key if descending else key > after_key)
        page = page.order_by(key.desc() if descending else key).limit(limit + 1)
        rows: Sequence[Any] = list(await session.scalars(page))
    has_next = len(rows) > limit
    rows = rows[:limit]
    if on_page is not None:
        await on_page(info, rows)
    edges = [relay.Edge(node=to_node(row), cursor=encode_cursor(row.id)) for row in rows]
    return connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=after_key is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=int(total or 0),
    )
