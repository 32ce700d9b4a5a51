"""Outbound syncs: the directory pushed to a connection, in full or for changed entities."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import replace

from sqlalchemy import func
from sqlmodel import col, select

from provisync.engine.context import RunContext
from provisync.engine.mapping import display_name_of, source_attributes
from provisync.engine.mapping_eval import CompiledMapping, compiled
from provisync.engine.protection import guard_removals, mark_applied, released_removals
from provisync.engine.recorder import load_states
from provisync.engine.scope import Predicate, compile_scope
from provisync.engine.unpushed import groups_unpushed, record_unpushed, record_unreached
from provisync.scaleout.chunks import Checkpoint, help_run, plan, run_split
from provisync.store.models import (
    DirectoryGroup,
    DirectoryUser,
    EntitySyncState,
    GroupMembership,
    RunChunk,
)
from provisync_sdk import (
    Action,
    DeprovisionAction,
    DesiredGroup,
    DesiredUser,
    EntityKind,
    EntityOutcome,
    EntityState,
    MemberRef,
    ReconcileRequest,
    Removal,
    RunFailure,
)

Names = dict[tuple[EntityKind, str], str]
Pusher = Callable[[RunContext, list[DirectoryUser], Checkpoint | None], Awaitable[list[str]]]


def _complete(
    outcomes: Sequence[EntityOutcome], asked: Collection[tuple[EntityKind, str]]
) -> list[EntityOutcome]:
    """Keep the outcomes asked for; an entity the connector said nothing of is FAILED."""
    by_key = {(o.kind, o.key): o for o in outcomes if (o.kind, o.key) in asked}
    for kind, key in asked:
        if (kind, key) not in by_key:
            by_key[(kind, key)] = EntityOutcome(
                kind=kind,
                key=key,
                state=EntityState.FAILED,
                reason="the connector reported no outcome for this entity",
            )
    return list(by_key.values())


async def reconcile_batch(
    ctx: RunContext,
    request: ReconcileRequest,
    names: Names,
    processed: int,
    also: Checkpoint | None = None,
    failed: Sequence[EntityOutcome] = (),
) -> list[EntityOutcome]:
    """Send one batch to the connector and record its outcomes with ``failed`` (entities
    that never reached the connector, such as users whose mapping failed)."""
    if request.users and not request.matching_attributes:
        request = replace(request, matching_attributes=compiled(ctx.rule.mappings).matching)
    asked = [(EntityKind.USER, u.key) for u in request.users]
    asked += [(EntityKind.GROUP, g.key) for g in request.groups]
    asked += [
        (r.kind, r.key) for r in request.removals if r.action is not DeprovisionAction.NOTHING
    ]
    outcomes: list[EntityOutcome] = list(failed)
    if asked:
        if ctx.preview:
            request = replace(request, dry_run=True)
        try:
            outcomes += _complete(
                await ctx.call(ctx.connector.reconcile(request), "reconcile"), asked
            )
        except RunFailure as exc:
            if not ctx.preview:
                await record_unpushed(ctx, request, names, processed, asked, exc, failed)
            raise
    # Leaving scope with "do nothing" needs no connector: the entity just stops being impacted.
    outcomes += [
        EntityOutcome(kind=r.kind, key=r.key, state=EntityState.SUCCESS, removed=True)
        for r in request.removals
        if r.action is DeprovisionAction.NOTHING
    ]
    await ctx.record(outcomes, names, processed, also)
    return outcomes


async def _guarded(
    ctx: RunContext, kind: EntityKind, removals: Sequence[Removal], names: Names
) -> list[Removal]:
    """The removals deletion protection lets through now; a preview shows the held ones."""
    allowed, held, why = await guard_removals(ctx, kind, removals, names)
    if held and ctx.preview:
        await ctx.record(
            [
                EntityOutcome(
                    kind=kind,
                    key=r.key,
                    state=EntityState.SUCCESS,
                    action=Action(r.action.value),
                    reason=f"would be held by {why}",
                )
                for r in held
            ],
            names,
            len(held),
        )
    elif held:
        await ctx.progress(processed=len(held))
    return allowed


def mapping_failure(key: str, errors: dict[str, str]) -> EntityOutcome:
    """A user whose mapping failed: FAILED, with each failing target and why."""
    return EntityOutcome(
        kind=EntityKind.USER,
        key=key,
        state=EntityState.FAILED,
        reason="mapping failed: " + "; ".join(f"{t}: {why}" for t, why in sorted(errors.items())),
    )


def map_user(
    mapping: CompiledMapping, user: DirectoryUser, target_id: str | None
) -> DesiredUser | EntityOutcome:
    """A user's desired state under a rule's mapping, or its FAILED outcome."""
    evaluated = mapping.evaluate(source_attributes(user))
    key = str(user.id)
    if evaluated.errors:
        return mapping_failure(key, evaluated.errors)
    return DesiredUser(
        key=key, attributes=evaluated.values, target_id=target_id, create_only=mapping.create_only
    )


async def _desired_users(
    ctx: RunContext, users: Sequence[DirectoryUser], scope: Predicate
) -> tuple[list[DesiredUser], Names, list[EntityOutcome]]:
    """The in-scope users' desired states, their names, and the users whose mapping failed."""
    names: Names = {}
    candidates: list[DirectoryUser] = []
    for user in users:
        if scope(source_attributes(user)):
            candidates.append(user)
            names[(EntityKind.USER, str(user.id))] = display_name_of(user)
    async with ctx.db.session() as session:
        states = await load_states(
            session, ctx.rule_id, EntityKind.USER, [str(u.id) for u in candidates]
        )
    mapping = compiled(ctx.rule.mappings)
    desired: list[DesiredUser] = []
    failed: list[EntityOutcome] = []
    for user in candidates:
        stored = states.get(str(user.id))
        mapped = map_user(mapping, user, stored.target_id if stored else None)
        (desired if isinstance(mapped, DesiredUser) else failed).append(mapped)  # type: ignore[arg-type]
    return desired, names, failed


