"""Issue 13 items 7 and 8: garbage answers are described, odd entities fail alone.

scim2-server behind the fault proxy (real sockets). A listing or discovery that answers garbage
fails the run with what the target did, never a parser's exception name; a read about one
entity fails that entity and the rest is still done; a filter the target cannot parse falls
back to a listing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from connectors import (
    Connector,
    ConnectorContext,
    ConnectorRegistry,
    DesiredGroup,
    DesiredUser,
    EntityState,
    MemberRef,
    ReconcileRequest,
    RunFailure,
)
from gql.demo.scim_target import build_scim_target_app
from tests.connectors.scim.conftest import reconcile, unique
from tests.support.faults import FaultProxy, FaultRule, fault_proxy
from tests.support.servers import serve_asgi

EXCEPTION_NAMES = re.compile(r"[A-Z][a-z]+(Error|Exception)\b|JSONDecode|Traceback")


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serve_asgi(build_scim_target_app()) as url:
        yield url


@pytest.fixture
def proxy(upstream: str) -> Iterator[FaultProxy]:
    with fault_proxy(upstream) as running:
        yield running


@pytest.fixture
async def connector(proxy: FaultProxy) -> AsyncIterator[Connector[Any]]:
    registry = ConnectorRegistry.discover()
    settings = {
        "base_url": f"{proxy.url}/v2",
        "backoff_base": 0.01,
        "max_retries": 1,
        "use_bulk": False,
    }
    made = registry.create(
        "scim", registry.validate_settings("scim", settings, {}), ConnectorContext("c", "t", 5)
    )
    yield made
    await made.aclose()


def users(count: int) -> list[DesiredUser]:
    return [
        DesiredUser(f"u{i}", {"userName": unique("garbage"), "active": True}) for i in range(count)
    ]


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("html", "GET /Groups answered 200 with text/html, not SCIM JSON"),
        ("invalid_json", "GET /Groups answered 200 with a body that is not valid JSON"),
        ("not_scim", "GET /Groups answered 200 with JSON that is not a SCIM ListResponse"),
        ("truncated", "GET /Groups (the connection closed before a complete answer, 2 attempts)"),
    ],
)
async def test_a_garbage_listing_fails_the_run_saying_what_the_target_did(
    connector: Connector[Any], proxy: FaultProxy, fault: str, said: str
) -> None:
    created = await reconcile(connector, ReconcileRequest(users=users(2)))
    assert {o.state for o in created.values()} == {EntityState.SUCCESS}
    proxy.add(FaultRule(fault, method="GET", path=r"/Groups\b"))
    group = DesiredGroup("g1", unique("Garbage group"), (MemberRef("u0", created["u0"].target_id),))
    with pytest.raises(RunFailure) as failure:
        await connector.reconcile(ReconcileRequest(groups=[group]))
    assert said in str(failure.value)
    assert not EXCEPTION_NAMES.search(str(failure.value)), str(failure.value)


async def test_garbage_discovery_fails_the_run_saying_what_the_target_did(
    connector: Connector[Any], proxy: FaultProxy
) -> None:
    proxy.add(FaultRule("html", path="/ServiceProviderConfig"))
    with pytest.raises(RunFailure, match="GET /ServiceProviderConfig answered 200 with text/html"):
        await connector.reconcile(ReconcileRequest(users=users(1)))


async def test_a_garbage_read_of_one_account_fails_that_user_and_the_rest_is_done(
    connector: Connector[Any], proxy: FaultProxy
) -> None:
    first = await reconcile(connector, ReconcileRequest(users=users(3)))
    renamed = DesiredUser(
        "u1", {"userName": unique("renamed"), "active": True}, first["u1"].target_id
    )
    others = [DesiredUser(k, {"userName": unique("other"), "active": True}) for k in ("u5", "u6")]
    # the renamed user is not found by its new userName, so its stored id is read: garbage
    proxy.add(FaultRule("html", method="GET", path=f"/Users/{first['u1'].target_id}"))
    outcomes = await reconcile(connector, ReconcileRequest(users=[renamed, *others]))
    assert outcomes["u1"].state is EntityState.FAILED
    assert outcomes["u1"].reason == (
        f"GET /Users/{first['u1'].target_id} answered 200 with text/html, not SCIM JSON"
    )
    assert outcomes["u5"].state is outcomes["u6"].state is EntityState.SUCCESS
    members = tuple(MemberRef(k, outcomes[k].target_id) for k in ("u5", "u6"))
    pushed = await reconcile(
        connector, ReconcileRequest(groups=[DesiredGroup("g", unique("G"), members)])
    )
    assert pushed["g"].state is EntityState.SUCCESS  # groups are still pushed


async def test_a_quote_in_a_user_name_at_a_strict_server_fails_nothing(
    connector: Connector[Any], proxy: FaultProxy
) -> None:
    """Item 8: the strict server refuses the (correctly escaped) filter with a 400; the
    connector lists the collection instead, and every user of the batch is synced."""
    proxy.shape.strict_filter = True
    odd = DesiredUser("odd", {"userName": unique('o"neil\\x'), "active": True})
    batch = [odd, *users(3)]
    outcomes = await reconcile(connector, ReconcileRequest(users=batch))
    assert {o.state for o in outcomes.values()} == {EntityState.SUCCESS}, outcomes
    refused = [t for m, t, status in proxy.log if "filter=" in t and status == "400"]
    assert refused, proxy.log  # the filter really was refused
    held = httpx2.get(f"{proxy.upstream}/v2/Users/{outcomes['odd'].target_id}").json()
    assert held["userName"] == odd.attributes["userName"]
    again = await reconcile(connector, ReconcileRequest(users=batch))  # matched, not recreated
    assert {o.state for o in again.values()} == {EntityState.SUCCESS}
    assert again["odd"].target_id == outcomes["odd"].target_id
