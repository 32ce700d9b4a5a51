"""Issue 13, the fault mixes at the connector: lost creates are looked up before they are sent
again, garbage answers to creates and reads are followed up, a Bulk create is backed by a
resource, and a run failure carries what was done before it. scim2-server over real sockets,
behind a proxy that loses or replaces answers; every check reads the target itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from provisync.demo.scim_target import build_scim_target_app
from provisync_sdk import DesiredGroup, DesiredUser, EntityState, ReconcileRequest, RunFailure
from tests.connectors.scim.conftest import MakeConnector, reconcile, unique
from tests.connectors.scim.lost_answers import Loss, LostAnswers
from tests.connectors.scim.target import Control
from tests.support.faults import FaultProxy, FaultRule, fault_proxy
from tests.support.servers import serve_asgi

BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


@pytest.fixture
def proxy(server: str, target: Control) -> Iterator[LostAnswers]:
    with LostAnswers(upstream=server).serving() as running:
        yield running


def named(base_url: str, kind: str, attribute: str, name: str) -> list[dict[str, Any]]:
    body = httpx2.get(f"{base_url}/{kind}", params={"count": 10000}).json()
    return [r for r in body.get("Resources") or [] if r.get(attribute) == name]


def posts(proxy: LostAnswers, path: str) -> int:
    return sum(1 for method, p, _ in proxy.log if method == "POST" and p == path)


async def test_a_group_create_whose_answer_was_lost_is_looked_up_not_repeated(
    make_connector: MakeConnector, proxy: LostAnswers, base_url: str
) -> None:
    """scim2-server takes a second group of the same name: a blind repeat made a duplicate."""
    connector = make_connector(base_url=f"{proxy.url}/v2", max_retries=2)
    proxy.losses.append(Loss("POST", "/Groups", mode="drop"))
    name = unique("Lost group")
    outcome = (await reconcile(connector, ReconcileRequest(groups=[DesiredGroup("g", name)])))["g"]
    (group,) = named(base_url, "Groups", "displayName", name)
    assert (outcome.state, outcome.target_id) == (EntityState.SUCCESS, group["id"])
    assert posts(proxy, "/v2/Groups") == 1, proxy.log  # looked up, never sent again


async def test_a_user_create_whose_answer_was_lost_is_adopted_without_a_second_post(
    make_connector: MakeConnector, proxy: LostAnswers, base_url: str
) -> None:
    connector = make_connector(base_url=f"{proxy.url}/v2", max_retries=2)
    proxy.losses.append(Loss("POST", "/Users", mode="drop"))
    name = unique()
    user = DesiredUser("u", {"userName": name, "active": True, "title": "Lead"})
    outcome = (await reconcile(connector, ReconcileRequest(users=[user])))["u"]
    (account,) = named(base_url, "Users", "userName", name)
    assert (outcome.state, outcome.target_id) == (EntityState.SUCCESS, account["id"])
    assert posts(proxy, "/v2/Users") == 1, proxy.log


@pytest.mark.parametrize("kind", ["Users", "Groups"])
async def test_a_create_answered_with_an_html_page_is_looked_up(
    make_connector: MakeConnector, proxy: LostAnswers, base_url: str, kind: str
) -> None:
    """The target applied the create and a gateway answered its error page with a 201: the
    account exists, so the entity is SUCCESS with its real id (groups then count members)."""
    page = b"<!DOCTYPE html><html><body>accepted</body></html>"
    html = {"Content-Type": "text/html"}
    proxy.losses.append(Loss("POST", f"/{kind}", mode="answer", body=page, headers=html))
    connector = make_connector(base_url=f"{proxy.url}/v2")
    name = unique("Html")
    if kind == "Users":
        request = ReconcileRequest(users=[DesiredUser("e", {"userName": name, "active": True})])
        attribute = "userName"
    else:
        request = ReconcileRequest(groups=[DesiredGroup("e", name)])
        attribute = "displayName"
    outcome = (await reconcile(connector, request))["e"]
    (held,) = named(base_url, kind, attribute, name)
    assert (outcome.state, outcome.target_id) == (EntityState.SUCCESS, held["id"])


async def test_a_bulk_create_with_only_a_location_is_no_evidence(
    make_connector: MakeConnector, proxy: LostAnswers, base_url: str
) -> None:
    """A Bulk answer whose operations name a location of nothing: the users are looked up,
    not recorded SUCCESS on the location's word."""
    names = [unique("bulk"), unique("bulk")]
    answer = {
        "schemas": [BULK_RESPONSE],
        "Operations": [
            {"method": "POST", "bulkId": f"b{i}", "status": "201", "location": "/v2/Users/nothere"}
            for i in range(2)
        ],
    }
    proxy.losses.append(
        Loss(
            "POST",
            "/Bulk",
            mode="answer",
            forward=False,
            status=200,
            body=json.dumps(answer).encode(),
            headers={"Content-Type": "application/scim+json"},
        )
    )
    connector = make_connector(base_url=f"{proxy.url}/v2", use_bulk=True)
    users = [DesiredUser(n, {"userName": n, "active": True}) for n in names]
    outcomes = await reconcile(connector, ReconcileRequest(users=users))
    assert {o.state for o in outcomes.values()} == {EntityState.FAILED}, outcomes
    assert all("no account" in (o.reason or "") for o in outcomes.values())
    assert all(named(base_url, "Users", "userName", n) == [] for n in names)
    # a real Bulk answer: SUCCESS with the ids the target holds
    real = await reconcile(make_connector(use_bulk=True), ReconcileRequest(users=users))
    for n in names:
        (account,) = named(base_url, "Users", "userName", n)
        assert (real[n].state, real[n].target_id) == (EntityState.SUCCESS, account["id"])