async def _stale_removals(
    ctx: RunContext, kind: EntityKind, keep: set[str]
) -> tuple[list[Removal], Names]:
    async with ctx.db.session() as session:
        rows = (
            await session.execute(
                select(
                    EntitySyncState.entity_key,
                    EntitySyncState.target_id,
                    EntitySyncState.display_name,
                ).where(EntitySyncState.rule_id == ctx.rule_id, EntitySyncState.kind == kind.value)
            )
        ).all()
    action = DeprovisionAction(ctx.rule.deprovision_action)
    removals = [
        Removal(kind=kind, key=k, target_id=t, action=action) for k, t, _ in rows if k not in keep
    ]
    names = {(kind, k): n for k, _, n in rows if k not in keep}
    return removals, names


async def desired_groups(
    ctx: RunContext, group_ids: Collection[int], in_scope: set[str]
) -> tuple[list[DesiredGroup], Names]:
    if not group_ids:
        return [], {}
    async with ctx.db.session() as session:
        groups = list(
            await session.scalars(
                select(DirectoryGroup).where(col(DirectoryGroup.id).in_(list(group_ids)))  # type: ignore[union-attr]
            )
        )
        members = (
            await session.execute(
                select(GroupMembership.group_id, GroupMembership.user_id).where(
                    col(GroupMembership.group_id).in_([g.id for g in groups])  # type: ignore[attr-defined]
                )
            )
        ).all()
        member_keys = sorted({str(u) for _, u in members if str(u) in in_scope})
        user_states = await load_states(session, ctx.rule_id, EntityKind.USER, member_keys)
        group_states = await load_states(
            session, ctx.rule_id, EntityKind.GROUP, [str(g.id) for g in groups]
        )
    by_group: dict[int, list[MemberRef]] = {}
    for group_id, user_id in members:
        key = str(user_id)
        if key in in_scope:
            state = user_states.get(key)
            by_group.setdefault(group_id, []).append(
                MemberRef(key=key, target_id=state.target_id if state else None)
            )
    desired = []
    for g in groups:
        stored = group_states.get(str(g.id))
        desired.append(
            DesiredGroup(
                key=str(g.id),
                display_name=g.display_name,
                members=tuple(by_group.get(g.id or 0, ())),
                target_id=stored.target_id if stored else None,
                managed_members=tuple(stored.managed_members or ()) if stored else (),
            )
        )
    return desired, {(EntityKind.GROUP, str(g.id)): g.display_name for g in groups}


