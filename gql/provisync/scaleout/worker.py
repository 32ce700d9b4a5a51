"""``provisync worker``: executes queued runs, polls on schedule, recovers dead workers' jobs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping

from sqlalchemy import text

from provisync.engine.progress import FINAL_STATUSES
from provisync.scaleout.jobs import JobQueue
from provisync.services import Services
from provisync.settings import Settings
from provisync.store.models import SyncRun

log = logging.getLogger("provisync.queue")


class WorkerRuntime:
    """What a worker does with a job: the engine of this process runs it."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def execute(
        self, run_id: int, users: Mapping[int, Collection[str]], groups: set[int]
    ) -> None:
        async with self.services.db.session() as session:
            run = await session.get(SyncRun, run_id)
        if run is None or run.status in FINAL_STATUSES:
            return  # deleted with its rule, or finished before a worker died: nothing to do
        if run.status == "RUNNING":
            log.warning("run %s of rule %s resumes after its worker stopped", run.id, run.rule_id)
        await self.services.engine.execute(run, users, groups)

    async def poll_due(self) -> None:
        await self.services.engine.poll_due()

    async def help(self, run_id: int) -> None:
        await self.services.engine.help(run_id)


async def recover_stalled(queue: JobQueue, settings: Settings) -> None:
    """Put back the jobs of workers whose heartbeat stopped (killed, frozen, cut off)."""
    while True:
        await asyncio.sleep(settings.worker_recovery_seconds)
        try:
            manager = queue.app.job_manager
            stalled = await manager.get_stalled_jobs(
                seconds_since_heartbeat=settings.worker_stalled_seconds
            )
            for job in stalled:
                log.warning("job %s of a stopped worker is queued again", job.id)
                await manager.retry_job(job)
            await manager.prune_stalled_workers(settings.worker_stalled_seconds)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("recovering stalled jobs failed")


async def run_worker(settings: Settings, concurrency: int) -> None:
    """Run until SIGINT or SIGTERM: take jobs, poll on schedule, recover stalled jobs."""
    services = Services.build(settings)
    async with services.db.session() as session:  # fail early on a database that is not ready
        await session.execute(text("SELECT 1 FROM procrastinate_jobs LIMIT 1"))
    queue = services.queue
    assert queue is not None, "provisync worker needs PROVISYNC_EXECUTION=queue"
    queue.runtime = WorkerRuntime(services)
    await services.start()
    recovery = asyncio.create_task(recover_stalled(queue, settings), name="provisync-recovery")
    try:
        log.info("provisync worker taking jobs (concurrency %s)", concurrency)
        await queue.app.run_worker_async(
            queues=["sync"],
            concurrency=concurrency,
            update_heartbeat_interval=settings.worker_heartbeat_seconds,
            stalled_worker_timeout=settings.worker_stalled_seconds,
            install_signal_handlers=True,
        )
    finally:
        recovery.cancel()
        await asyncio.gather(recovery, return_exceptions=True)
        await services.stop()
