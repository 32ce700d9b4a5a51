"""Publication of sync-run progress to subscribers (the GraphQL subscription).

In the queue mode runs happen in worker processes: :attr:`ProgressHub.relay` sends each
publication on, and :mod:`provisync.scaleout.progress` delivers them to the hubs of API replicas.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from provisync.store.models import SyncRun

FINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED"})


class ProgressHub:
    """Fan-out of run snapshots by run id. Slow subscribers only ever miss older snapshots."""

    def __init__(self) -> None:
        self._queues: dict[int, set[asyncio.Queue[SyncRun]]] = defaultdict(set)
        self.relay: Callable[[int], None] | None = None
        """Also tells other processes (the job queue's NOTIFY), when set."""

    def publish(self, run: SyncRun) -> None:
        """A run of this process changed: tell its subscribers here, and other processes."""
        self.deliver(run)
        if self.relay is not None and run.id is not None:
            self.relay(run.id)

    def has_listeners(self, run_id: int) -> bool:
        return bool(self._queues.get(run_id))

    def deliver(self, run: SyncRun) -> None:
        """Hand a snapshot of the run to this process's subscribers."""
        snapshot = SyncRun.model_validate(run.model_dump())
        for queue in list(self._queues.get(run.id or 0, ())):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(snapshot)

    @asynccontextmanager
    async def listen(self, run_id: int) -> AsyncIterator[asyncio.Queue[SyncRun]]:
        """Receive snapshots of one run published while the context is open.

        Open it before reading the run's current state, so no step falls in between.
        """
        queue: asyncio.Queue[SyncRun] = asyncio.Queue(maxsize=64)
        self._queues[run_id].add(queue)
        try:
            yield queue
        finally:
            self._queues[run_id].discard(queue)
            if not self._queues[run_id]:
                del self._queues[run_id]
