"""The Starlette application: GraphQL (HTTP and WebSocket), GraphiQL, the console, operations."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import strawberry
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from gql import security
from gql.context import Context
from gql.observability.metrics import GraphQLTimingMiddleware, Metrics
from gql.schema import build_schema
from gql.services import Services
from gql.settings import Settings, get_settings
from gql.store.db import is_sqlite, upgrade_async
from gql.web.export import audit_export
from gql.web.routes import console_routes

log = logging.getLogger("provisync")


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with provisync's typed context."""

    def __init__(self, schema: strawberry.Schema, services: Services) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            # Browsers on these origins may open the subscription socket (same origin always).
            allowed_origins=services.settings.cors_origins,
        )
        self.services = services

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        """Authenticate a WebSocket at ``connection_init`` (refused when credentials lack)."""
        return await security.on_ws_connect(context)

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
    metrics = Metrics(services.db)
    services.engine.observer = metrics

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

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics.endpoint),
        Route("/audit/export", audit_export, methods=["GET"]),
        *extra_routes,
        *console_routes(),
    ]
    lifespan_fn: Any = lifespan
    middleware = [Middleware(GraphQLTimingMiddleware, metrics=metrics)]
    app = Starlette(routes=routes, lifespan=lifespan_fn, middleware=middleware)
    app.state.services = services
    app.state.metrics = metrics
    security.install(app, services, settings)
    return app


__all__ = ["create_app"]
