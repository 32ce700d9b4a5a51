"""Inbound syncs: a source read into the directory, and write-back of directory changes.

Each page read is applied in one transaction (directory rows, states, audit), so a read that
fails part-way leaves no half-applied page, and the watermark moves only when a read ends.
A page is planned while the one before it is written (see :func:`read_inbound`).
Attributes the connection writes back are the directory's to decide: an inbound sync sets them
on new users only, and writes back those that differ from the source.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import select

from provisync.engine.context import RunContext
from provisync.engine.mapping import field_map, write_back_values
from provisync.engine.page_users import (
    NEW_USER_DEFAULTS,
    Deprovision,
    NewUser,
    PageUsers,
    StoredUser,
    plan_deprovision,
    stored_keys,
)
from provisync.engine.scope import EXTENSION, Predicate, compile_scope
from provisync.store.models import DirectoryUser, EntitySyncState, utcnow
from provisync_sdk import (
    Action,
    AttributeDifference,
    DeprovisionAction,
    EntityKind,
    EntityOutcome,
    EntityState,
    ReadPage,
    RunFailure,
    UserRecord,
    WriteBackOutcome,
    WriteBackRequest,
)

DirectoryChanged = Callable[[Collection[int]], None]


@dataclass(frozen=True, slots=True)
class _PagePlan:
    """What every record of a page is applied with, computed once per page."""

    rule_id: int
    fields: dict[str, str]
    protected_fields: frozenset[str]
    preview: bool


def _apply_record(
    plan: _PagePlan, users: PageUsers, record: UserRecord, now: datetime
) -> tuple[EntityOutcome, StoredUser | None, list[AttributeDifference]]:
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
    if isinstance(user, NewUser):
        return _failed(key, f"userName {user_name!r} appears twice in the source"), None, []
    if user is None:
        # New users are inserted in bulk at the end of the page.
        row = {
            **NEW_USER_DEFAULTS,
            **values,
            "extension_attributes": _extensions_after({}, record.extension_attributes),
            "user_name": user_name,
            "source_rule_id": rule_id,
            "source_key": key,
            "created_at": now,
            "updated_at": now,
        }
        users.inserts.append(row)
        if users.new_user is None:
            users.new_user = NewUser(rule_id)
        users.by_key[key] = users.by_name[user_name] = users.new_user
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
        if record.extension_attributes:
            current_ext = current_row.get("extension_attributes") or {}
            new_ext = _extensions_after(current_ext, record.extension_attributes)
            if new_ext != current_ext:
                changed += [
                    _difference(f"ext.{n}", new_ext.get(n), current_ext.get(n))
                    for n in sorted(set(new_ext) | set(current_ext))
                    if new_ext.get(n) != current_ext.get(n)
                ]
                user.set("extension_attributes", new_ext)
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


def _extensions_after(current: Mapping[str, Any], reported: Mapping[str, Any]) -> dict[str, Any]:
    """A user's extension attributes after a source reported some (``None`` removes one)."""
    result = dict(current)
    for name, value in reported.items():
        if value is None or value == "":
            result.pop(name, None)
        else:
            result[name] = value
    return result


def _difference(field: str, source: Any, target: Any) -> AttributeDifference:
    """A difference for people: directory field values as short strings."""
    shown = [None if v is None else str(v)[:256] for v in (source, target)]
    return AttributeDifference(attribute=field, source_value=shown[0], target_value=shown[1])


def _failed(key: str, reason: str) -> EntityOutcome:
    return EntityOutcome(kind=EntityKind.USER, key=key, state=EntityState.FAILED, reason=reason)




@dataclass(eq=False, slots=True)
class _PageWork:
    """A page applied in memory (planned from what the database held), yet to be written."""

    users: PageUsers
    deprovision: Deprovision
    outcomes: list[EntityOutcome]
    names: dict[tuple[EntityKind, str], str]
    touched: list[StoredUser]
    write_backs: list[WriteBackRequest]
    processed: int


def _page_keys(page: ReadPage, name_attributes: Collection[str]) -> set[str]:
    """The entity keys and user names a page may read or write: its records' keys, and the
    values of the attributes that name users (``userName``, and any mapped to it)."""
    keys = {f.key for f in page.failures}
    for record in page.records:
        keys.add(record.key)
        if isinstance(record, UserRecord):
            for attribute in name_attributes:
                name = record.attributes.get(attribute)
                if name:
                    keys.add(str(name))
    return keys


async def _plan_page(
    ctx: RunContext, page: ReadPage, scope: Predicate, protected: frozenset[str], seen: set[str]
) -> tuple[_PageWork, set[str]]:
    """Read what a page needs and apply it in memory (no write).

    :return: the page's work, and the keys and names of the directory users it loaded (as
        stored before the page).
    """
    mappings = ctx.rule.mappings
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
            attributes = (
                {**r.attributes, EXTENSION: r.extension_attributes}
                if r.extension_attributes
                else r.attributes
            )
            (in_scope.append(r) if scope(attributes) else out_of_scope.append(r.key))
    names = {(EntityKind.USER, f.key): f.key for f in page.failures}
    outcomes = list(page.failures)
    touched: list[StoredUser] = []
    write_backs: list[WriteBackRequest] = []
    async with ctx.db.session() as session:
        known_out = await stored_keys(session, plan.rule_id, out_of_scope)
        deprovision, gone = await plan_deprovision(
            session, plan.rule_id, DeprovisionAction(ctx.rule.deprovision_action), known_out
        )
        users = await PageUsers.load(
            session,
            plan.rule_id,
            [r.key for r in in_scope],
            [str(r.attributes.get(_USER_NAME)) for r in in_scope if r.attributes.get(_USER_NAME)],
        )
    loaded: set[str] = set()
    for stored in (*gone.by_key.values(), *users.by_key.values(), *users.by_name.values()):
        if isinstance(stored, StoredUser):
            loaded.add(stored.row["user_name"])
            loaded.add(stored.row["source_key"] or "")
    outcomes += deprovision.outcomes
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
            values = write_back_values(DirectoryUser(**user.row), mappings, protected)
            write_backs.append(WriteBackRequest(key=record.key, attributes=values))
    processed = len(page.records) + len(page.failures)
    work = _PageWork(users, deprovision, outcomes, names, touched, write_backs, processed)
    return work, loaded


