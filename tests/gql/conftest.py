"""Fixtures of the GraphQL end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provisync.demo.scim_target import build_scim_target_app
from tests.support.servers import serve_asgi


@pytest.fixture
def scim_base() -> Iterator[str]:
    """A fresh scim2-server over HTTP: its /v2 base URL."""
    with serve_asgi(build_scim_target_app()) as url:
        yield f"{url}/v2"
