"""The sync engine: starts runs, keeps one running per rule, polls, and pushes changes.

Runs execute as asyncio tasks in this process (the embedded mode). A plugin that raises or
hangs fails its run; nothing it does reaches the caller of :meth:`SyncEngine.request_run`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import col, select

from connectors import ConnectorRegistry, Direction, RunFailure
from gql.engine.context import RunContext, open_connector
from gql.engine.inbound import read_inbound, write_back_changes
from gql.engine.outbound import full_outbound, incremental_outbound
from gql.engine.progress import ProgressHub
from gql.engine.recorder import admin_event
from gql.observability.logs import bind_run
from gql.observability.runs import RunObserver
from gql.settings import Settings
from gql.store.db import Database
from gql.store.models import DirectoryUser, ProvisioningConnection, Rule, SyncRun, utcnow

log = logging.getLogger("provisync.engine")
ACTIVE_STATUSES = ("QUEUED", "RUNNING")


class RunKind(StrEnum):
    FULL = "FULL"
    INCREMENTAL = "INCREMENTAL"
    POLL = "POLL"
    WRITE_BACK = "WRITE_BACK"


class SyncEngine:
    """Owns every sync run of this process."""

    def __init__(
        self, db: Database, registry: ConnectorRegistry, settings: Settings, hub: ProgressHub
    ) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings
        self.hub = hub
        self._rule_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._request_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending_users: dict[int, set[str]] = {}
        self._pending_groups: set[int] = set()
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self.observer = RunObserver()  # logs each run's end; the app's metrics replace it

    async def start(self) -> None:
        """Fail runs a previous process left unfinished, then start the change and poll loops."""
        async with self.db.session() as session:
            await session.execute(
                update(SyncRun)
                .where(col(SyncRun.status).in_(ACTIVE_STATUSES))  # type: ignore[attr-defined]
                .values(
                    status="FAILED", error="interrupted: the process stopped", finished_at=utcnow()
                )
            )
            await session.commit()
        self._loops = [
            asyncio.create_task(self._push_changes_loop(), name="provisync-push"),
            asyncio.create_task(self._poll_loop(), name="provisync-poll"),
        ]

    async def stop(self) -> None:
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        self._loops.clear()

    async def wait_idle(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until no run is pending or running (tests, demo seeding, shutdown)."""
        async with asyncio.timeout(timeout):
            while self._tasks or self._pending_users or self._pending_groups:
                if self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)
                else:
                    await asyncio.sleep(0.02)

    # runs ---------------------------------------------------------------------------------

    async def request_run(self, rule_id: int, kind: RunKind, actor: str = "system") -> SyncRun:
        """Start a run of a rule, or return the full resync already queued or running."""
        async with self._request_lock:
            async with self.db.session() as session:
                if kind in (RunKind.FULL, RunKind.POLL):
                    current = await session.scalar(
                        select(SyncRun)
                        .where(
                            SyncRun.rule_id == rule_id,
                            col(SyncRun.status).in_(ACTIVE_STATUSES),  # type: ignore[attr-defined]
                            col(SyncRun.kind).in_((RunKind.FULL.value, RunKind.POLL.value)),  # type: ignore[attr-defined]
                        )
                        .order_by(SyncRun.id)  # type: ignore[arg-type]
                    )
                    if current is not None:
                        return current
                run = SyncRun(rule_id=rule_id, kind=kind.value, status="QUEUED", started_by=actor)
                session.add(run)
                if kind is RunKind.FULL:
                    await session.flush()
                    session.add(
                        admin_event(
                            operation="FULL_RESYNC",
                            message="full resync requested",
                            actor=actor,
                            rule_id=rule_id,
                            run_id=run.id,
                        )
                    )
                await session.commit()
        self._spawn(run, {}, set())
        return run

    def _spawn(self, run: SyncRun, users: Mapping[int, Collection[str]], groups: set[int]) -> None:
        task = asyncio.create_task(
            self._execute(run, users, groups), name=f"provisync-run-{run.id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(
        self, run: SyncRun, users: Mapping[int, Collection[str]], groups: set[int]
    ) -> None:
        bind_run(run.rule_id, run.id)  # this task's log records carry the rule and run ids
        async with self._rule_locks[run.rule_id]:
            ctx: RunContext | None = None
            failure: BaseException | None = None
            try:
                ctx = await self._begin(run)
                await self._dispatch(ctx, RunKind(run.kind), users, groups)
                await self._finish(run, "SUCCEEDED", None, ctx)
            except RunFailure as exc:
                failure = exc
                log.warning("run %s of rule %s failed: %s", run.id, run.rule_id, exc)
                await self._finish(run, "FAILED", str(exc), ctx)
            except asyncio.CancelledError as exc:
                failure = exc
                await asyncio.shield(
                    self._finish(run, "FAILED", "cancelled: the process stopped", ctx)
                )
                raise
            except Exception as exc:  # an engine bug must not go unseen, nor kill the server
                failure = exc
                log.exception("run %s of rule %s crashed", run.id, run.rule_id)
                await self._finish(run, "FAILED", f"internal error: {type(exc).__name__}", ctx)
            finally:
                self.observer.run_ended(run, failure)
                if ctx is not None:
                    try:
                        await asyncio.wait_for(ctx.connector.aclose(), 5)
                    except Exception:
                        log.warning("connector of rule %s did not close cleanly", run.rule_id)

    async def _begin(self, run: SyncRun) -> RunContext:
        async with self.db.session() as session:
            rule = await session.get(Rule, run.rule_id)
            if rule is None:
                raise RunFailure("the rule was deleted")
            connection = await session.get(ProvisioningConnection, rule.connection_id)
            if connection is None:
                raise RunFailure("the rule's provisioning connection was deleted")
            run.status, run.started_at = "RUNNING", utcnow()
            session.add(run)
            await session.commit()
        self.hub.publish(run)
        connector = open_connector(self.registry, connection, self.settings.request_timeout)
        return RunContext(
            db=self.db,
            hub=self.hub,
            rule=rule,
            connection=connection,
            connector=connector,
            plugin_name=self.registry.plugin_of(connection.connector_type) or "?",
            run=run,
            timeout=self.settings.connector_timeout,
            batch_size=self.settings.batch_size,
            observer=self.observer,
        )

    async def _dispatch(
        self, ctx: RunContext, kind: RunKind, users: Mapping[int, Collection[str]], groups: set[int]
    ) -> None:
        outbound = ctx.rule.direction == Direction.OUTBOUND.value
        if kind is RunKind.FULL:
            await (
                full_outbound(ctx)
                if outbound
                else read_inbound(ctx, incremental=False, changed=self.users_changed)
            )
        elif kind is RunKind.POLL:
            await read_inbound(
                ctx, incremental=ctx.rule.watermark is not None, changed=self.users_changed
            )
        elif kind is RunKind.WRITE_BACK:
            await write_back_changes(ctx, users)
        else:
            await incremental_outbound(ctx, list(users), groups)

    async def _finish(
        self, run: SyncRun, status: str, error: str | None, ctx: RunContext | None
    ) -> None:
        now = utcnow()
        async with self.db.session() as session:
            run.status, run.error, run.finished_at = status, error, now
            if ctx is not None:
                run.counts = dict(ctx.counts)
            if run.started_at is None:
                run.started_at = now
            session.add(run)
            rule = await session.get(Rule, run.rule_id)
            if rule is not None:
                rule.last_run_status, rule.last_run_error = status, error
                if status == "SUCCEEDED":
                    rule.last_sync_at = now
                if run.kind in (RunKind.FULL.value, RunKind.POLL.value):
                    rule.next_poll_at = now + timedelta(seconds=rule.poll_interval_seconds)
            await session.commit()
        self.hub.publish(run)

    # directory changes ------------------------------------------------------------------

    def users_changed(self, user_ids: Collection[int], fields: Collection[str] = ()) -> None:
        """Note changed directory users; they are pushed within the debounce delay."""
        for user_id in user_ids:
            self._pending_users.setdefault(user_id, set()).update(fields)
        if user_ids:
            self._wake.set()

    def groups_changed(self, group_ids: Collection[int]) -> None:
        self._pending_groups.update(group_ids)
        if group_ids:
            self._wake.set()

    async def _push_changes_loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.settings.outbound_debounce)
            self._wake.clear()
            users, self._pending_users = self._pending_users, {}
            groups, self._pending_groups = self._pending_groups, set()
            try:
                await self._push_changes(users, groups)
            except Exception:
                log.exception("pushing directory changes failed")

    async def _push_changes(self, users: dict[int, set[str]], groups: set[int]) -> None:
        edited = [user_id for user_id, fields in users.items() if fields]
        async with self.db.session() as session:
            rules = list(await session.scalars(select(Rule).where(col(Rule.enabled).is_(True))))
            owners: dict[int, int | None] = dict(
                (
                    await session.execute(
                        select(DirectoryUser.id, DirectoryUser.source_rule_id).where(
                            col(DirectoryUser.id).in_(edited)  # type: ignore[union-attr]
                        )
                    )
                ).all()
            )
        for rule in rules:
            assert rule.id is not None
            if rule.direction == Direction.OUTBOUND.value:
                relevant_groups = groups & set(rule.group_ids)
                if users or relevant_groups:
                    await self._start(rule.id, RunKind.INCREMENTAL, users, relevant_groups)
                continue
            owned = {u: users[u] for u in edited if owners.get(u) == rule.id}
            if owned:
                await self._start(rule.id, RunKind.WRITE_BACK, owned, set())

    async def _start(
        self, rule_id: int, kind: RunKind, users: Mapping[int, Collection[str]], groups: set[int]
    ) -> None:
        async with self.db.session() as session:
            run = SyncRun(rule_id=rule_id, kind=kind.value, status="QUEUED")
            session.add(run)
            await session.commit()
        self._spawn(run, users, groups)

    # inbound polls ----------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self.poll_due()
            except Exception:
                log.exception("scheduling inbound polls failed")
            await asyncio.sleep(self.settings.scheduler_tick)

    async def poll_due(self, now: datetime | None = None) -> list[SyncRun]:
        """Start a poll of every enabled inbound rule whose interval has passed.

        :param now: the time to judge by (tests move it; the loop passes nothing).
        """
        now = now or utcnow()
        async with self.db.session() as session:
            rules = list(
                await session.scalars(
                    select(Rule).where(
                        col(Rule.enabled).is_(True),  # type: ignore[attr-defined]
                        Rule.direction == Direction.INBOUND.value,
                    )
                )
            )
        started = []
        for rule in rules:
            due = rule.next_poll_at
            if due is not None and due.tzinfo is None:
                due = due.replace(tzinfo=now.tzinfo)
            if due is None or due <= now:
                assert rule.id is not None
                started.append(await self.request_run(rule.id, RunKind.POLL))
        return started
