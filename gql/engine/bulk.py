"""Bulk inserts for the engine's hot paths: one driver executemany per table and page.

SQLAlchemy's executemany builds every row's parameters in Python (``construct_params`` and a
bind processor per value); for a page of hundreds of rows that cost more than the database's
own work. Here the INSERT is compiled once per dialect, table and column set, and values go
through the same bind processors, each distinct value object converted once (a page's rows
share their timestamp and their empty differences), then straight to the driver.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

Row = dict[str, Any]
_Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _CompiledInsert:
    sql: str
    names: tuple[str, ...]
    """Parameter order (positional paramstyles) or names (named ones)."""
    positional: bool
    processors: tuple[tuple[int, str, _Processor], ...]
    values_group: str | None = None
    """SQLite: the ``(?, ?, ...)`` of one row, for one INSERT of many rows."""
    max_rows: int = 1


# Per dialect object: processors carry its settings (the JSON serializer, for one).
_ROWS_PER_INSERT = 1000
_Cache = dict[tuple[str, tuple[str, ...]], _CompiledInsert | None]
_COMPILED: weakref.WeakKeyDictionary[Dialect, _Cache] = weakref.WeakKeyDictionary()


def _compile(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> _CompiledInsert | None:
    """The driver SQL of ``INSERT INTO table (columns)``, or None if SQLAlchemy would add
    parameters of its own (column defaults for columns not given)."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    positional = bool(compiled.positional)
    names = tuple(compiled.positiontup or ()) if positional else columns
    if set(names) != set(columns) or set(compiled.binds) != set(columns):
        return None
    processors = []
    for index, name in enumerate(names):
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((index, name, processor))
    sql = compiled.string
    group = "(" + ", ".join("?" * len(names)) + ")"
    if dialect.name == "sqlite" and dialect.paramstyle == "qmark" and sql.endswith(group):
        version = dialect.server_version_info or (0,)
        variables = 32766 if tuple(version) >= (3, 32) else 999
        max_rows = max(1, min(_ROWS_PER_INSERT, variables // len(names)))
        return _CompiledInsert(sql, names, True, tuple(processors), group, max_rows)
    return _CompiledInsert(sql, names, positional, tuple(processors))


def _parameters(compiled: _CompiledInsert, rows: Sequence[Row]) -> list[Any]:
    """Rows as the driver's parameters, each distinct value object processed once."""
    if compiled.positional:
        get = itemgetter(*compiled.names)
        if len(compiled.names) == 1:
            out: list[Any] = [[get(row)] for row in rows]
        else:
            out = [list(get(row)) for row in rows]
    else:
        out = [dict(row) for row in rows]
    for index, name, processor in compiled.processors:
        key: Any = index if compiled.positional else name
        seen_in: Any = object()
        seen_out: Any = None
        for params in out:
            value = params[key]
            if value is not seen_in:
                seen_in, seen_out = value, processor(value)
            params[key] = seen_out
    return [tuple(params) for params in out] if compiled.positional else out


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[Row]) -> None:
    """Insert ``rows`` (dicts with the same keys, column names) in one statement (SQLite)
    or one executemany (others).

    Same rows as ``session.execute(insert(table), rows)``, without its per-row Python work.
    """
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    columns = tuple(rows[0])
    cache = _COMPILED.setdefault(dialect, {})
    key = (table.fullname, columns)
    if key not in cache:
        cache[key] = _compile(dialect, table, columns)
    compiled = cache[key]
    if compiled is None:
        await session.execute(insert(table), list(rows))
        return
    parameters = _parameters(compiled, rows)
    if compiled.values_group is None:
        await connection.exec_driver_sql(compiled.sql, parameters)
        return
    # SQLite: one INSERT of many rows. Its executemany releases and takes back the GIL
    # around every row, and each time waits out whatever Python the event loop is running.
    prefix = compiled.sql[: -len(compiled.values_group)]
    for start in range(0, len(parameters), compiled.max_rows):
        chunk = parameters[start : start + compiled.max_rows]
        sql = prefix + ", ".join([compiled.values_group] * len(chunk))
        flat = tuple(value for row in chunk for value in row)
        await connection.exec_driver_sql(sql, flat)
