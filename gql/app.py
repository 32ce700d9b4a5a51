"""The Starlette application: GraphQL (HTTP and WebSocket), GraphiQL, health and readiness."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import strawberry
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from gql.context import Context
from gql.schema import build_schema
from gql.services import Services
from gql.settings import Settings, get_settings
from gql.store.db import is_sqlite, upgrade_async

log = logging.getLogger("provisync")


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with provisync's typed context."""

    def __init__(self, schema: strawberry.Schema, services: Services) -> None:
        super().__init__(
            schema, graphql_ide="graphiql", subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL]
        )
        self.services = services

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:  # type: ignore[override]
        return Context(services=self.services, request=request, response=response)


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    on_startup: Any = None,
    migrate: bool = True,
) -> Starlette:
    """Build the app. ``extra_routes`` lets the demo serve its SCIM target and simulator.

    :param on_startup: an async callable run after the engine starts (the demo seeds data).
    :param migrate: upgrade the database on start (always on for the embedded SQLite store).
    """
    settings = settings or get_settings()
    services = services or Services.build(settings)
    graphql = GraphQLApp(build_schema(settings), services)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if migrate or is_sqlite(services.db.url):
            await upgrade_async(services.db.url)
        await services.start()
        app.state.services = services
        if on_startup is not None:
            await on_startup(services)
        try:
            yield
        finally:
            await services.stop()

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> JSONResponse:
        try:
            async with services.db.session() as session:
                version = await session.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception:
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable or not migrated"}, 503
            )
        return JSONResponse({"status": "ready", "migration": version})

    async def home(_request: Request) -> RedirectResponse:
        return RedirectResponse("/graphql")

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *extra_routes,
        Route("/", home),
    ]
    lifespan_fn: Any = lifespan
    app = Starlette(routes=routes, lifespan=lifespan_fn)
    app.state.services = services
    return app


__all__ = ["create_app"]