async def _sync_groups(ctx: RunContext, in_scope: set[str]) -> None:
    async with ctx.db.session() as session:
        existing = set(
            await session.scalars(
                select(DirectoryGroup.id).where(col(DirectoryGroup.id).in_(ctx.rule.group_ids))  # type: ignore[union-attr]
            )
        )
    groups, names = await desired_groups(ctx, existing, in_scope)
    removals, removal_names = await _stale_removals(
        ctx, EntityKind.GROUP, {str(i) for i in existing}
    )
    removals = await _guarded(ctx, EntityKind.GROUP, removals, removal_names)
    await reconcile_batch(
        ctx,
        ReconcileRequest(groups=groups, removals=removals),
        {**names, **removal_names},
        len(groups) + len(removals),
    )


async def _users_in_scope_up_to(ctx: RunContext, scope: Predicate, last_id: int) -> set[str]:
    """The keys of the users a resumed run already pushed that are in scope (no target call)."""
    keys: set[str] = set()
    after = 0
    while after < last_id:
        async with ctx.db.session() as session:
            users = list(
                await session.scalars(
                    select(DirectoryUser)
                    .where(col(DirectoryUser.id) > after, col(DirectoryUser.id) <= last_id)
                    .order_by(col(DirectoryUser.id))
                    .limit(ctx.batch_size)
                )
            )
        if not users:
            break
        after = users[-1].id or 0
        keys.update(
            str(u.id) for u in users if scope(source_attributes(u))
        )
    return keys


def _pusher(scope: Predicate) -> Pusher:
    """Pushes a batch of users (with a chunk's checkpoint); returns the keys in scope."""

    async def push(
        ctx: RunContext, users: list[DirectoryUser], also: Checkpoint | None = None
    ) -> list[str]:
        desired, names, failed = await _desired_users(ctx, users, scope)
        await reconcile_batch(
            ctx, ReconcileRequest(users=desired), names, len(users), also, failed
        )
        return [d.key for d in desired] + [f.key for f in failed]

    return push


async def _split(ctx: RunContext, user_total: int) -> bool:
    """Whether this resync is split into chunks for workers (:mod:`provisync.scaleout.chunks`)."""
    if ctx.preview or ctx.fan_out is None or ctx.chunk_size <= 0:
        return False
    if ctx.run.checkpoint.get("last_user_id"):
        return False  # begun unsplit before its worker died: it resumes unsplit
    async with ctx.db.session() as session:
        planned = await session.scalar(
            select(func.count()).select_from(RunChunk).where(RunChunk.run_id == ctx.run.id)
        )
    return bool(planned) or user_total > ctx.chunk_size


async def full_outbound(ctx: RunContext) -> None:
    """:func:`_full_outbound`; when it fails as a whole, the impacted entities it never reached
    get a truthful state (:func:`provisync.engine.unpushed.record_unreached`)."""
    try:
        await _full_outbound(ctx)
    except RunFailure as exc:
        if not ctx.preview:
            await record_unreached(ctx, compile_scope(ctx.rule.user_filter), str(exc))
        raise