async def _write_page(ctx: RunContext, work: _PageWork, changed: DirectoryChanged) -> None:
    """Write a planned page in one transaction (directory rows, states, tallies and audit
    events), then tell who needs to know and write back what the page calls for."""
    async with ctx.db.session() as session:
        await work.deprovision.write(session)
        created = await work.users.insert_new(session, ctx.rule_id)
        await work.users.write_changes(session)
        if ctx.preview:
            await session.rollback()  # a preview computes the page's changes, then drops them
        else:
            await ctx.record_in(session, work.outcomes, work.names, work.processed)
            await session.commit()
    if ctx.preview:
        await ctx.record(work.outcomes, work.names, work.processed)
        return
    ctx.hub.publish(ctx.run)
    changed([u.id for u in work.touched] + created)
    if work.write_backs:
        await write_back(ctx, work.write_backs)


_USER_NAME = "userName"


async def read_inbound(ctx: RunContext, *, incremental: bool, changed: DirectoryChanged) -> None:
    """Read users from the source into the directory; write back what the directory decides.

    A page is planned (read, applied in memory) while the page before it is written and
    committed: the database's work on one overlaps the Python work on the next. A page whose
    keys or user names meet those the page in writing read or writes waits for that write
    first, so each page is planned from what the pages before it left; pages are written one
    at a time, in order, each in one transaction.
    """
    scope = compile_scope(ctx.rule.user_filter)
    protected = ctx.connector.write_back_attributes()
    watermark = ctx.rule.watermark if incremental else None
    new_watermark = watermark
    seen: set[str] = set()
    fields = field_map(ctx.rule.mappings)
    name_attributes = {_USER_NAME, *(a for a, column in fields.items() if column == "user_name")}
    writing: asyncio.Task[None] | None = None
    writing_keys: set[str] = set()

    try:
        async for page in ctx.pages(ctx.connector.read(EntityKind.USER, watermark), "read users"):
            if page.total is not None and ctx.run.total is None:
                if writing is not None:
                    await writing  # progress rows are written by one page at a time
                    writing = None
                await ctx.progress(total=page.total)
            new_watermark = page.watermark or new_watermark
            keys = _page_keys(page, name_attributes)
            if writing is not None and not keys.isdisjoint(writing_keys):
                await writing
                writing = None
            work, loaded = await _plan_page(ctx, page, scope, protected, seen)
            if writing is not None:
                await writing
            writing_keys = keys | loaded
            writing = asyncio.create_task(_write_page(ctx, work, changed))
        if writing is not None:
            await writing
            writing = None
    finally:
        if writing is not None:
            # A failed read still leaves the page in writing whole (or not at all).
            with contextlib.suppress(Exception):
                await writing
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
                deprovision, _loaded = await plan_deprovision(
                    session, ctx.rule_id, DeprovisionAction(ctx.rule.deprovision_action), stale
                )
                await deprovision.write(session)
                outcomes = deprovision.outcomes
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
    """Write directory values back to the source and record each user's outcome.

    A write-back that fails as a whole (the source is down) fails every user it carried,
    with the reason: they count in ``writeBackFailures`` and wait in the retry queue.
    """
    try:
        outcomes = await ctx.call(ctx.connector.write_back(requests), "write back")
    except RunFailure as exc:
        if not ctx.preview:
            failed = [
                WriteBackOutcome(key=r.key, ok=False, reason=f"not written back: {exc}")
                for r in requests
            ]
            await ctx.record_write_backs(failed, requests, observe=False)
        raise
    asked = {r.key for r in requests}
    reported = [o for o in outcomes if o.key in asked]
    missing = asked - {o.key for o in reported}
    reported += [
        WriteBackOutcome(key=k, ok=False, reason="the connector reported no outcome")
        for k in sorted(missing)
    ]
    await ctx.record_write_backs(reported, requests)


async def write_back_changes(ctx: RunContext, changes: Mapping[int, Collection[str]]) -> None:
    """Write back directory changes of users this inbound rule owns (changed fields given)."""
    protected = ctx.connector.write_back_attributes()
    fields = field_map(ctx.rule.mappings)
    requests: list[WriteBackRequest] = []
    async with ctx.db.session() as session:
        for user_id, changed_fields in changes.items():
            user = await session.get(DirectoryUser, user_id)
            if user is None or user.source_rule_id != ctx.rule_id or user.source_key is None:
                continue
            wanted = [a for a in protected if fields.get(a) in changed_fields]
            if wanted:
                values = write_back_values(user, ctx.rule.mappings, wanted)
                requests.append(WriteBackRequest(key=user.source_key, attributes=values))
    await ctx.progress(total=len(requests))
    if requests:
        await write_back(ctx, requests)
        await ctx.progress(processed=len(requests))
