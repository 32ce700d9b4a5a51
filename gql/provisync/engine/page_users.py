"""The directory users a page of an inbound read touches: loaded as plain rows, changed in
memory, written in bulk; and the users a page deprovisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Update, bindparam, delete, update
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncSession

from provisync.engine.bulk import insert_rows, select_in
from provisync.store.models import DirectoryUser, EntitySyncState, table_of
from provisync_sdk import Action, DeprovisionAction, EntityKind, EntityOutcome, EntityState

_USERS = table_of(DirectoryUser)
_STATES = table_of(EntitySyncState)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class NewUser:
    """A directory user this page creates (inserted in bulk when the page ends)."""

    source_rule_id: int


@dataclass(eq=False, slots=True)
class StoredUser:
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


NEW_USER_DEFAULTS: dict[str, Any] = {
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
    "extension_attributes": {},
}
_LOADED = tuple(column.name for column in _USERS.c if column.name != "created_at")


class PageUsers:
    """The directory users a page of source records may touch, loaded in two statements."""

    def __init__(self) -> None:
        self.new_user: NewUser | None = None
        """The one marker of the page's new users (all alike)."""
        self.by_key: dict[str, StoredUser | NewUser] = {}
        self.by_name: dict[str, StoredUser | NewUser] = {}
        self.inserts: list[dict[str, Any]] = []

    async def insert_new(self, session: AsyncSession, rule_id: int) -> list[int]:
        """Insert the page's new users in one executemany; return their ids.

        The ids come back with SQLite's one INSERT of many rows; elsewhere from one SELECT
        after a plain executemany (several times faster than INSERT ... RETURNING per batch).
        """
        if not self.inserts:
            return []
        returned = await insert_rows(session, _USERS, self.inserts, returning="id")
        if returned is not None:
            return [int(user_id) for user_id in returned]
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
            if isinstance(user, StoredUser) and user.changed and user.id not in seen:
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
    ) -> PageUsers:
        """The rule's users with these source keys, and the users with these names.

        Each lookup uses its own column's index only: with ``source_rule_id`` in the WHERE
        clause SQLite may scan the rule's users instead, once per page.
        """
        index = cls()
        loaded: dict[int, StoredUser] = {}

        async def rows(column: str, values: Sequence[str]) -> list[StoredUser]:
            users = []
            for row in await select_in(session, _USERS, _LOADED, column, values):
                user = loaded.get(row.id)
                if user is None:
                    user = loaded[row.id] = StoredUser(dict(zip(_LOADED, row, strict=True)))
                users.append(user)
            return users

        for start in range(0, max(len(keys), len(names)), _CHUNK):
            key_chunk, name_chunk = keys[start : start + _CHUNK], names[start : start + _CHUNK]
            if key_chunk:
                for user in await rows("source_key", key_chunk):
                    if user.source_rule_id == rule_id:
                        index.by_key[user.row["source_key"] or ""] = user
            if name_chunk:
                for user in await rows("user_name", name_chunk):
                    index.by_name[user.row["user_name"]] = user
        return index


@cache
def _update_statement(columns: tuple[str, ...]) -> Update:
    return (
        update(_USERS)
        .where(_USERS.c.id == bindparam("user_id"))
        .values({column: bindparam(column) for column in columns})
    )


@dataclass(eq=False, slots=True)
class Deprovision:
    """Source records out of the rule's scope whose users the page deprovisions."""

    outcomes: list[EntityOutcome] = field(default_factory=list)
    disable: list[int] = field(default_factory=list)
    remove: list[int] = field(default_factory=list)

    async def write(self, session: AsyncSession) -> None:
        for start in range(0, len(self.disable), _CHUNK):
            chunk = self.disable[start : start + _CHUNK]
            await session.execute(update(_USERS).where(_USERS.c.id.in_(chunk)).values(active=False))
        for start in range(0, len(self.remove), _CHUNK):
            chunk = self.remove[start : start + _CHUNK]
            await session.execute(delete(_USERS).where(_USERS.c.id.in_(chunk)))


async def plan_deprovision(
    session: AsyncSession, rule_id: int, action: DeprovisionAction, keys: Sequence[str]
) -> tuple[Deprovision, PageUsers]:
    """What deprovisioning these users of a rule takes (read only), and the users loaded."""
    loaded = await PageUsers.load(session, rule_id, keys, ())
    plan = Deprovision()
    for key in keys:
        user = loaded.by_key.get(key)
        if not isinstance(user, StoredUser):
            user = None
        done = Action.NONE
        if user is not None and action is DeprovisionAction.DISABLE and user.row["active"]:
            user.row["active"], done = False, Action.DISABLE
            plan.disable.append(user.id)
        elif user is not None and action is DeprovisionAction.DELETE:
            plan.remove.append(user.id)
            done = Action.DELETE
        plan.outcomes.append(
            EntityOutcome(
                kind=EntityKind.USER, key=key, state=EntityState.SUCCESS, action=done, removed=True
            )
        )
    return plan, loaded


async def stored_keys(session: AsyncSession, rule_id: int, keys: Sequence[str]) -> list[str]:
    """Which of these users have a state under the rule (in the order of ``keys``)."""
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        rows = await select_in(
            session,
            _STATES,
            ("entity_key",),
            "entity_key",
            keys[start : start + _CHUNK],
            {"rule_id": rule_id, "kind": EntityKind.USER.value},
        )
        found.update(row.entity_key for row in rows)
    return list({key: None for key in keys if key in found})
