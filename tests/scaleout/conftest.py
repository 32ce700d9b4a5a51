"""Scale-out fixtures: a PostgreSQL database of the test's own, migrated by the CLI, a SCIM
target that answers slowly, and real ``provisync worker`` processes.

These tests always use PostgreSQL (the job queue needs it): the server named by
``PROVISYNC_TEST_DATABASE_URL``, else the one on 127.0.0.1:5432 that CI and every machine of
this project run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from provisync.demo.scim_target import build_scim_target_app
from tests.support.processes import clean_env
from tests.support.servers import serve_asgi

SERVER = os.environ.get(
    "PROVISYNC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WORKER_SETTINGS = {
    "PROVISYNC_WORKER_HEARTBEAT_SECONDS": "0.5",
    "PROVISYNC_WORKER_STALLED_SECONDS": "3",
    "PROVISYNC_WORKER_RECOVERY_SECONDS": "0.5",
    "PROVISYNC_BATCH_SIZE": "10",
    "PROVISYNC_OUTBOUND_DEBOUNCE": "0.05",
}


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, migrated (tables and job queue) by `provisync db upgrade`."""
    name = f"q_{uuid.uuid4().hex[:12]}"
    admin = SERVER.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER.rsplit('/', 1)[0]}/{name}"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "provisync.cli", "db", "upgrade", "--database-url", url],
            env=clean_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        assert "job queue tables created" in done.stdout, done.stdout + done.stderr
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class SlowTarget:
    """scim2-server that takes ``delay`` seconds per request and counts writes by user."""

    def __init__(self, delay: float) -> None:
        self.app = build_scim_target_app()
        self.delay = delay
        self.methods: Counter[str] = Counter()
        """Requests by method, counted as they arrive (a killed client's included)."""
        self.answers: Counter[tuple[str, int]] = Counter()
        """Responses by method and status: ("POST", 201) counts accounts created."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        self.methods[method] += 1
        await asyncio.sleep(self.delay)

        async def answer(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.answers[(method, message["status"])] += 1
            await send(message)

        await self.app(scope, receive, answer)


@pytest.fixture
def slow_scim() -> Iterator[tuple[str, SlowTarget]]:
    target = SlowTarget(delay=0.05)
    with serve_asgi(target) as url:
        yield f"{url}/v2", target


def target_user_names(base: str) -> list[str]:
    names: list[str] = []
    start = 1
    while True:
        page = httpx.get(f"{base}/Users", params={"startIndex": start, "count": 500}).json()
        resources = page.get("Resources", [])
        names += [r["userName"] for r in resources]
        start += len(resources)
        if not resources or start > page["totalResults"]:
            return names


class Workers:
    """`provisync worker` subprocesses, with their logs, killed or stopped at the end."""

    def __init__(self, database_url: str, logs: Path) -> None:
        self.database_url = database_url
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, concurrency: int = 2, **settings: str) -> subprocess.Popen[bytes]:
        index = len(self.processes)
        env = clean_env(PROVISYNC_DATABASE_URL=self.database_url, **{**WORKER_SETTINGS, **settings})
        log = (self.logs / f"worker{index}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "provisync.cli", "worker", "--concurrency", str(concurrency)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def log(self, index: int) -> str:
        return (self.logs / f"worker{index}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(pg_url: str, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(pg_url, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
