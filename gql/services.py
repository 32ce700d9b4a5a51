"""The long-lived parts of one running provisync, built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from connectors import ConnectorRegistry
from gql.engine.engine import SyncEngine
from gql.engine.progress import ProgressHub
from gql.settings import Settings
from gql.store.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    registry: ConnectorRegistry
    hub: ProgressHub
    engine: SyncEngine

    @classmethod
    def build(cls, settings: Settings, registry: ConnectorRegistry | None = None) -> Services:
        db = Database(settings.database_url)
        if registry is None:
            registry = ConnectorRegistry.discover(
                disabled=settings.disable_plugins, extra_plugins=settings.extra_plugins
            )
        hub = ProgressHub()
        engine = SyncEngine(db, registry, settings, hub)
        return cls(settings=settings, db=db, registry=registry, hub=hub, engine=engine)

    async def start(self) -> None:
        await self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()
        await self.db.dispose()
