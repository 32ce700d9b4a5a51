"""The sync engine: starts runs, keeps one running per rule, polls, and pushes changes.

Runs execute as asyncio tasks in this process (the embedded mode). A plugin that raises or
hangs fails its run; nothing it does reaches the caller of :meth:`SyncEngine.request_run`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_
from sqlmodel import col, select

from provisync.engine.context import RunContext, open_connector
from provisync.engine.inbound import read_inbound, write_back_changes
from provisync.engine.notices import run_end_notices
from provisync.engine.on_demand import OnDemand, Step, StepStatus
from provisync.engine.outbound import (
    full_outbound,
    help_outbound,
    incremental_outbound,
    release_outbound,
)
from provisync.engine.progress import ProgressHub
from provisync.engine.protection import discard_held, release_held
from provisync.engine.quarantine import count_failure, end_quarantine
from provisync.engine.recorder import admin_event, run_failed_event
from provisync.engine.recovery import fail_interrupted_runs
from provisync.engine.retries import RetryPolicy, drop_orphans, has_entries
from provisync.engine.retry_runs import start_due_retries
from provisync.observability.logs import bind_run
from provisync.observability.runs import RunObserver
from provisync.settings import Settings
from provisync.store.db import Database
from provisync.store.models import (
    AuditEvent,
    DirectoryUser,
    ProvisioningConnection,
    Rule,
    SyncRun,
    utcnow,
)
from provisync_sdk import Capability, Connector, Direction, RunFailure
from provisync_sdk.manager import ConnectorRegistry
from provisync_sdk.redaction import Scrubber

if TYPE_CHECKING:
    from provisync.scaleout.jobs import JobQueue

log = logging.getLogger("provisync.engine")
ACTIVE_STATUSES = ("QUEUED", "RUNNING")
QUARANTINE_ACTOR = "quarantine"


class RunKind(StrEnum):
    FULL = "FULL"
    INCREMENTAL = "INCREMENTAL"
    POLL = "POLL"
    WRITE_BACK = "WRITE_BACK"
    PREVIEW = "PREVIEW"
    """A dry run of a full resync: stores what it would do, writes nothing else."""
    RELEASE = "RELEASE"
    """Applies deprovisions an operator released from deletion protection."""
    ON_DEMAND = "ON_DEMAND"
    """One user or group provisioned now, at an operator's request."""
    RETRY = "RETRY"
    """Entities whose push or write-back failed, tried again (:mod:`provisync.engine.retries`)."""


Work = Callable[[RunContext], Awaitable[None]]
"""What a run does, when it is not one of the standard kinds' dispatch (on-demand)."""

QUARANTINE_KINDS = frozenset({RunKind.FULL, RunKind.POLL, RunKind.INCREMENTAL, RunKind.RELEASE})
"""Runs whose failure as a whole counts towards a rule's quarantine."""