async def _full_outbound(ctx: RunContext) -> None:
    """Push every directory user in scope and the rule's groups; deprovision who left scope.

    Users go in batches by id; each batch's outcomes and the run's checkpoint (the last user
    id done) commit together, so a run that a dead worker left resumes after the last batch
    it recorded, and no outcome is recorded twice. In the queue mode a large resync is split
    into chunks that several workers push at once, each with its own checkpoint.
    """
    scope = compile_scope(ctx.rule.user_filter)
    async with ctx.db.session() as session:
        user_total = await session.scalar(select(func.count()).select_from(DirectoryUser)) or 0
    total = user_total + len(ctx.rule.group_ids)
    push = _pusher(scope)
    if await _split(ctx, user_total):
        ctx.shared = True  # other workers add to the run's progress from now on
        try:
            await ctx.progress(total=total)
            last_id = await run_split(ctx, await plan(ctx), push)
        finally:
            await ctx.reload_progress()
            ctx.shared = False
        in_scope = await _users_in_scope_up_to(ctx, scope, last_id)
    else:
        await ctx.progress(total=total)
        last_id = 0 if ctx.preview else int(ctx.run.checkpoint.get("last_user_id", 0))
        in_scope = await _users_in_scope_up_to(ctx, scope, last_id) if last_id else set()
        while True:
            async with ctx.db.session() as session:
                users = list(
                    await session.scalars(
                        select(DirectoryUser)
                        .where(DirectoryUser.id > last_id)  # type: ignore[operator]
                        .order_by(DirectoryUser.id)  # type: ignore[arg-type]
                        .limit(ctx.batch_size)
                    )
                )
            if not users:
                break
            last_id = users[-1].id or 0
            ctx.run.checkpoint = {"last_user_id": last_id}  # commits with the batch's outcomes
            in_scope.update(await push(ctx, users, None))
    removals, names = await _stale_removals(ctx, EntityKind.USER, in_scope)
    if removals:
        await ctx.progress(total=(ctx.run.total or 0) + len(removals))
        removals = await _guarded(ctx, EntityKind.USER, removals, names)
        for start in range(0, len(removals), ctx.batch_size):
            chunk = removals[start : start + ctx.batch_size]
            await reconcile_batch(ctx, ReconcileRequest(removals=chunk), names, len(chunk))
    await _sync_groups(ctx, in_scope)


async def help_outbound(ctx: RunContext) -> None:
    """A helper job of a split full resync: push the chunks no worker holds."""
    await help_run(ctx, _pusher(compile_scope(ctx.rule.user_filter)))


async def incremental_outbound(
    ctx: RunContext, user_ids: Collection[int], group_ids: Collection[int]
) -> None:
    """Push changed directory users (and groups) of one rule, within a second of the change."""
    scope = compile_scope(ctx.rule.user_filter)
    keys = sorted(str(i) for i in user_ids)
    async with ctx.db.session() as session:
        users = list(
            await session.scalars(
                select(DirectoryUser).where(col(DirectoryUser.id).in_(list(user_ids)))
            )  # type: ignore[union-attr]
        )
        known = await load_states(session, ctx.rule_id, EntityKind.USER, keys)
    await ctx.progress(total=len(keys))
    desired, names, failed = await _desired_users(ctx, users, scope)
    wanted = {d.key for d in desired} | {f.key for f in failed}
    action = DeprovisionAction(ctx.rule.deprovision_action)
    removals = [
        Removal(kind=EntityKind.USER, key=k, target_id=row.target_id, action=action)
        for k, row in known.items()
        if k not in wanted
    ]
    names.update(
        {(EntityKind.USER, k): row.display_name for k, row in known.items() if k not in wanted}
    )
    removals = await _guarded(ctx, EntityKind.USER, removals, names)
    # The callers pass the groups that matter to this rule (its groups, and groups it lost).
    touched = set(group_ids)
    try:
        outcomes = await reconcile_batch(
            ctx, ReconcileRequest(users=desired, removals=removals), names, len(keys), None, failed
        )
    except RunFailure as exc:
        if ctx.record_unpushed and touched:
            await groups_unpushed(ctx, touched, str(exc))
        raise
    scope_moved = bool(removals) or any(d.key not in known for d in desired)
    # A (re)created account, or a create that failed, changes the member ids groups must hold.
    scope_moved = scope_moved or any(o.action is Action.CREATE for o in outcomes)
    if scope_moved or touched:
        async with ctx.db.session() as session:
            in_scope = set(
                await session.scalars(
                    select(EntitySyncState.entity_key).where(
                        EntitySyncState.rule_id == ctx.rule_id,
                        EntitySyncState.kind == EntityKind.USER.value,
                    )
                )
            )
        await _sync_groups(ctx, in_scope)


async def release_outbound(ctx: RunContext) -> None:
    """Apply the disables and deletes an operator released from deletion protection."""
    removals, names = await released_removals(ctx)
    await ctx.progress(total=len(removals))
    for kind in (EntityKind.USER, EntityKind.GROUP):
        of_kind = [r for r in removals if r.kind is kind]
        for start in range(0, len(of_kind), ctx.batch_size):
            chunk = of_kind[start : start + ctx.batch_size]
            await reconcile_batch(ctx, ReconcileRequest(removals=chunk), names, len(chunk))
            await mark_applied(ctx, chunk)
