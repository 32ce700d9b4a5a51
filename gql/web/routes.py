"""Routes of the console: the page at ``/`` and its assets under ``/console``.

The files ship inside the package (``gql/web/static``); nothing is built and nothing is
fetched from elsewhere (GraphiQL's React and GraphiQL files too: ``static/vendor``).
The page talks to ``/graphql`` only, like any other client.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


async def console_page(_request: Request) -> FileResponse:
    # The page changes with the package, not per request: let the browser revalidate it.
    return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})


async def favicon(_request: Request) -> FileResponse:
    return FileResponse(
        STATIC_DIR / "favicon.svg",
        media_type="image/svg+xml",
        headers={"cache-control": "max-age=86400"},
    )


GRAPHIQL_PAGE = STATIC_DIR / "graphiql.html"


def graphiql_html() -> str:
    """GraphiQL's page, loading React, GraphiQL and its explorer from ``/console/vendor``."""
    return GRAPHIQL_PAGE.read_text(encoding="utf-8")


def console_routes() -> list[BaseRoute]:
    """``/`` (the console page), ``/console/...`` (its assets, GraphiQL's vendored files)."""
    return [
        Route("/", console_page, methods=["GET", "HEAD"]),
        Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
        Mount("/console", app=StaticFiles(directory=STATIC_DIR), name="console"),
    ]


__all__ = ["STATIC_DIR", "console_routes", "graphiql_html"]
