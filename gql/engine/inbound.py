"""Inbound syncs: a source read into the directory, and write-back of directory changes.

Each page read is applied in one transaction (directory rows, states, audit), so a read that
fails part-way leaves no half-applied page, and the watermark moves only when a read ends.
Attributes the connection writes back are the directory's to decide: an inbound sync sets them
on new users only, and writes back those that differ from the source.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from connectors import (
    Action,
    DeprovisionAction,
    EntityKind,
    EntityOutcome,
    EntityState,
    UserRecord,
    WriteBackRequest,
)
from gql.engine.context import RunContext
from gql.engine.mapping import canonical_attributes, directory_values, field_map
from gql.engine.recorder import load_states, record_outcomes
from gql.engine.scope import compile_scope
from gql.store.models import DirectoryUser, EntitySyncState, utcnow

DirectoryChanged = Callable[[Collection[int]], None]


async def _apply_record(
    session: AsyncSession,
    ctx: RunContext,
    record: UserRecord,
    protected: frozenset[str],
) -> tuple[EntityOutcome, DirectoryUser | None, dict[str, Any]]:
    """Create or update the directory user of one source record.

    :return: the outcome, the user written (if any), and write-back values that differ.
    """
    key = record.key
    values = directory_values(record.attributes, ctx.rule.attribute_mappings)
    user_name = values.get("user_name")
    if not user_name:
        return _failed(key, "the source record has no userName"), None, {}
    user = await session.scalar(
        select(DirectoryUser).where(
            DirectoryUser.source_rule_id == ctx.rule_id, DirectoryUser.source_key == key
        )
    )
    clash = await session.scalar(select(DirectoryUser).where(DirectoryUser.user_name == user_name))
    if user is None and clash is not None:
        if clash.source_rule_id not in (None, ctx.rule_id):
            return _failed(key, f"userName {user_name!r} belongs to another rule's user"), None, {}
        user = clash  # adopt the directory user of the same name
    elif (
        user is not None
        and clash is not None
        and clash.id != user.id
        and "userName" not in protected
    ):
        return _failed(key, f"userName {user_name!r} is taken by another directory user"), None, {}
    fields = field_map(ctx.rule.attribute_mappings)
    protected_fields = {fields[a] for a in protected if a in fields}
    differing: dict[str, Any] = {}
    if user is None:
        user = DirectoryUser(user_name=user_name, source_rule_id=ctx.rule_id, source_key=key)
        action = Action.CREATE
        for field, value in values.items():
            setattr(user, field, value)
        session.add(user)
    else:
        action = Action.NONE
        user.source_rule_id, user.source_key = ctx.rule_id, key
        for field, value in values.items():
            current = getattr(user, field)
            if field in protected_fields:
                if current not in (None, "") and current != value:
                    differing[field] = current
                elif current in (None, ""):
                    setattr(user, field, value)
                continue
            if current != value:
                setattr(user, field, value)
                action = Action.UPDATE
        if action is Action.UPDATE:
            user.updated_at = utcnow()
    outcome = EntityOutcome(
        kind=EntityKind.USER,
        key=key,
        state=EntityState.SUCCESS,
        action=action,
        reason=None
        if record.active or record.effective_from is None
        else f"future hire, effective {record.effective_from}",
    )
    return outcome, user, differing


def _failed(key: str, reason: str) -> EntityOutcome:
    return EntityOutcome(kind=EntityKind.USER, key=key, state=EntityState.FAILED, reason=reason)


async def _deprovision(
    session: AsyncSession, ctx: RunContext, keys: Collection[str]
) -> list[EntityOutcome]:
    action = DeprovisionAction(ctx.rule.deprovision_action)
    outcomes = []
    for key in keys:
        user = await session.scalar(
            select(DirectoryUser).where(
                DirectoryUser.source_rule_id == ctx.rule_id, DirectoryUser.source_key == key
            )
        )
        done = Action.NONE
        if user is not None and action is DeprovisionAction.DISABLE and user.active:
            user.active, done = False, Action.DISABLE
        elif user is not None and action is DeprovisionAction.DELETE:
            await session.execute(delete(DirectoryUser).where(DirectoryUser.id == user.id))  # type: ignore[arg-type]
            done = Action.DELETE
        outcomes.append(
            EntityOutcome(
                kind=EntityKind.USER, key=key, state=EntityState.SUCCESS, action=done, removed=True
            )
        )
    return outcomes


async def read_inbound(ctx: RunContext, *, incremental: bool, changed: DirectoryChanged) -> None:
    """Read users from the source into the directory; write back what the directory decides."""
    scope = compile_scope(ctx.rule.user_filter)
    protected = ctx.connector.write_back_attributes()
    watermark = ctx.rule.watermark if incremental else None
    new_watermark = watermark
    seen: set[str] = set()
    reader = ctx.connector.read(EntityKind.USER, watermark)
    async for page in ctx.pages(reader, "read users"):
        if page.total is not None and ctx.run.total is None:
            await ctx.progress(total=page.total)
        new_watermark = page.watermark or new_watermark
        write_backs: list[WriteBackRequest] = []
        touched: list[DirectoryUser] = []
        async with ctx.db.session() as session:
            outcomes = list(page.failures)
            names = {(EntityKind.USER, f.key): f.key for f in page.failures}
            in_scope = [
                r for r in page.records if isinstance(r, UserRecord) and scope(r.attributes)
            ]
            out_of_scope = [
                r.key for r in page.records if isinstance(r, UserRecord) and not scope(r.attributes)
            ]
            known_out = await load_states(session, ctx.rule_id, EntityKind.USER, out_of_scope)
            outcomes += await _deprovision(session, ctx, list(known_out))
            for record in in_scope:
                seen.add(record.key)
                outcome, user, differing = await _apply_record(session, ctx, record, protected)
                outcomes.append(outcome)
                name = str(record.attributes.get("displayName") or record.user_name or record.key)
                names[(EntityKind.USER, record.key)] = name
                if user is not None:
                    touched.append(user)
                if user is not None and differing:
                    attrs = canonical_attributes(user, ctx.rule.attribute_mappings)
                    write_backs.append(
                        WriteBackRequest(
                            key=record.key, attributes={a: attrs.get(a) for a in protected}
                        )
                    )
            await session.flush()
            summary = await record_outcomes(
                session, rule_id=ctx.rule_id, run_id=ctx.run.id, outcomes=outcomes, names=names
            )
            ctx.counts.update(summary)
            await ctx._advance(session, len(page.records) + len(page.failures))
            await session.commit()
        ctx.hub.publish(ctx.run)
        changed([u.id for u in touched if u.id is not None])
        if write_backs:
            await write_back(ctx, write_backs)
    if not incremental:
        async with ctx.db.session() as session:
            stale = (
                set(
                    await session.scalars(
                        select(EntitySyncState.entity_key).where(
                            EntitySyncState.rule_id == ctx.rule_id,
                            EntitySyncState.kind == EntityKind.USER.value,
                        )
                    )
                )
                - seen
            )
        if stale:
            async with ctx.db.session() as session:
                outcomes = await _deprovision(session, ctx, sorted(stale))
                await session.flush()
                await record_outcomes(
                    session, rule_id=ctx.rule_id, run_id=ctx.run.id, outcomes=outcomes, names={}
                )
                await session.commit()
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
