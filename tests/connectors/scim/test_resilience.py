"""Throttling, server errors, timeouts, and targets that are not there (real sockets)."""

from __future__ import annotations

import time

import pytest

from connectors import DesiredUser, EntityState, ReconcileRequest, TargetUnreachable
from gql.demo.scim_target import build_scim_target_app
from tests.connectors.scim.conftest import MakeConnector, reconcile, unique
from tests.connectors.scim.target import Control, ControlledTarget, Fault, stoppable_server
from tests.support.servers import free_port


def users(count: int) -> ReconcileRequest:
    return ReconcileRequest(
        users=[DesiredUser(f"u{i}", {"userName": unique(), "active": True}) for i in range(count)]
    )


async def test_429_with_retry_after_is_honoured(
    make_connector: MakeConnector, target: Control
) -> None:
    target.faults = [Fault("POST", "/Users", 429, times=1, headers={"Retry-After": "1"})]
    started = time.monotonic()
    outcome = (await reconcile(make_connector(), users(1)))["u0"]
    assert outcome.state is EntityState.SUCCESS
    assert time.monotonic() - started >= 1.0
    assert target.methods()["POST"] == 2


async def test_503_storm_fails_the_run(make_connector: MakeConnector, target: Control) -> None:
    target.faults = [Fault(None, "/Users", 503, times=100)]
    with pytest.raises(TargetUnreachable, match="503"):
        await make_connector(max_retries=2).reconcile(users(1))
    assert target.methods("/Users")["GET"] == 3  # bounded: 1 attempt + 2 retries


async def test_500_fails_that_user_only(make_connector: MakeConnector, target: Control) -> None:
    request = users(3)
    victim = request.users[1].attributes["userName"]
    target.faults = [Fault("POST", "/Users", 500, times=1, body_contains=victim, detail="boom")]
    outcomes = await reconcile(make_connector(), request)
    assert outcomes["u1"].state is EntityState.FAILED
    assert "HTTP 500" in (outcomes["u1"].reason or "") and "boom" in (outcomes["u1"].reason or "")
    assert outcomes["u0"].state is outcomes["u2"].state is EntityState.SUCCESS


async def test_slow_response_is_retried_after_timeout(
    make_connector: MakeConnector, target: Control
) -> None:
    target.faults = [Fault("POST", "/Users", None, times=1, delay=2.0)]
    connector = make_connector(request_timeout=0.5)
    outcome = (await reconcile(connector, users(1)))["u0"]
    # the abandoned first attempt may have been served meanwhile: then the retry's 409 is
    # resolved by finding the account, and the user is SUCCESS either way
    assert outcome.state is EntityState.SUCCESS


async def test_persistent_timeouts_fail_the_run(
    make_connector: MakeConnector, target: Control
) -> None:
    target.faults = [Fault(None, "/Users", None, times=10, delay=1.5)]
    with pytest.raises(TargetUnreachable, match=r"no answer within 0\.3s"):
        await make_connector(request_timeout=0.3, max_retries=1).reconcile(users(1))


async def test_unreachable_base_url() -> None:
    from connectors import ConnectorContext, ConnectorRegistry

    registry = ConnectorRegistry.discover()
    model = registry.validate_settings(
        "scim", {"base_url": f"http://127.0.0.1:{free_port()}/v2", "max_retries": 1}, {}
    )
    connector = registry.create("scim", model, ConnectorContext("c", "gone", 2))
    try:
        with pytest.raises(TargetUnreachable, match="does not answer"):
            await connector.reconcile(users(1))
        result = await connector.test_connection()
        assert not result.ok and result.details["reachable"] == "false"
    finally:
        await connector.aclose()


async def test_target_goes_away_mid_run() -> None:
    from connectors import ConnectorContext, ConnectorRegistry

    control = Control()
    app = ControlledTarget(build_scim_target_app(), control)
    with stoppable_server(app) as (url, server):
        posts = 0

        def stop_after_some_creates(method: str, path: str) -> None:
            nonlocal posts
            if method == "POST":
                posts += 1
                if posts == 10:
                    server.should_exit = True

        control.on_request = stop_after_some_creates
        registry = ConnectorRegistry.discover()
        model = registry.validate_settings(
            "scim",
            {
                "base_url": f"{url}/v2",
                "max_retries": 2,
                "backoff_base": 0.05,
                "concurrency": 2,
                "use_bulk": False,
            },
            {},
        )
        connector = registry.create("scim", model, ConnectorContext("c", "dying", 2))
        try:
            with pytest.raises(TargetUnreachable):
                await connector.reconcile(users(200))
        finally:
            await connector.aclose()
    assert 10 <= posts < 200
