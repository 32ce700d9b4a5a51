"""A provisync server with security on, tokens per role, and clients that keep every response."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.fernet import Fernet

from provisync.api.app import create_app
from provisync.security.tokens import create_token
from provisync.settings import Settings
from provisync.store.db import Database
from tests.support.api import Api
from tests.support.servers import serve_asgi

SECRET_KEY = Fernet.generate_key().decode()
ROLES = ("viewer", "operator", "admin")


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "extra_plugins": ["tests.plugins.memory_connector"],
        "connector_timeout": 3.0,
        "outbound_debounce": 0.05,
        "scheduler_tick": 0.2,
        "auth_required": True,
        "secret_key": SECRET_KEY,
    }
    values.update(overrides)
    return Settings(**values)


class RecordingApi(Api):
    """An Api client whose responses all land in ``seen`` (for the secret scan)."""

    def __init__(self, base_url: str, seen: list[str], token: str | None = None) -> None:
        super().__init__(base_url)
        self.seen = seen
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.event_hooks["response"] = [self._keep]

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        self.seen.append(response.text)


def _run(make: Any) -> Any:
    """Run a coroutine to the end in a thread of its own (the caller may be inside a loop,
    as Playwright's sync API is)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, make()).result()


@dataclass
class SecureServer:
    base_url: str
    database_url: str
    settings: Settings
    tokens: dict[str, str]
    seen: list[str] = field(default_factory=list)
    clients: list[Api] = field(default_factory=list)

    def client(self, role: str | None) -> RecordingApi:
        api = RecordingApi(self.base_url, self.seen, self.tokens[role] if role else None)
        self.clients.append(api)
        return api

    def bearer(self, token: str) -> RecordingApi:
        api = RecordingApi(self.base_url, self.seen, token)
        self.clients.append(api)
        return api

    def query_db(self, sql: str) -> list[Any]:
        async def run() -> list[Any]:
            from sqlalchemy import text

            db = Database(self.database_url)
            try:
                async with db.session() as session:
                    return list((await session.execute(text(sql))).all())
            finally:
                await db.dispose()

        return _run(run)

    def new_token(self, role: str, name: str) -> str:
        async def run() -> str:
            db = Database(self.database_url)
            try:
                return await create_token(db, name=name, role=role, actor="test")
            finally:
                await db.dispose()

        return _run(run)


@contextmanager
def secure_server(database_url: str, **overrides: Any) -> Iterator[SecureServer]:
    settings = make_settings(database_url, **overrides)
    with serve_asgi(create_app(settings)) as base_url:
        server = SecureServer(base_url, database_url, settings, {})
        server.tokens = {role: server.new_token(role, f"{role}-token") for role in ROLES}
        try:
            yield server
        finally:
            for client in server.clients:
                client.http.close()


def gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()
