"""Fixtures: one scim2-server per test module behind a controllable front, connectors made
the engine's way (discover -> validate_settings -> create)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import pytest

from provisync.demo.scim_target import build_scim_target_app
from provisync_sdk import (
    Connector,
    ConnectorContext,
    EntityKind,
    EntityOutcome,
    EntityState,
    ReconcileRequest,
)
from provisync_sdk.manager import ConnectorRegistry
from tests.connectors.scim.target import Control, ControlledTarget
from tests.support.servers import serve_asgi

REJECTED = "rejected.user"
SECRET_FIELDS = ("token", "password", "client_secret")
MakeConnector = Callable[..., Connector[Any]]
_names = itertools.count(1)


def unique(prefix: str = "user") -> str:
    """A userName never used before in this process (the server keeps state per module)."""
    return f"{prefix}.{next(_names)}"


@pytest.fixture(scope="module")
def control() -> Control:
    return Control()


@pytest.fixture(scope="module")
def server(control: Control) -> Iterator[str]:
    app = ControlledTarget(build_scim_target_app(reject_user_names={REJECTED}), control)
    with serve_asgi(app) as url:
        yield url


@pytest.fixture
def target(server: str, control: Control) -> Iterator[Control]:
    """The module's server, with the front reset to a plain PATCH-and-filter target."""
    control.reset()
    yield control
    control.reset()


@pytest.fixture
def base_url(server: str, target: Control) -> str:
    return f"{server}/v2"


@pytest.fixture
async def make_connector(base_url: str) -> AsyncIterator[MakeConnector]:
    registry = ConnectorRegistry.discover()
    made: list[Connector[Any]] = []

    def make(**overrides: Any) -> Connector[Any]:
        # One request per entity unless a test asks for /Bulk: faults are injected per request.
        settings: dict[str, Any] = {
            "base_url": base_url,
            "backoff_base": 0.01,
            "use_bulk": False,
            **overrides,
        }
        secrets = {k: settings.pop(k) for k in SECRET_FIELDS if k in settings}
        model = registry.validate_settings("scim", settings, secrets)
        connector = registry.create(
            "scim", model, ConnectorContext("conn-1", "test target", request_timeout=5)
        )
        made.append(connector)
        return connector

    yield make
    for connector in made:
        await connector.aclose()


def check_outcomes(
    request: ReconcileRequest, outcomes: Sequence[EntityOutcome]
) -> dict[str, EntityOutcome]:
    """The summary invariants, per batch: one outcome per entity, each in exactly one state,
    PARTIAL and FAILED say why, and nothing reported shows a secret."""
    keys = [u.key for u in request.users] + [g.key for g in request.groups]
    keys += [r.key for r in request.removals]
    by_key = {o.key: o for o in outcomes}
    assert len(outcomes) == len(keys) == len(by_key)
    assert set(by_key) == set(keys)
    for outcome in outcomes:
        assert outcome.state in set(EntityState)
        if outcome.state in (EntityState.PARTIAL, EntityState.FAILED):
            assert outcome.reason
        if outcome.state is EntityState.PARTIAL and outcome.kind is EntityKind.USER:
            assert outcome.differences
        assert "s3cret" not in (outcome.reason or "")
    return by_key


async def reconcile(
    connector: Connector[Any], request: ReconcileRequest
) -> dict[str, EntityOutcome]:
    return check_outcomes(request, await connector.reconcile(request))