_AUDITED_REQUESTS = {
    RunKind.FULL: ("FULL_RESYNC", "full resync requested"),
    RunKind.PREVIEW: ("PREVIEW", "preview of a full resync requested"),
    RunKind.RELEASE: ("RELEASE_HELD", "held disables and deletes released"),
}


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
        self._pending_forgotten: dict[int, set[int]] = {}
        """Rules that lost deleted groups: those groups are pushed (deprovisioned) once more."""
        self._wake = asyncio.Event()
        self._pushing = False
        self._loops: list[asyncio.Task[None]] = []
        self.observer = RunObserver()  # logs each run's end; the app's metrics replace it
        self.queue: JobQueue | None = None
        """The job queue in the scale-out mode: runs become jobs for worker processes."""
        self.now: Callable[[], datetime] = utcnow
        """The engine's clock (tests move it to check quarantine schedules)."""
        self.notify: Callable[[], None] = lambda: None
        """Rung after a commit that may have enqueued notifications (the notifier wakes)."""

    async def start(self) -> None:
        """Fail runs a previous process left unfinished, then start the change and poll loops."""
        if self.queue is not None:
            # Runs belong to the job queue: workers resume them; a periodic job polls.
            self._loops = [
                asyncio.create_task(self._push_changes_loop(), name="provisync-push"),
                asyncio.create_task(self._retry_loop(), name="provisync-retry"),
            ]
            return
        await fail_interrupted_runs(self.db, self.retry_policy)
        self._loops = [
            asyncio.create_task(self._push_changes_loop(), name="provisync-push"),
            asyncio.create_task(self._poll_loop(), name="provisync-poll"),
            asyncio.create_task(self._retry_loop(), name="provisync-retry"),
        ]

    async def stop(self) -> None:
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        self._loops.clear()

    async def wait_idle(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until no run is pending or running (tests, demo seeding, shutdown)."""
        async with asyncio.timeout(timeout):
            while (
                self._tasks
                or self._pending_users
                or self._pending_groups
                or self._pending_forgotten
                or self._pushing
            ):
                if self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)
                else:
                    await asyncio.sleep(0.02)

    # runs ---------------------------------------------------------------------------------

    async def request_run(
        self, rule_id: int, kind: RunKind, actor: str = "system", reason: str | None = None
    ) -> SyncRun:
        """Start a run of a rule, or return the full resync already queued or running.

        :param reason: why, when it is not a plain request ("the rule was enabled").
        """
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
                run = SyncRun(
                    rule_id=rule_id,
                    kind=kind.value,
                    status="QUEUED",
                    started_by=actor,
                    reason=reason,
                )
                session.add(run)
                if kind in _AUDITED_REQUESTS:
                    await session.flush()
                    operation, message = _AUDITED_REQUESTS[kind]
                    message = f"{message}: {reason}" if reason else message
                    session.add(
                        admin_event(
                            operation=operation,
                            message=message,
                            actor=actor,
                            rule_id=rule_id,
                            run_id=run.id,
                        )
                    )
                if kind is RunKind.FULL and actor not in ("system", QUARANTINE_ACTOR):
                    await end_quarantine(session, rule_id, f"manual resync by {actor}")
                await session.commit()
        self.notify()
        return await self._launch(run, {}, set())

    async def _launch(
        self, run: SyncRun, users: Mapping[int, Collection[str]], groups: set[int]
    ) -> SyncRun:
        """Run it here (embedded), or queue it for a worker. :return: the run that will run."""
        if self.queue is None:
            self._spawn(run, users, groups)
            return run
        if await self.queue.defer(run, users, groups):
            return run
        # Another replica queued the same full resync or poll first: join that one.
        async with self.db.session() as session:
            await session.execute(delete(AuditEvent).where(col(AuditEvent.run_id) == run.id))
            await session.execute(delete(SyncRun).where(col(SyncRun.id) == run.id))
            queued = await session.scalar(
                select(SyncRun)
                .where(
                    SyncRun.rule_id == run.rule_id,
                    SyncRun.kind == run.kind,
                    col(SyncRun.status).in_(ACTIVE_STATUSES),  # type: ignore[attr-defined]
                )
                .order_by(col(SyncRun.id))
            )
            await session.commit()
        return queued or run

    async def execute(
        self, run: SyncRun, users: Mapping[int, Collection[str]], groups: set[int]
    ) -> None:
        """Execute a queued run in this process (a worker took its job)."""
        await self._execute(run, users, groups)

    def _spawn(
        self,
        run: SyncRun,
        users: Mapping[int, Collection[str]],
        groups: set[int],
        work: Work | None = None,
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(
            self._execute(run, users, groups, work), name=f"provisync-run-{run.id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def provision_on_demand(
        self, rule_id: int, *, user_id: int | None, group_id: int | None, actor: str
    ) -> tuple[SyncRun, list[Step]]:
        """Sync one directory user or group of an outbound rule now, and say how it went.

        Waits for the run (after any run of the rule in progress) up to
        ``settings.on_demand_wait`` seconds; past that the run goes on, and the steps so far
        end with a note to follow it.
        """
        what = f"user {user_id}" if user_id is not None else f"group {group_id}"
        async with self.db.session() as session:
            run = SyncRun(
                rule_id=rule_id, kind=RunKind.ON_DEMAND.value, status="QUEUED", started_by=actor
            )
            session.add(run)
            await session.flush()
            session.add(
                admin_event(
                    operation="PROVISION_ON_DEMAND",
                    message=f"provisioning of directory {what} on demand requested",
                    actor=actor,
                    rule_id=rule_id,
                    run_id=run.id,
                )
            )
            await session.commit()
        connection_type = await self._connector_type_of(rule_id)
        on_demand = OnDemand(can_preview=self.can_preview(connection_type or ""))

        async def work(ctx: RunContext) -> None:
            if user_id is not None:
                await on_demand.user(ctx, user_id)
            elif group_id is not None:
                await on_demand.group(ctx, group_id)

        task = self._spawn(run, {}, set(), work)
        try:
            await asyncio.wait_for(asyncio.shield(task), self.settings.on_demand_wait)
        except TimeoutError:
            on_demand.step(
                "WAIT",
                StepStatus.SKIPPED,
                f"still running after {self.settings.on_demand_wait:g}s (another run of the "
                "rule may be in progress): follow the run",
            )
            return run, on_demand.steps
        if run.status == "FAILED":
            on_demand.step("RUN", StepStatus.FAILED, run.error or "the run failed")
        return run, on_demand.steps

    async def release_held(self, rule_id: int, actor: str) -> tuple[int, SyncRun | None]:
        """Release the rule's held disables and deletes: a RELEASE run applies them.

        :return: how many were released, and the run (None when nothing was held).
        """
        count = await release_held(self.db, rule_id, actor, self.now())
        if not count:
            return 0, None
        return count, await self.request_run(rule_id, RunKind.RELEASE, actor=actor)

    async def discard_held(self, rule_id: int, actor: str) -> int:
        """Discard the rule's held disables and deletes (see :func:`discard_held`)."""
        async with self._rule_locks[rule_id]:
            return await discard_held(self.db, rule_id, actor, self.now())

    async def _connector_type_of(self, rule_id: int) -> str | None:
        async with self.db.session() as session:
            rule = await session.get(Rule, rule_id)
            connection = (
                await session.get(ProvisioningConnection, rule.connection_id) if rule else None
            )
        return connection.connector_type if connection else None

    async def _execute(
        self,
        run: SyncRun,
        users: Mapping[int, Collection[str]],
        groups: set[int],
        work: Work | None = None,
    ) -> None:
        bind_run(run.rule_id, run.id)  # this task's log records carry the rule and run ids
        async with self._rule_locks[run.rule_id]:
            ctx: RunContext | None = None
            failure: BaseException | None = None
            try:
                ctx = await self._begin(run)
                async with self.db.session() as session:
                    ctx.retry_known = await has_entries(session, ctx.rule_id)
                if work is not None:
                    await work(ctx)
                else:
                    await self._dispatch(ctx, RunKind(run.kind), users, groups)
                await self._finish(run, "SUCCEEDED", None, ctx)
            except RunFailure as exc:
                failure = exc
                reason = (ctx.scrub if ctx is not None else Scrubber())(str(exc))
                log.warning("run %s of rule %s failed: %s", run.id, run.rule_id, reason)
                await self._finish(run, "FAILED", reason, ctx, whole_failure=True)
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
            resumed = run.status == "RUNNING"  # its worker stopped (queue mode)
            run.status, run.started_at = "RUNNING", run.started_at or utcnow()
            session.add(run)
            await session.commit()
        self.hub.publish(run)
        ctx = self._context(run, rule, connection)
        ctx.after_a_stop = resumed
        return ctx

    def _context(self, run: SyncRun, rule: Rule, connection: ProvisioningConnection) -> RunContext:
        def reopen() -> Connector[Any]:
            return open_connector(
                self.registry, connection, self.settings.request_timeout, self.settings
            )

        connector = reopen()
        queue = self.queue
        fan_out = None
        if queue is not None:

            async def fan_out(helpers: int) -> None:
                await queue.defer_helpers(run, helpers)

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
            preview=run.kind == RunKind.PREVIEW.value,
            release=run.kind == RunKind.RELEASE.value,
            fan_out=fan_out,
            chunk_size=self.settings.resync_chunk_size,
            lease_seconds=self.settings.worker_stalled_seconds,
            reopen=reopen,
            retry_policy=self.retry_policy,
            record_unpushed=run.kind in (RunKind.INCREMENTAL.value, RunKind.RETRY.value),
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.settings.retry_base_seconds, self.settings.retry_max_seconds)

    async def help(self, run_id: int) -> None:
        """Push chunks of a split full resync that another worker runs (queue mode)."""
        async with self.db.session() as session:
            run = await session.get(SyncRun, run_id)
            rule = await session.get(Rule, run.rule_id) if run is not None else None
            connection = (
                await session.get(ProvisioningConnection, rule.connection_id) if rule else None
            )
        if run is None or run.status != "RUNNING" or rule is None or connection is None:
            return  # ended (or deleted) before this helper started: nothing to do
        bind_run(run.rule_id, run.id)
        try:
            ctx = self._context(run, rule, connection)
        except RunFailure as exc:
            log.warning("cannot help run %s: %s", run.id, exc)
            return
        ctx.shared = True
        try:
            await help_outbound(ctx)
        finally:
            try:
                await asyncio.wait_for(ctx.connector.aclose(), 5)
            except Exception:
                log.warning("connector of rule %s did not close cleanly", run.rule_id)

    async def _dispatch(
        self, ctx: RunContext, kind: RunKind, users: Mapping[int, Collection[str]], groups: set[int]
    ) -> None:
        outbound = ctx.rule.direction == Direction.OUTBOUND.value
        if kind is RunKind.PREVIEW:
            if outbound and not self.can_preview(ctx.connection.connector_type):
                raise RunFailure(
                    f"connector type {ctx.connection.connector_type!r} cannot preview a resync"
                )
            await (
                full_outbound(ctx)
                if outbound
                else read_inbound(ctx, incremental=False, changed=self.users_changed)
            )
        elif kind is RunKind.RELEASE:
            await release_outbound(ctx)
        elif kind is RunKind.FULL:
            await (
                full_outbound(ctx)
                if outbound
                else read_inbound(ctx, incremental=False, changed=self.users_changed)
            )
            async with self.db.session() as session:
                await drop_orphans(session, ctx.rule_id, ctx.run.id)
                await session.commit()
        elif kind is RunKind.POLL:
            await read_inbound(
                ctx, incremental=ctx.rule.watermark is not None, changed=self.users_changed
            )
        elif kind is RunKind.WRITE_BACK:
            await write_back_changes(ctx, users)
        else:
            await incremental_outbound(ctx, list(users), groups)

    def can_preview(self, connector_type: str) -> bool:
        """Whether a connector type can answer a dry-run reconcile (outbound previews)."""
        found = self.registry.get(connector_type)
        return found is not None and Capability.PREVIEW in found.capabilities

    async def _finish(
        self,
        run: SyncRun,
        status: str,
        error: str | None,
        ctx: RunContext | None,
        *,
        whole_failure: bool = False,
    ) -> None:
        """Store the run's end; update the rule (last sync, schedule, quarantine).

        :param whole_failure: the run failed as a whole (the target or source failed), which
            counts towards quarantine; an engine crash or a stopped process does not.
        """
        now = self.now()
        # The one way a run's error is stored: target text in it is scrubbed here too.
        error = (ctx.scrub if ctx is not None else Scrubber())(error)
        async with self.db.session() as session:
            run.status, run.error, run.finished_at = status, error, now
            if ctx is not None:
                run.counts = dict(ctx.counts)
            if run.started_at is None:
                run.started_at = now
            session.add(run)
            rule = await session.get(Rule, run.rule_id)
            kind = RunKind(run.kind)
            if rule is not None and kind is not RunKind.PREVIEW:
                threshold = self.settings.webhook_write_back_failure_threshold
                session.add_all(run_end_notices(run, rule, whole_failure, threshold))
                rule.last_run_status, rule.last_run_error = status, error
                if status == "SUCCEEDED":
                    rule.last_sync_at = now
                if kind in (RunKind.FULL, RunKind.POLL):
                    rule.next_poll_at = now + timedelta(seconds=rule.poll_interval_seconds)
                if status == "SUCCEEDED" and kind is not RunKind.WRITE_BACK:
                    await end_quarantine(session, rule.id or 0, "a run succeeded", run.id)
                elif whole_failure and kind in QUARANTINE_KINDS:
                    count_failure(session, rule, error or "failed", now, run.id, self.settings)
            if status == "FAILED" and rule is not None:
                # A run that failed as a whole ends in the audit log too, with its reason.
                session.add(run_failed_event(run, kind.value, error))
            await session.commit()
        self.hub.publish(run)
        self.notify()

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

    def groups_forgotten(self, rule_ids: Collection[int], group_id: int) -> None:
        """Rules stopped naming a deleted group: push their groups, so its copy goes."""
        for rule_id in rule_ids:
            self._pending_forgotten.setdefault(rule_id, set()).add(group_id)
        if rule_ids:
            self._wake.set()

    async def _push_changes_loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.settings.outbound_debounce)
            self._wake.clear()
            users, self._pending_users = self._pending_users, {}
            groups, self._pending_groups = self._pending_groups, set()
            forgotten, self._pending_forgotten = self._pending_forgotten, {}
            self._pushing = True  # until the runs exist: wait_idle must not slip in between
            try:
                await self._push_changes(users, groups, forgotten)
            except Exception:
                log.exception("pushing directory changes failed")
            finally:
                self._pushing = False

    async def _push_changes(
        self,
        users: dict[int, set[str]],
        groups: set[int],
        forgotten: Mapping[int, set[int]] | None = None,
    ) -> None:
        edited = [user_id for user_id, fields in users.items() if fields]
        owners: dict[int, int | None] = {}
        full_pending: set[int] = set()
        # An inbound import notes thousands of changed users a page: only what can start a
        # run is asked of the database (no owners without edits, no resyncs without rules).
        async with self.db.session() as session:
            rules = list(await session.scalars(select(Rule).where(col(Rule.enabled).is_(True))))
            if edited and any(r.direction == Direction.INBOUND.value for r in rules):
                owners = dict(
                    (
                        await session.execute(
                            select(DirectoryUser.id, DirectoryUser.source_rule_id).where(
                                col(DirectoryUser.id).in_(edited)  # type: ignore[union-attr]
                            )
                        )
                    ).all()
                )
            if any(r.direction == Direction.OUTBOUND.value for r in rules):
                # A full resync that has not started reads the directory when it starts, so it
                # carries these changes: an increment beside it would only repeat its work.
                full_pending = set(
                    await session.scalars(
                        select(SyncRun.rule_id).where(
                            SyncRun.status == "QUEUED", SyncRun.kind == RunKind.FULL.value
                        )
                    )
                )
        for rule in rules:
            assert rule.id is not None
            if rule.direction == Direction.OUTBOUND.value:
                if rule.quarantined_at is not None or rule.id in full_pending:
                    continue  # its next full resync carries these changes
                relevant_groups = (groups & set(rule.group_ids)) | (forgotten or {}).get(
                    rule.id, set()
                )
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
            if kind is RunKind.INCREMENTAL:
                # Stored with the run: if the process dies before the push ends, the next
                # one queues these changes for a retry instead of forgetting them.
                run.checkpoint = {"pending_users": sorted(users), "pending_groups": sorted(groups)}
            session.add(run)
            await session.commit()
        await self._launch(run, users, groups)

    # retries ------------------------------------------------------------------------------

    async def _retry_loop(self) -> None:
        while True:
            try:
                await self.retry_due()
            except Exception:
                log.exception("scheduling entity retries failed")
            await asyncio.sleep(self.settings.scheduler_tick)

    async def retry_due(self, now: datetime | None = None) -> list[SyncRun]:
        """Start a RETRY run for each rule with entities due in the retry queue.

        :param now: the time to judge by (default: the engine's clock).
        """
        return await start_due_retries(
            self.db,
            self.retry_policy,
            now or self.now(),
            lambda run, work: self._spawn(run, {}, set(), work),
        )

    # inbound polls ----------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self.poll_due()
            except Exception:
                log.exception("scheduling inbound polls failed")
            await asyncio.sleep(self.settings.scheduler_tick)

    async def poll_due(self, now: datetime | None = None) -> list[SyncRun]:
        """Start what is due: polls of inbound rules, and retries of quarantined rules.

        A quarantined rule runs on its quarantine schedule (``quarantine_next_at``) instead
        of its normal one: a poll for an inbound rule, a full resync for an outbound one.

        :param now: the time to judge by (default: the engine's clock).
        """
        now = now or self.now()
        async with self.db.session() as session:
            rules = list(
                await session.scalars(
                    select(Rule).where(
                        col(Rule.enabled).is_(True),  # type: ignore[attr-defined]
                        or_(
                            col(Rule.direction) == Direction.INBOUND.value,
                            col(Rule.quarantined_at).is_not(None),
                        ),
                    )
                )
            )
        started = []
        for rule in rules:
            assert rule.id is not None
            quarantined = rule.quarantined_at is not None
            due = rule.quarantine_next_at if quarantined else rule.next_poll_at
            if due is not None and due.tzinfo is None:
                due = due.replace(tzinfo=now.tzinfo)
            if due is not None and due > now:
                continue
            if quarantined:
                kind = RunKind.POLL if rule.direction == Direction.INBOUND.value else RunKind.FULL
                started.append(await self.request_run(rule.id, kind, actor=QUARANTINE_ACTOR))
            else:
                started.append(await self.request_run(rule.id, RunKind.POLL))
        return started
