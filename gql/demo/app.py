"""``provisync demo``: the product on one machine, with real targets served by the same process.

The process serves provisync's API, a Workday simulator at ``/workday`` and (when the SCIM
target is available) a SCIM 2.0 server at ``/scim/v2``. Seeding runs once the server listens,
so the first resyncs really go over HTTP to those targets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import tempfile
from pathlib import Path

import uvicorn
from starlette.routing import BaseRoute, Mount

from gql.app import Readiness, create_app
from gql.demo.seed import DemoTargets, seed_demo
from gql.security.config import auth_notice, is_loopback
from gql.security.crypto import load_or_create_key_file
from gql.security.tokens import create_token
from gql.services import Services
from gql.settings import Settings

log = logging.getLogger("provisync.demo")


def build_demo(
    host: str, port: int, database_url: str, secret_key: str | None = None
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
        secret_key=secret_key or os.environ.get("PROVISYNC_SECRET_KEY") or _ephemeral_key(),
    )
    return settings, routes, targets


def _ephemeral_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


class DemoDatabaseNotEmpty(Exception):
    """``--database-url`` named a database that already holds tables."""


async def _tables(database_url: str) -> list[str]:
    from sqlalchemy import inspect

    from gql.store.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return list(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def check_empty(database_url: str) -> None:
    """Refuse a database that holds any table: the demo seeds only what it may throw away."""
    tables = asyncio.run(_tables(database_url))
    if tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise DemoDatabaseNotEmpty(
            f"the demo only uses an empty database, and this one has {len(tables)} "
            f"table(s) ({shown}). Give it a new, empty database, or leave out "
            "--database-url to let the demo make (and remove) its own."
        )


def run_demo(host: str, port: int, database_url: str | None, keep: bool = False) -> int:
    """Run the demo until interrupted, on a database it created (or an empty one it is given).

    :param database_url: an empty database to seed; None: a SQLite file in a new temporary
        folder, removed when the demo stops unless ``keep``. PROVISYNC_DATABASE_URL is ignored.
    """
    folder: Path | None = None
    secret_key: str | None = None
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="provisync-demo-"))
        database_url = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
        secret_key = load_or_create_key_file(folder / "provisync-demo.key")
    else:
        check_empty(database_url)
    # uvicorn re-raises SIGTERM after its shutdown; with the default handler the process would
    # die there, before removing its folder. Ending through SystemExit runs the cleanup.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _serve_demo(host, port, database_url, secret_key)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if folder is not None and not keep:
            shutil.rmtree(folder, ignore_errors=True)
        elif folder is not None:
            print(f"provisync demo: kept its data in {folder}", flush=True)


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _serve_demo(host: str, port: int, database_url: str, secret_key: str | None) -> int:
    settings, routes, targets = build_demo(host, port, database_url, secret_key)
    print(f"provisync demo on {host}:{port}: {auth_notice(settings)}", flush=True)
    readiness = Readiness()
    readiness.hold("the demo data to be seeded and its first runs to finish")
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown_host}:{port}"

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
            except Exception as exc:
                log.exception("seeding the demo failed")
                readiness.failed(f"seeding the demo failed: {type(exc).__name__}")
                return
            readiness.done()
            print(
                f"\nprovisync demo is ready: console at {base}/ , GraphiQL at {base}/graphql "
                f"(data in {_redact(database_url)}).\n",
                flush=True,
            )

        asyncio.get_running_loop().create_task(seed_when_listening())

    app = create_app(settings, extra_routes=routes, on_startup=on_startup, readiness=readiness)
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
