"""provisync served in-process over the ASGI transport, with its engine at hand (time control).

The app's lifespan runs as under uvicorn; HTTP goes through httpx's ASGI transport. Tests that
move time call ``services.engine.poll_due(now=...)`` directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from gql.app import create_app
from gql.services import Services
from gql.settings import Settings


@dataclass
class InProcess:
    services: Services
    http: httpx.AsyncClient

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}
        )
        assert response.status_code < 500, response.text
        return response.json()  # type: ignore[no-any-return]

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    async def idle(self) -> None:
        await self.services.engine.wait_idle()


@asynccontextmanager
async def in_process(database_url: str, **overrides: Any) -> AsyncIterator[InProcess]:
    settings = Settings(
        database_url=database_url,
        extra_plugins=overrides.pop("extra_plugins", ["tests.plugins.memory_connector"]),
        scheduler_tick=overrides.pop("scheduler_tick", 3600),
        outbound_debounce=overrides.pop("outbound_debounce", 0.05),
        connector_timeout=overrides.pop("connector_timeout", 10),
        **overrides,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield InProcess(services=app.state.services, http=http)
