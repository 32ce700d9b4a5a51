"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when asked) and a server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import Api, running_api
from tests.support.databases import fresh_database_url


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(tmp_path, f"t_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with running_api(database_url) as client:
        yield client


def pytest_report_header() -> str:
    return "provisync test database: " + (
        os.environ.get("PROVISYNC_TEST_DATABASE_URL") or "SQLite (a file per test)"
    )
