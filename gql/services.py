"""The long-lived parts of one running provisync, built once per app (or worker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connectors import ConnectorRegistry
from gql.engine.engine import SyncEngine
from gql.engine.progress import ProgressHub
from gql.engine.retention import RetentionLoop
from gql.notify.dispatcher import Notifier
from gql.settings import Settings
from gql.store.db import Database
from gql.store.models import SyncRun

if TYPE_CHECKING:
    from gql.queue.jobs import JobQueue
    from gql.queue.progress import ProgressListener, ProgressNotifier


@dataclass
class Services:
    settings: Settings
    db: Database
    registry: ConnectorRegistry
    hub: ProgressHub
    engine: SyncEngine
    queue: JobQueue | None = None
    """The job queue (``PROVISYNC_EXECUTION=queue``); None in the embedded mode."""
    notifier: ProgressNotifier | None = field(default=None, repr=False)
    listener: ProgressListener | None = field(default=None, repr=False)
    notifications: Notifier | None = field(default=None, repr=False)
    """Sends webhook notifications the engine enqueued (background)."""
    retention: RetentionLoop | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, registry: ConnectorRegistry | None = None) -> Services:
        db = Database(settings.database_url)
        if registry is None:
            registry = ConnectorRegistry.discover(
                disabled=settings.disable_plugins, extra_plugins=settings.extra_plugins
            )
        hub = ProgressHub()
        engine = SyncEngine(db, registry, settings, hub)
        services = cls(settings=settings, db=db, registry=registry, hub=hub, engine=engine)
        services.notifications = Notifier(db, settings)
        engine.notify = services.notifications.wake
        services.retention = RetentionLoop(db, settings)
        if settings.execution == "queue":
            from gql.queue.jobs import JobQueue
            from gql.queue.progress import ProgressListener, ProgressNotifier

            services.queue = engine.queue = JobQueue(settings.database_url)
            services.notifier = ProgressNotifier(settings.database_url)
            hub.relay = services.notifier
            services.listener = ProgressListener(settings.database_url, services._deliver)
        return services

    async def _deliver(self, run_id: int) -> None:
        """A run changed in another process: read it and tell this process's subscribers."""
        if not self.hub.has_listeners(run_id):
            return
        async with self.db.session() as session:
            run = await session.get(SyncRun, run_id)
        if run is not None:
            self.hub.deliver(run)

    async def start(self) -> None:
        if self.queue is not None:
            await self.queue.open()
        for part in (self.notifier, self.listener):
            if part is not None:
                await part.start()
        await self.engine.start()
        for loop in (self.notifications, self.retention):
            if loop is not None:
                await loop.start()

    async def stop(self) -> None:
        for loop in (self.retention, self.notifications):
            if loop is not None:
                await loop.stop()
        await self.engine.stop()
        for part in (self.listener, self.notifier):
            if part is not None:
                await part.stop()
        if self.queue is not None:
            await self.queue.close()
        await self.db.dispose()
