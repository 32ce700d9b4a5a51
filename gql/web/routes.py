"""Routes of the console: the page at ``/`` and its assets under ``/console``.

The files ship inside the package (``gql/web/static``); nothing is built and nothing is
fetched from elsewhere. The page talks to ``/graphql`` only, like any other client.
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


def console_routes() -> list[BaseRoute]:
    """``/`` (the console page) and ``/console/...`` (its CSS and JavaScript modules)."""
    return [
        Route("/", console_page, methods=["GET", "HEAD"]),
        Mount("/console", app=StaticFiles(directory=STATIC_DIR), name="console"),
    ]


__all__ = ["STATIC_DIR", "console_routes"]