@pytest.fixture
def faulty() -> Iterator[tuple[FaultProxy, str]]:
    with serve_asgi(build_scim_target_app()) as upstream, fault_proxy(upstream) as running:
        yield running, f"{upstream}/v2"


async def test_a_garbage_listing_once_is_read_again(
    make_connector: MakeConnector, faulty: tuple[FaultProxy, str]
) -> None:
    proxy, _direct = faulty
    proxy.add(FaultRule("invalid_json", method="GET", path=r"/Users\b", nth=1))
    connector = make_connector(base_url=f"{proxy.url}/v2", max_retries=2)
    users = [DesiredUser(f"u{i}", {"userName": unique(), "active": True}) for i in range(3)]
    outcomes = await reconcile(connector, ReconcileRequest(users=users))
    assert proxy.counts["invalid_json"] == 1
    assert {o.state for o in outcomes.values()} == {EntityState.SUCCESS}


async def test_a_run_failure_carries_the_accounts_created_before_it(
    make_connector: MakeConnector, faulty: tuple[FaultProxy, str]
) -> None:
    """The target dies at the third create: the failure reports the two accounts it made."""
    proxy, direct = faulty
    proxy.add(FaultRule("down", method="POST", path="/Users", nth=3))
    connector = make_connector(base_url=f"{proxy.url}/v2", max_retries=1, concurrency=1)
    users = [DesiredUser(f"u{i}", {"userName": unique(), "active": True}) for i in range(5)]
    with pytest.raises(RunFailure) as failure:
        await connector.reconcile(ReconcileRequest(users=users))
    reported = {o.key: o for o in failure.value.outcomes}
    assert len(reported) == 2, failure.value.outcomes
    for outcome in reported.values():
        user = next(u for u in users if u.key == outcome.key)
        (account,) = named(direct, "Users", "userName", user.attributes["userName"])
        assert (outcome.state, outcome.target_id) == (EntityState.SUCCESS, account["id"])


async def test_a_lost_create_at_a_strict_server_is_found_by_listing(
    make_connector: MakeConnector, faulty: tuple[FaultProxy, str]
) -> None:
    """The lookup after a lost answer cannot filter on a userName with a quote at a strict
    server (400): the connector lists instead, finds the account and adopts it."""
    proxy, direct = faulty
    proxy.shape.strict_filter = True
    proxy.hang_seconds = 1.0
    proxy.add(FaultRule("hang_forward", method="POST", path="/Users", nth=1))
    connector = make_connector(base_url=f"{proxy.url}/v2", request_timeout=0.3, max_retries=1)
    name = unique('o"hara')
    user = DesiredUser("q", {"userName": name, "active": True})
    outcome = (await reconcile(connector, ReconcileRequest(users=[user])))["q"]
    proxy.settle()
    (account,) = named(direct, "Users", "userName", name)
    assert (outcome.state, outcome.target_id) == (EntityState.SUCCESS, account["id"])
    assert proxy.counts["hang_forward"] == 1
