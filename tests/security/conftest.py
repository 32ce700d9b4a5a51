"""Fixtures: one secured server per module (tokens for each role), planted secrets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.support import SecureServer, secure_server
from tests.support.databases import fresh_database_url


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path: Path = tmp_path_factory.mktemp("secure")
    with fresh_database_url(path, f"s_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture(scope="module")
def server(module_database_url: str) -> Iterator[SecureServer]:
    with secure_server(module_database_url) as running:
        yield running
