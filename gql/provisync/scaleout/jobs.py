"""The procrastinate app of one provisync deployment, its tasks, and deferring runs to it."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any, Protocol

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import make_url

from provisync.store.models import SyncRun

log = logging.getLogger("provisync.queue")
MERGED_KINDS = frozenset({"FULL", "POLL"})
"""Run kinds a rule has at most one of queued: a repeated request joins the queued one."""


class Runtime(Protocol):
    """What a worker process does with the jobs it takes (:mod:`provisync.scaleout.worker`)."""

    async def execute(
        self, run_id: int, users: Mapping[int, Collection[str]], groups: set[int]
    ) -> None: ...

    async def poll_due(self) -> None: ...

    async def help(self, run_id: int) -> None: ...


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the job queue needs PostgreSQL (PROVISYNC_DATABASE_URL)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class JobQueue:
    """The deployment's procrastinate app: defers runs (API side), runs them (worker side).

    :param runtime: set in a worker process; the tasks refuse to run without it.
    """

    def __init__(self, database_url: str, runtime: Runtime | None = None) -> None:
        self.runtime = runtime
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
        )

        @self.app.task(name="provisync.execute_run", queue="sync")
        async def execute_run(run_id: int, users: dict[str, list[str]], groups: list[int]) -> None:
            """Execute one run (again, after a worker died: it resumes from its checkpoint)."""
            await self._runtime().execute(
                run_id, {int(k): v for k, v in users.items()}, set(groups)
            )

        @self.app.task(name="provisync.help_run", queue="sync")
        async def help_run(run_id: int) -> None:
            """Push free chunks of a split full resync (no rule lock: it runs beside it)."""
            await self._runtime().help(run_id)

        @self.app.periodic(cron="* * * * *", periodic_id="poll")
        @self.app.task(name="provisync.poll_due", queue="sync", queueing_lock="poll_due")
        async def poll_due(timestamp: int) -> None:
            """Start the inbound polls and quarantine retries that are due (every minute)."""
            await self._runtime().poll_due()

        self._execute_run: Any = execute_run
        self._help_run: Any = help_run

    def _runtime(self) -> Runtime:
        if self.runtime is None:
            raise RuntimeError("provisync jobs run in a provisync worker process")
        return self.runtime

    async def defer(
        self, run: SyncRun, users: Mapping[int, Collection[str]], groups: Collection[int]
    ) -> bool:
        """Queue the run. :return: False when an equal run was already queued (merged)."""
        options: dict[str, Any] = {"lock": f"rule:{run.rule_id}"}
        if run.kind in MERGED_KINDS:
            options["queueing_lock"] = f"resync:{run.rule_id}"
        try:
            await self._execute_run.configure(**options).defer_async(
                run_id=run.id,
                users={str(k): sorted(v) for k, v in users.items()},
                groups=sorted(groups),
            )
        except AlreadyEnqueued:
            return False
        return True

    async def defer_helpers(self, run: SyncRun, helpers: int) -> None:
        """Ask up to ``helpers`` workers to push chunks of a split run beside its own worker."""
        for _ in range(helpers):
            await self._help_run.defer_async(run_id=run.id)

    async def install_schema(self) -> bool:
        """Create procrastinate's tables when missing. :return: whether it created them."""
        async with self.app.open_async():
            rows = await self.app.connector.execute_query_all_async(
                "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
            )
            if rows and rows[0]["present"]:
                return False
            await self.app.schema_manager.apply_schema_async()
            return True

    async def open(self) -> None:
        await self.app.open_async()

    async def close(self) -> None:
        await self.app.close_async()
