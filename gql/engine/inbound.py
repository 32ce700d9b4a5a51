"""Inbound syncs: a source read into the directory, and write-back of directory changes.

Each page read is applied in one transaction (directory rows, states, audit), so a read that
fails part-way leaves no half-applied page, and the watermark moves only when a read ends.
Attributes the connection writes back are the directory's to decide: an inbound sync sets them
on new users only, and writes back those that differ from the source.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Update, bindparam, delete, update
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from connectors import (
    Action,
    AttributeDifference,
    DeprovisionAction,
    EntityKind,
    EntityOutcome,
    EntityState,
    ReadPage,
    UserRecord,
    WriteBackRequest,
)
from gql.engine.bulk import insert_rows
from gql.engine.context import RunContext
from gql.engine.mapping import canonical_attributes, field_map
from gql.engine.scope import Predicate, compile_scope
from gql.store.models import DirectoryUser, EntitySyncState, table_of, utcnow

DirectoryChanged = Callable[[Collection[int]], None]
_USERS = table_of(DirectoryUser)
_STATES = table_of(EntitySyncState)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class _NewUser:
    """A directory user this page creates (inserted in bulk when the page ends)."""

    source_rule_id: int


@dataclass(eq=False, slots=True)
class _StoredUser:
    """A directory user as stored (plain column values, no ORM object: this is a hot path),
    and the columns this page changed."""

    row: dict[str, Any]
    changed: set[str] = field(default_factory=set)

    @property
    def id(self) -> int:
        return int(self.row["id"])

    @property
    def source_rule_id(self) -> int | None:
        return self.row["source_rule_id"]  # type: ignore[no-any-return]

    def set(self, column: str, value: Any) -> None:
        if self.row[column] != value:
            self.row[column] = value
            self.changed.add(column)


_NEW_USER_DEFAULTS: dict[str, Any] = {
    "given_name": None,
    "family_name": None,
    "display_name": None,
    "email": None,
    "phone": None,
    "title": None,
    "department": None,
    "employee_id": None,
    "manager": None,
    "active": True,
}
_LOADED = [column for column in _USERS.c if column.name != "created_at"]


class _PageUsers:
    """The directory users a page of source records may touch, loaded in two statements."""

    def __init__(self) -> None:
        self.by_key: dict[str, _StoredUser | _NewUser] = {}
        self.by_name: dict[str, _StoredUser | _NewUser] = {}
        self.inserts: list[dict[str, Any]] = []

    async def insert_new(self, session: AsyncSession, rule_id: int) -> list[int]:
        """Insert the page's new users in one executemany; return their ids.

        Plain executemany then one SELECT of the ids: on SQLite that is several times faster
        than an INSERT ... RETURNING per batch.
        """
        if not self.inserts:
            return []
        await insert_rows(session, _USERS, self.inserts)
        keys = [row["source_key"] for row in self.inserts]
        ids: list[int] = []
        for start in range(0, len(keys), _CHUNK):
            found = await session.execute(
                select_columns(_USERS.c.id, _USERS.c.source_rule_id).where(
                    _USERS.c.source_key.in_(keys[start : start + _CHUNK])
                )
            )
            ids += [user_id for user_id, owner in found if owner == rule_id]
        return ids

    async def write_changes(self, session: AsyncSession) -> None:
        """Update the changed columns of the users this page changed, one executemany for
        each set of columns (the same rows and values an ORM flush would write)."""
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        seen: set[int] = set()
        for user in (*self.by_key.values(), *self.by_name.values()):
            if isinstance(user, _StoredUser) and user.changed and user.id not in seen:
                seen.add(user.id)
                columns = tuple(sorted(user.changed))
                by_columns.setdefault(columns, []).append(
                    {"user_id": user.id, **{c: user.row[c] for c in columns}}
                )
        for columns, rows in by_columns.items():
            await session.execute(_update_statement(columns), rows)

    @classmethod
    async def load(
        cls, session: AsyncSession, rule_id: int, keys: Sequence[str], names: Sequence[str]
    ) -> _PageUsers:
        """The rule's users with these source keys, and the users with these names.

        Each lookup uses its own column's index only: with ``source_rule_id`` in the WHERE
        clause SQLite may scan the rule's users instead, once per page.
        """
        index = cls()
        loaded: dict[int, _StoredUser] = {}

        async def rows(column: Any, values: Sequence[str]) -> list[_StoredUser]:
            found = await session.execute(select_columns(*_LOADED).where(column.in_(values)))
            users = []
            for row in found.mappings():
                user = loaded.get(row["id"])
                if user is None:
                    user = loaded[row["id"]] = _StoredUser(dict(row))
                users.append(user)
            return users

        for start in range(0, max(len(keys), len(names)), _CHUNK):
            key_chunk, name_chunk = keys[start : start + _CHUNK], names[start : start + _CHUNK]
            if key_chunk:
                for user in await rows(_USERS.c.source_key, key_chunk):
                    if user.source_rule_id == rule_id:
                        index.by_key[user.row["source_key"] or ""] = user
            if name_chunk:
                for user in await rows(_USERS.c.user_name, name_chunk):
                    index.by_name[user.row["user_name"]] = user
        return index


@cache
def _update_statement(columns: tuple[str, ...]) -> Update:
    return (
        update(_USERS)
        .where(_USERS.c.id == bindparam("user_id"))
        .values({column: bindparam(column) for column in columns})
    )


@dataclass(frozen=True, slots=True)
class _PagePlan:
    """What every record of a page is applied with, computed once per page."""

    rule_id: int
    fields: dict[str, str]
    protected_fields: frozenset[str]
    preview: bool


def _apply_record(
    plan: _PagePlan, users: _PageUsers, record: UserRecord, now: datetime
) -> tuple[EntityOutcome, _StoredUser | None, list[AttributeDifference]]:
    """Create or update the directory user of one source record.

    :return: the outcome (in a preview, with the attributes an update changes), the user
        written (if any), and the written-back attributes whose directory value differs from
        the source's (the directory's value is to be written back).
    """
    key = record.key
    rule_id, fields = plan.rule_id, plan.fields
    values = {fields[name]: value for name, value in record.attributes.items() if name in fields}
    user_name = values.get("user_name")
    if not user_name:
        return _failed(key, "the source record has no userName"), None, []
    user = users.by_key.get(key)
    clash = users.by_name.get(user_name)
    if user is None and clash is not None:
        if clash.source_rule_id not in (None, rule_id):
            return (
                _failed(key, f"userName {user_name!r} belongs to another rule's user"),
                None,
                [],
            )
        user = clash  # adopt the directory user of the same name
    elif (
        user is not None
        and clash is not None
        and clash is not user
        and "user_name" not in plan.protected_fields
    ):
        return (
            _failed(key, f"userName {user_name!r} is taken by another directory user"),
            None,
            [],
        )
    differs: list[AttributeDifference] = []
    changed: list[AttributeDifference] = []
    if isinstance(user, _NewUser):
        return _failed(key, f"userName {user_name!r} appears twice in the source"), None, []
    if user is None:
        # New users are inserted in bulk at the end of the page.
        row = {
            **_NEW_USER_DEFAULTS,
            **values,
            "user_name": user_name,
            "source_rule_id": rule_id,
            "source_key": key,
            "created_at": now,
            "updated_at": now,
        }
        users.inserts.append(row)
        users.by_key[key] = users.by_name[user_name] = _NewUser(rule_id)
        action = Action.CREATE
    else:
        action = Action.NONE
        current_row = user.row
        if (current_row["source_rule_id"], current_row["source_key"]) != (rule_id, key):
            user.set("source_rule_id", rule_id)
            user.set("source_key", key)
        for name, value in values.items():
            current = current_row[name]
            if name in plan.protected_fields:
                if current not in (None, "") and current != value:
                    # The directory is the authority: its value goes back to the source.
                    differs.append(_difference(name, current, value))
                elif current in (None, ""):
                    user.set(name, value)
                continue
            if current != value:
                changed.append(_difference(name, value, current))
                user.set(name, value)
                action = Action.UPDATE
        if action is Action.UPDATE:
            user.set("updated_at", utcnow())
    outcome = EntityOutcome(
        kind=EntityKind.USER,
        key=key,
        state=EntityState.SUCCESS,
        action=action,
        reason=None
        if record.active or record.effective_from is None
        else f"future hire, effective {record.effective_from}",
        differences=tuple(changed) if plan.preview else (),
    )
    return outcome, user, differs


def _difference(field: str, source: Any, target: Any) -> AttributeDifference:
    """A difference for people: directory field values as short strings."""
    shown = [None if v is None else str(v)[:256] for v in (source, target)]
    return AttributeDifference(attribute=field, source_value=shown[0], target_value=shown[1])


def _failed(key: str, reason: str) -> EntityOutcome:
    return EntityOutcome(kind=EntityKind.USER, key=key, state=EntityState.FAILED, reason=reason)


def _canonical(user: _StoredUser, mappings: Mapping[str, str]) -> dict[str, Any]:
    """The canonical attributes of a stored user (as :func:`canonical_attributes`)."""
    return canonical_attributes(DirectoryUser(**user.row), mappings)


async def _deprovision(
    session: AsyncSession, ctx: RunContext, keys: Sequence[str]
) -> list[EntityOutcome]:
    action = DeprovisionAction(ctx.rule.deprovision_action)
    users = (await _PageUsers.load(session, ctx.rule_id, keys, ())).by_key
    outcomes = []
    disable: list[int] = []
    remove: list[int] = []
    for key in keys:
        user = users.get(key)
        if not isinstance(user, _StoredUser):
            user = None
        done = Action.NONE
        if user is not None and action is DeprovisionAction.DISABLE and user.row["active"]:
            user.row["active"], done = False, Action.DISABLE
            disable.append(user.id)
        elif user is not None and action is DeprovisionAction.DELETE:
            remove.append(user.id)
            done = Action.DELETE
        outcomes.append(
            EntityOutcome(
                kind=EntityKind.USER, key=key, state=EntityState.SUCCESS, action=done, removed=True
            )
        )
    for start in range(0, len(disable), _CHUNK):
        chunk = disable[start : start + _CHUNK]
        await session.execute(update(_USERS).where(_USERS.c.id.in_(chunk)).values(active=False))
    for start in range(0, len(remove), _CHUNK):
        chunk = remove[start : start + _CHUNK]
        await session.execute(delete(_USERS).where(_USERS.c.id.in_(chunk)))
    return outcomes


async def _stored_keys(session: AsyncSession, rule_id: int, keys: Sequence[str]) -> list[str]:
    """Which of these users have a state under the rule (in the order of ``keys``)."""
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        found.update(
            await session.scalars(
                select_columns(_STATES.c.entity_key).where(
                    _STATES.c.rule_id == rule_id,
                    _STATES.c.kind == EntityKind.USER.value,
                    _STATES.c.entity_key.in_(keys[start : start + _CHUNK]),
                )
            )
        )
    return list({key: None for key in keys if key in found})


async def _apply_page(
    ctx: RunContext, page: ReadPage, scope: Predicate, protected: frozenset[str], seen: set[str]
) -> tuple[list[int], list[WriteBackRequest]]:
    """Apply one page in one transaction: directory rows, states, tallies and audit events.

    :return: ids of the directory users written, and the write-backs the page calls for.
    """
    mappings = ctx.rule.attribute_mappings
    fields = field_map(mappings)
    plan = _PagePlan(
        rule_id=ctx.rule_id,
        fields=fields,
        protected_fields=frozenset(fields[a] for a in protected if a in fields),
        preview=ctx.preview,
    )
    in_scope: list[UserRecord] = []
    out_of_scope: list[str] = []
    for r in page.records:
        if isinstance(r, UserRecord):
            (in_scope.append(r) if scope(r.attributes) else out_of_scope.append(r.key))
    names = {(EntityKind.USER, f.key): f.key for f in page.failures}
    outcomes = list(page.failures)
    touched: list[_StoredUser] = []
    write_backs: list[WriteBackRequest] = []
    async with ctx.db.session() as session:
        known_out = await _stored_keys(session, plan.rule_id, out_of_scope)
        outcomes += await _deprovision(session, ctx, known_out)
        users = await _PageUsers.load(
            session,
            plan.rule_id,
            [r.key for r in in_scope],
            [str(r.attributes.get(_USER_NAME)) for r in in_scope if r.attributes.get(_USER_NAME)],
        )
        now = utcnow()
        for record in in_scope:
            seen.add(record.key)
            outcome, user, differs = _apply_record(plan, users, record, now)
            outcomes.append(outcome)
            name = record.attributes.get("displayName") or record.user_name or record.key
            names[(EntityKind.USER, record.key)] = str(name)
            if user is not None:
                touched.append(user)
            if user is not None and differs and plan.preview:
                outcomes.append(
                    EntityOutcome(
                        kind=EntityKind.USER,
                        key=record.key,
                        state=EntityState.SUCCESS,
                        action=Action.WRITE_BACK,
                        differences=tuple(differs),
                    )
                )
            elif user is not None and differs:
                attrs = _canonical(user, mappings)
                write_backs.append(
                    WriteBackRequest(
                        key=record.key, attributes={a: attrs.get(a) for a in protected}
                    )
                )
        created = await users.insert_new(session, plan.rule_id)
        await users.write_changes(session)
        processed = len(page.records) + len(page.failures)
        if plan.preview:
            await session.rollback()  # a preview computes the page's changes, then drops them
        else:
            await ctx.record_in(session, outcomes, names, processed)
            await session.commit()
    if plan.preview:
        await ctx.record(outcomes, names, processed)
        return [], []
    ctx.hub.publish(ctx.run)
    return [u.id for u in touched] + created, write_backs


_USER_NAME = "userName"


async def read_inbound(ctx: RunContext, *, incremental: bool, changed: DirectoryChanged) -> None:
    """Read users from the source into the directory; write back what the directory decides."""
    scope = compile_scope(ctx.rule.user_filter)
    protected = ctx.connector.write_back_attributes()
    watermark = ctx.rule.watermark if incremental else None
    new_watermark = watermark
    seen: set[str] = set()
    async for page in ctx.pages(ctx.connector.read(EntityKind.USER, watermark), "read users"):
        if page.total is not None and ctx.run.total is None:
            await ctx.progress(total=page.total)
        new_watermark = page.watermark or new_watermark
        touched, write_backs = await _apply_page(ctx, page, scope, protected, seen)
        changed(touched)
        if write_backs:
            await write_back(ctx, write_backs)
    if not incremental:
        async with ctx.db.session() as session:
            stored = await session.scalars(
                select(EntitySyncState.entity_key).where(
                    EntitySyncState.rule_id == ctx.rule_id,
                    EntitySyncState.kind == EntityKind.USER.value,
                )
            )
            stale = sorted(set(stored) - seen)
        if stale:
            async with ctx.db.session() as session:
                outcomes = await _deprovision(session, ctx, stale)
                await session.flush()
                if ctx.preview:
                    await session.rollback()
                else:
                    await ctx.record_in(session, outcomes, {}, 0)
                    await session.commit()
            if ctx.preview:
                await ctx.record(outcomes, {}, 0)
    if ctx.preview:
        return  # the watermark stays where the last real read left it
    async with ctx.db.session() as session:
        ctx.rule.watermark = new_watermark
        session.add(ctx.rule)
        await session.commit()


async def write_back(ctx: RunContext, requests: list[WriteBackRequest]) -> None:
    """Write directory values back to the source and record each user's outcome."""
    outcomes = await ctx.call(ctx.connector.write_back(requests), "write back")
    asked = {r.key for r in requests}
    await ctx.record_write_backs([o for o in outcomes if o.key in asked])


async def write_back_changes(ctx: RunContext, changes: Mapping[int, Collection[str]]) -> None:
    """Write back directory changes of users this inbound rule owns (changed fields given)."""
    protected = ctx.connector.write_back_attributes()
    fields = field_map(ctx.rule.attribute_mappings)
    requests: list[WriteBackRequest] = []
    async with ctx.db.session() as session:
        for user_id, changed_fields in changes.items():
            user = await session.get(DirectoryUser, user_id)
            if user is None or user.source_rule_id != ctx.rule_id or user.source_key is None:
                continue
            wanted = [a for a in protected if fields.get(a) in changed_fields]
            if wanted:
                attrs = canonical_attributes(user, ctx.rule.attribute_mappings)
                requests.append(
                    WriteBackRequest(
                        key=user.source_key, attributes={a: attrs.get(a) for a in wanted}
                    )
                )
    await ctx.progress(total=len(requests))
    if requests:
        await write_back(ctx, requests)
        await ctx.progress(processed=len(requests))
