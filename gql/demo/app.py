"""``provisync demo``: the product on one machine, with real targets served by the same process.

The process serves provisync's API, a Workday simulator at ``/workday`` and (when the SCIM
target is available) a SCIM 2.0 server at ``/scim/v2``. Seeding runs once the server listens,
so the first resyncs really go over HTTP to those targets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path

import uvicorn
from starlette.routing import BaseRoute, Mount

from gql.app import create_app
from gql.demo.seed import DemoTargets, seed_demo
from gql.security.config import auth_notice, is_loopback
from gql.security.crypto import load_or_create_key_file
from gql.security.tokens import create_token
from gql.services import Services
from gql.settings import Settings

log = logging.getLogger("provisync.demo")


def build_demo(
    host: str, port: int, database_url: str
) -> tuple[Settings, list[BaseRoute], DemoTargets]:
    """The settings, the extra routes (the targets) and the handles to seed them."""
    targets = DemoTargets.create(
        f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    )
    routes: list[BaseRoute] = [Mount(path, app=app) for path, app in targets.routes()]
    settings = Settings(
        database_url=database_url,
        host=host,
        port=port,
        # On loopback only this machine's users can call; elsewhere credentials are needed.
        auth_required=not is_loopback(host),
        secret_key=os.environ.get("PROVISYNC_SECRET_KEY") or _demo_key(database_url),
    )
    return settings, routes, targets


def _demo_key(database_url: str) -> str:
    """The demo's own secret key, kept beside its SQLite file (so a restart can read secrets)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    sqlite_file = url.get_backend_name() == "sqlite" and url.database
    folder = Path(url.database).parent if sqlite_file and url.database else Path.cwd()
    return load_or_create_key_file(folder / "provisync-demo.key")


def run_demo(host: str, port: int, database_url: str | None) -> int:
    """Run the demo until interrupted."""
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="provisync-demo-"))
        database_url = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
    settings, routes, targets = build_demo(host, port, database_url)
    print(f"provisync demo on {host}:{port}: {auth_notice(settings)}", flush=True)

    async def on_startup(services: Services) -> None:
        if settings.auth_required:
            token = await create_token(
                services.db, name=f"demo-admin-{os.getpid()}", role="admin", actor="demo"
            )
            print(f"An admin token for this demo (shown once): {token}", flush=True)

        # Seed after the server listens: the first resyncs call this very process over HTTP.
        async def seed_when_listening() -> None:
            await _wait_for_port(host, port)
            try:
                await seed_demo(services, targets)
            except Exception:
                log.exception("seeding the demo failed")
                return
            print(
                f"\nprovisync demo is ready: GraphiQL at http://{host}:{port}/graphql "
                f"(data in {database_url}).\n",
                flush=True,
            )

        asyncio.get_running_loop().create_task(seed_when_listening())

    app = create_app(settings, extra_routes=routes, on_startup=on_startup)
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)
    return 0


async def _wait_for_port(host: str, port: int, limit: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    target = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    while True:
        try:
            _reader, writer = await asyncio.open_connection(target, port)
            writer.close()
            return
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)
