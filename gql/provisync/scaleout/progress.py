"""Run progress across processes: workers ``NOTIFY``, every API replica ``LISTEN``s.

The payload is only the run id; a listener reads the run's row and hands it to its own
:class:`~provisync.engine.progress.ProgressHub`, so a ``syncRunProgress`` subscription held on any
replica sees what a worker in another process does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import psycopg

from provisync.scaleout.jobs import conninfo

log = logging.getLogger("provisync.queue")
CHANNEL = "provisync_progress"


class ProgressNotifier:
    """Sends ``NOTIFY provisync_progress, '<run id>'`` for each published run (in order)."""

    def __init__(self, database_url: str) -> None:
        self.conninfo = conninfo(database_url)
        self.pending: asyncio.Queue[int] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def __call__(self, run_id: int) -> None:
        self.pending.put_nowait(run_id)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._send(), name="provisync-notify")

    async def stop(self) -> None:
        if self._task is not None:
            # Let what is queued go out (the final status of a run above all), briefly.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.pending.join(), 2)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _send(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    while True:
                        run_id = await self.pending.get()
                        try:
                            await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(run_id)))
                        finally:
                            self.pending.task_done()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sending run progress notifications failed; reconnecting")
                await asyncio.sleep(1)


class ProgressListener:
    """Relays notified run ids to ``deliver`` (which reads the run and publishes it locally)."""

    def __init__(self, database_url: str, deliver: Callable[[int], Awaitable[None]]) -> None:
        self.conninfo = conninfo(database_url)
        self.deliver = deliver
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="provisync-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    async for note in conn.notifies():
                        if note.payload.isdigit():
                            await self.deliver(int(note.payload))
            except asyncio.CancelledError:
                raise
            except Exception:
                self.listening.clear()
                log.exception("listening for run progress failed; reconnecting")
                await asyncio.sleep(1)
