"""An inbound Workday rule end to end: the API, the engine, the connector, the simulator over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from provisync.store.models import utcnow
from provisync_workday.simulator import SimulatedTenant, build_simulator_app
from tests.support.inprocess import InProcess, in_process
from tests.support.servers import serve_asgi

USER, PASSWORD = "isu_provisync", "Workday-secret-1"
SUMMARY = """query($id: ID!) { rule(id: $id) { status lastRunError summary { users {
  impacted success unsynced partialSynced failed writeBackFailures } } } }"""


@pytest.fixture
def tenant() -> SimulatedTenant:
    tenant = SimulatedTenant("acme", {USER: PASSWORD})
    tenant.generate(25)
    return tenant


@pytest.fixture
def workday_url(tenant: SimulatedTenant) -> Iterator[str]:
    with serve_asgi(build_simulator_app(tenant)) as url:
        yield url


async def make_rule(api: InProcess, workday_url: str, password: str = PASSWORD) -> str:
    conn = await api(
        """mutation($i: CreateProvisioningConnectionInput!) { createProvisioningConnection(input: $i) {
             __typename ... on ProvisioningConnection { id secretsSet settings } ... on Error { message } } }""",
        {
            "i": {
                "name": "Workday",
                "connectorType": "workday",
                "settings": {
                    "base_url": workday_url,
                    "tenant": "acme",
                    "username": USER,
                    "page_size": 10,
                    "write_back_attributes": ["email", "phone", "userName"],
                    "retry_backoff": 0.01,
                },
                "secrets": {"password": password},
            }
        },
    )
    created = conn["createProvisioningConnection"]
    assert created["__typename"] == "ProvisioningConnection", created
    assert created["secretsSet"] == ["password"] and password not in str(created)
    rule = await api(
        """mutation($i: CreateRuleInput!) { createRule(input: $i) { __typename ... on Rule { id } } }""",
        {
            "i": {
                "name": "Workday to directory",
                "connectionId": created["id"],
                "direction": "INBOUND",
                "enabled": True,
                "pollIntervalSeconds": 900,
            }
        },
    )
    await api.idle()
    return str(rule["createRule"]["id"])


async def users_by_name(api: InProcess) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    after = None
    while True:
        page = (
            await api(
                """query($a: String) { directoryUsers(first: 100, after: $a) { pageInfo { hasNextPage endCursor }
                   edges { node { id userName email phone active employeeId } } } }""",
                {"a": after},
            )
        )["directoryUsers"]
        out.update({e["node"]["employeeId"]: e["node"] for e in page["edges"]})
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


async def summary(api: InProcess, rule_id: str) -> dict[str, Any]:
    return (await api(SUMMARY, {"id": rule_id}))["rule"]  # type: ignore[no-any-return]


async def test_import_write_back_and_incremental_poll(
    database_url: str, tenant: SimulatedTenant, workday_url: str
) -> None:
    future = tenant.hire(
        "Fern",
        "Future",
        hire_date=tenant.today() + timedelta(days=10),
        user_name="ffuture",
        email="ffuture@example.com",
    )
    async with in_process(database_url) as api:
        rule_id = await make_rule(api, workday_url)
        view = await summary(api, rule_id)
        assert view["status"] == "ACTIVE"
        assert view["summary"]["users"] == {
            "impacted": 26,
            "success": 26,
            "unsynced": 0,
            "partialSynced": 0,
            "failed": 0,
            "writeBackFailures": 0,
        }
        users = await users_by_name(api)
        assert len(users) == 26 and users[future.employee_id]["active"] is False

        # Write-back: one succeeds, one hits a pending business process, one a phone validation.
        wids = [w for w in tenant.visible_wids(tenant.now()) if w != future.wid][:4]
        ok, pending, bad_phone = (tenant.worker(w) for w in wids[:3])
        tenant.faults.pending_business_process.add(pending.wid)
        update = """mutation($id: ID!, $i: DirectoryUserInput!) { updateDirectoryUser(id: $id, input: $i) { __typename } }"""
        await api(
            update, {"id": users[ok.employee_id]["id"], "i": {"email": "new.address@example.com"}}
        )
        await api(
            update, {"id": users[pending.employee_id]["id"], "i": {"email": "pending@example.com"}}
        )
        await api(update, {"id": users[bad_phone.employee_id]["id"], "i": {"phone": "555-0100"}})
        await asyncio.sleep(0.2)
        await api.idle()
        view = await summary(api, rule_id)
        assert view["summary"]["users"]["writeBackFailures"] == 2
        assert tenant.worker(ok.wid).emails[0].address == "new.address@example.com"
        states = (
            await api(
                """query($id: ID!) { rule(id: $id) { entityStates(first: 100) { edges { node {
                   entityKey writeBack { ok reason } } } } } }""",
                {"id": rule_id},
            )
        )["rule"]["entityStates"]["edges"]
        reasons = {
            e["node"]["entityKey"]: e["node"]["writeBack"] for e in states if e["node"]["writeBack"]
        }
        assert reasons[ok.wid] == {"ok": True, "reason": None}
        assert "business process" in reasons[pending.wid]["reason"].lower()
        assert "country" in reasons[bad_phone.wid]["reason"].lower()

        # Terminations and the future hire reach the directory on the next incremental poll.
        leaver = tenant.worker(wids[3])
        tenant.terminate(leaver.wid)
        tenant.travel(timedelta(days=11))
        polls = await api.services.engine.poll_due(now=utcnow() + timedelta(seconds=901))
        assert [p.kind for p in polls] == ["POLL"]
        await api.idle()
        users = await users_by_name(api)
        assert users[leaver.employee_id]["active"] is False
        assert users[future.employee_id]["active"] is True
        view = await summary(api, rule_id)
        users_summary = view["summary"]["users"]
        assert (
            users_summary["impacted"]
            == users_summary["success"]
            + users_summary["unsynced"]
            + users_summary["partialSynced"]
            + users_summary["failed"]
        )


async def test_wrong_password_fails_the_run_and_the_rule(
    database_url: str, workday_url: str
) -> None:
    async with in_process(database_url) as api:
        rule_id = await make_rule(api, workday_url, password="not-the-password")
        view = await summary(api, rule_id)
        assert view["status"] == "FAILED"
        assert "not-the-password" not in view["lastRunError"]
        assert view["summary"]["users"]["impacted"] == 0
        assert await users_by_name(api) == {}


async def test_a_page_failing_mid_read_applies_no_half_page(
    database_url: str, tenant: SimulatedTenant, workday_url: str
) -> None:
    tenant.faults.failing_pages[2] = 99  # page 2 never answers: the read fails after its retries
    async with in_process(database_url) as api:
        rule_id = await make_rule(api, workday_url)
        view = await summary(api, rule_id)
        assert view["status"] == "FAILED" and view["lastRunError"]
        # Page 1 was applied whole or not at all; nothing is half-applied and the tallies agree.
        users = await users_by_name(api)
        assert len(users) in (0, 10)
        assert view["summary"]["users"]["impacted"] == len(users)
        tenant.faults.failing_pages.clear()
        await api("mutation($id: ID!) { fullResync(ruleId: $id) { __typename } }", {"id": rule_id})
        await api.idle()
        view = await summary(api, rule_id)
        assert view["status"] == "ACTIVE" and view["summary"]["users"]["impacted"] == 25
