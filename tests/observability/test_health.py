"""/healthz says the process is alive; /readyz says the database is reachable and migrated."""

from __future__ import annotations

from pathlib import Path

import httpx

from gql.app import create_app
from gql.settings import Settings
from tests.support.api import Api


def test_healthz_and_readyz_on_a_migrated_database(api: Api) -> None:
    assert api.http.get("/healthz").json() == {"status": "ok"}
    ready = api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["migration"]


async def test_readyz_is_503_on_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    # No lifespan runs here, so nothing migrates the fresh SQLite file.
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
    await app.state.services.db.dispose()
