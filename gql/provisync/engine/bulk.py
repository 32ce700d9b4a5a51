"""Bulk inserts for the engine's hot paths: one driver executemany per table and page.

SQLAlchemy's executemany builds every row's parameters in Python (``construct_params`` and a
bind processor per value); for a page of hundreds of rows that cost more than the database's
own work. Here the INSERT is compiled once per dialect, table and column set, and values go
through the same bind processors, each distinct value object converted once (a page's rows
share their timestamp and their empty differences), then straight to the driver.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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


def _processed(processor: _Processor, values: list[Any]) -> list[Any]:
    """``processor`` applied to each value, once per run of the same value object."""
    seen_in: Any = object()
    seen_out: Any = None
    out = []
    for value in values:
        if value is not seen_in:
            seen_in, seen_out = value, processor(value)
        out.append(seen_out)
    return out


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
        for params, value in zip(
            out, _processed(processor, [params[key] for params in out]), strict=True
        ):
            params[key] = value
    return [tuple(params) for params in out] if compiled.positional else out


def _flat_parameters(compiled: _CompiledInsert, rows: Sequence[Row]) -> list[Any]:
    """The parameters of one INSERT of all ``rows``, row after row (SQLite)."""
    width = len(compiled.names)
    get = itemgetter(*compiled.names)
    flat = [get(row) for row in rows] if width == 1 else list(chain.from_iterable(map(get, rows)))
    for index, _name, processor in compiled.processors:
        flat[index::width] = _processed(processor, flat[index::width])
    return flat


async def _sqlite_driver(connection: AsyncConnection) -> Any | None:
    """The aiosqlite connection under ``connection``, if that is what it is."""
    if connection.dialect.driver != "aiosqlite":
        return None
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    return driver if hasattr(driver, "execute_fetchall") else None


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Row], returning: str | None = None
) -> list[Any] | None:
    """Insert ``rows`` (dicts with the same keys, column names) in one statement (SQLite)
    or one executemany (others).

    Same rows as ``session.execute(insert(table), rows)``, without its per-row Python work.

    :param returning: a column whose values to return, where that costs nothing more (one
        INSERT of many rows on SQLite 3.35 and later), in no particular order.
    :return: the ``returning`` column's values, or None if not given or not returned.
    """
    if not rows:
        return [] if returning else None
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
        return None
    if compiled.values_group is None:
        await connection.exec_driver_sql(compiled.sql, _parameters(compiled, rows))
        return None
    # SQLite: one INSERT of many rows. Its executemany releases and takes back the GIL
    # around every row, and each time waits out whatever Python the event loop is running.
    # The statement goes to aiosqlite's own connection (same transaction): one trip to its
    # thread, where SQLAlchemy's cursor takes three (cursor, execute, close), each a GIL
    # handoff that waits out the loop's Python.
    driver = await _sqlite_driver(connection)
    version = tuple(dialect.server_version_info or (0,))
    suffix = f" RETURNING {returning}" if returning and driver and version >= (3, 35) else ""
    prefix = compiled.sql[: -len(compiled.values_group)]
    found: list[Any] = []
    for start in range(0, len(rows), compiled.max_rows):
        chunk = rows[start : start + compiled.max_rows]
        sql = prefix + ", ".join([compiled.values_group] * len(chunk)) + suffix
        flat = _flat_parameters(compiled, chunk)
        if driver is None:
            await connection.exec_driver_sql(sql, tuple(flat))
        else:
            found += [row[0] for row in await driver.execute_fetchall(sql, flat)]
    return found if suffix else None


@dataclass(frozen=True, slots=True)
class _CompiledSelect:
    sql: str
    """Up to ``IN (``: the placeholders of the values follow."""
    row: Any
    """The named tuple of a row."""
    processors: tuple[tuple[int, _Processor], ...]


_SELECTS: weakref.WeakKeyDictionary[Dialect, dict[Any, _CompiledSelect]] = (
    weakref.WeakKeyDictionary()
)


def _compile_select(
    dialect: Dialect, table: Table, columns: tuple[str, ...], equal: tuple[str, ...], column: str
) -> _CompiledSelect:
    quote = dialect.identifier_preparer.quote
    conditions = [f"{quote(name)} = ?" for name in equal] + [f"{quote(column)} IN ("]
    sql = (
        f"SELECT {', '.join(quote(name) for name in columns)} FROM {quote(table.name)} "
        f"WHERE {' AND '.join(conditions)}"
    )
    processors = []
    for index, name in enumerate(columns):
        processor = table.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
        if processor is not None:
            processors.append((index, processor))
    row = namedtuple(f"{table.name}_row", columns)  # type: ignore[misc]
    return _CompiledSelect(sql, row, tuple(processors))


async def select_in(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    column: str,
    values: Sequence[Any],
    equal: Mapping[str, Any] | None = None,
) -> list[Any]:
    """The ``columns`` of the rows of ``table`` whose ``column`` is one of ``values`` (a few
    hundred at most) and whose ``equal`` columns have the values given: rows with attribute
    access by column name, as SQLAlchemy gives them.

    On aiosqlite the SELECT goes to its own connection (same transaction), one trip to its
    thread where SQLAlchemy's cursor takes four (cursor, execute, fetch, close).
    """
    if not values:
        return []
    equal = equal or {}
    connection = await session.connection()
    driver = await _sqlite_driver(connection)
    if driver is None:
        statement = select(*[table.c[name] for name in columns]).where(
            *[table.c[name] == value for name, value in equal.items()],
            table.c[column].in_(values),
        )
        return list(await session.execute(statement))
    dialect = connection.dialect
    key = (table.fullname, tuple(columns), tuple(equal), column)
    cache = _SELECTS.setdefault(dialect, {})
    compiled = cache.get(key)
    if compiled is None:
        compiled = cache[key] = _compile_select(dialect, table, *key[1:])
    sql = compiled.sql + ", ".join("?" * len(values)) + ")"
    found = await driver.execute_fetchall(sql, (*equal.values(), *values))
    make = compiled.row._make
    if not compiled.processors:
        return [make(row) for row in found]
    rows = []
    for row in found:
        fields = list(row)
        for index, processor in compiled.processors:
            fields[index] = processor(fields[index])
        rows.append(make(fields))
    return rows
