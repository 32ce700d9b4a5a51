"""Fixtures: a simulated tenant served over HTTP on loopback, and connectors made the
engine's way (discover -> validate_settings -> create)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from provisync_sdk import ConnectorContext, EntityKind, ReadPage
from provisync_sdk.manager import ConnectorRegistry
from provisync_workday.connector import WorkdayConnector
from provisync_workday.simulator import SimulatedTenant, build_simulator_app
from tests.support.servers import serve_asgi

USER, PASSWORD = "isu_provisync", "s3cret-pass"
MakeConnector = Callable[..., WorkdayConnector]


@pytest.fixture
def tenant() -> SimulatedTenant:
    return SimulatedTenant("acme", {USER: PASSWORD})


@pytest.fixture
def base_url(tenant: SimulatedTenant) -> Iterator[str]:
    with serve_asgi(build_simulator_app(tenant)) as url:
        yield url


@pytest.fixture
async def make_connector(base_url: str) -> AsyncIterator[MakeConnector]:
    registry = ConnectorRegistry.discover()
    made: list[WorkdayConnector] = []

    def make(**overrides: Any) -> WorkdayConnector:
        settings: dict[str, Any] = {
            "base_url": base_url,
            "tenant": "acme",
            "api_version": "v44.0",
            "username": USER,
            "page_size": 10,
            "retry_backoff": 0.01,
            "write_back_attributes": ["email", "phone", "userName"],
        }
        secrets = {"password": overrides.pop("password", PASSWORD)}
        settings.update(overrides)
        model = registry.validate_settings("workday", settings, secrets)
        connector = registry.create(
            "workday", model, ConnectorContext(connection_id="c1", connection_name="Workday")
        )
        assert isinstance(connector, WorkdayConnector)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        await connector.aclose()


async def read_all(connector: WorkdayConnector, watermark: str | None = None) -> list[ReadPage]:
    return [page async for page in connector.read(EntityKind.USER, watermark)]


def days(n: int) -> timedelta:
    return timedelta(days=n)


def today(tenant: SimulatedTenant) -> date:
    return tenant.today()


Reader = Callable[[WorkdayConnector, str | None], Awaitable[list[ReadPage]]]
