"""The Starlette application: GraphQL (HTTP and WebSocket), GraphiQL, the console, operations."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import strawberry
from cross_web import HTTPException
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from gql import security
from gql.context import Context
from gql.observability.metrics import GraphQLTimingMiddleware, Metrics
from gql.schema import build_schema
from gql.security.websocket import CallerCheckingWSHandler
from gql.services import Services
from gql.settings import Settings, get_settings
from gql.store.db import is_sqlite, upgrade_async
from gql.web.export import audit_export
from gql.web.routes import console_routes, graphiql_html

log = logging.getLogger("provisync")


class Readiness:
    """What ``/readyz`` waits for: the store migrated and the startup work (demo seeding) done.

    The app marks the store step itself; whoever passes ``on_startup`` may hold readiness back
    until its own work is done (``hold()`` before, ``done()`` or ``failed()`` after).
    """

    def __init__(self) -> None:
        self.waiting_for: str | None = "the store to be migrated"
        self.held: str | None = None

    def hold(self, what: str) -> None:
        self.held = what

    def done(self) -> None:
        self.held = None

    def failed(self, why: str) -> None:
        self.held = f"nothing: startup failed ({why})"

    @property
    def blocker(self) -> str | None:
        return self.waiting_for or self.held


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with provisync's typed context."""

    # Sockets re-check their caller on each operation and every few seconds (revocation).
    graphql_transport_ws_handler_class = CallerCheckingWSHandler

    def __init__(self, schema: strawberry.Schema, services: Services) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            # Browsers on these origins may open the subscription socket (same origin always).
            allowed_origins=services.settings.cors_origins,
        )
        self.services = services

    def parse_json(self, data: str | bytes) -> Any:
        """JSON of a body or a query parameter; what cannot be read is a 400, never a 5xx."""
        try:
            return super().parse_json(data)
        except UnicodeDecodeError:
            raise HTTPException(400, "The request body is not valid UTF-8") from None
        except RecursionError:
            raise HTTPException(400, "The request's JSON is nested too deeply") from None
        except ValueError:  # a number of more than 4300 digits, say
            raise HTTPException(400, "The request's JSON holds a value too large to read") from None

    async def execute_single(  # type: ignore[override]
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: None,
        request_data: Any,
    ) -> ExecutionResult:
        """One HTTP operation; a subscription is a 400 that says to use the WebSocket.

        Strawberry runs a subscription sent over plain HTTP as a query, which ends in a masked
        "Unexpected error"; multipart streaming goes through ``execute_operation`` instead.
        """
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(
                    400,
                    "subscriptions are served over a WebSocket (graphql-transport-ws) at "
                    "/graphql, not over plain HTTP",
                ) from exc
            raise HTTPException(400, exc.as_http_error_reason(request_adapter.method)) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        """Authenticate a WebSocket at ``connection_init`` (refused when credentials lack)."""
        return await security.on_ws_connect(context)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:  # type: ignore[override]
        # Strawberry's own page loads its scripts from a public CDN; this one from provisync.
        return HTMLResponse(graphiql_html(), headers={"cache-control": "no-cache"})

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:  # type: ignore[override]
        return Context(services=self.services, request=request, response=response)


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    on_startup: Any = None,
    migrate: bool = True,
    readiness: Readiness | None = None,
) -> Starlette:
    """Build the app. ``extra_routes`` lets the demo serve its SCIM target and simulator.

    :param on_startup: an async callable run after the engine starts (the demo seeds data).
    :param migrate: upgrade the database on start (always on for the embedded SQLite store).
    :param readiness: shared with ``on_startup`` when it must finish before ``/readyz`` is 200.
    """
    readiness = readiness or Readiness()
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
        readiness.waiting_for = None
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
        if readiness.blocker is not None:
            return JSONResponse({"status": "unavailable", "waiting_for": readiness.blocker}, 503)
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
    app.state.readiness = readiness
    security.install(app, services, settings)
    return app


__all__ = ["Readiness", "create_app"]
