"""Issue 13, item 10: a Workday write-back that failed as a whole leaves a trace on the users.

The Workday simulator over HTTP, behind a forwarder the test takes down: every pending
write-back counts in ``writeBackFailures`` with its reason, waits in the retry queue, and is
written back once the simulator answers again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.workday.simulator import SimulatedTenant, build_simulator_app
from tests.gql.forwarding import Forwarder, forwarding
from tests.gql.test_workday_rule import PASSWORD, USER, make_rule, users_by_name
from tests.support.inprocess import InProcess, in_process
from tests.support.servers import serve_asgi

VIEW = """query($id: ID!) { rule(id: $id) { status lastRunError
  summary { users { impacted failed writeBackFailures } }
  retryQueue(first: 20) { totalCount edges { node { entityKey operation attempts lastError } } }
  entityStates(first: 100) { edges { node { entityKey writeBack { ok reason }
    retry { attempts operation } } } }
  auditLog(first: 100) { edges { node { operation outcome message } } } } }"""
UPDATE = """mutation($id: ID!, $i: DirectoryUserInput!) {
  updateDirectoryUser(id: $id, input: $i) { __typename } }"""


@pytest.fixture
def tenant() -> SimulatedTenant:
    tenant = SimulatedTenant("acme", {USER: PASSWORD})
    tenant.generate(6)
    return tenant


@pytest.fixture
def workday(tenant: SimulatedTenant) -> Iterator[Forwarder]:
    with serve_asgi(build_simulator_app(tenant)) as url, forwarding(url) as forwarder:
        yield forwarder


async def view(api: InProcess, rule_id: str) -> dict[str, Any]:
    return (await api(VIEW, {"id": rule_id}))["rule"]  # type: ignore[no-any-return]


async def wait_view(api: InProcess, rule_id: str, check: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while not check(rule := await view(api, rule_id)):
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)
    return rule


async def test_a_write_back_failing_as_a_whole_counts_and_is_retried(
    database_url: str, tenant: SimulatedTenant, workday: Forwarder
) -> None:
    async with in_process(
        database_url, scheduler_tick=0.1, retry_base_seconds=0.3, retry_max_seconds=0.6
    ) as api:
        rule_id = await make_rule(api, workday.url)
        rule = await view(api, rule_id)
        assert rule["summary"]["users"]["writeBackFailures"] == 0
        users = await users_by_name(api)
        wids = tenant.visible_wids(tenant.now())[:2]
        changed = {tenant.worker(w).employee_id: w for w in wids}

        workday.down()
        for number, employee_id in enumerate(changed):
            await api(
                UPDATE,
                {"id": users[employee_id]["id"], "i": {"email": f"moved{number}@example.com"}},
            )
        rule = await wait_view(
            api,
            rule_id,
            lambda r: (
                r["summary"]["users"]["writeBackFailures"] == 2
                and r["retryQueue"]["totalCount"] == 2
            ),
            "the failed write-backs left no trace",
        )
        by_key = {e["node"]["entityKey"]: e["node"] for e in rule["entityStates"]["edges"]}
        for wid in wids:
            assert by_key[wid]["writeBack"]["ok"] is False
            assert by_key[wid]["writeBack"]["reason"].startswith("not written back: ")
            assert by_key[wid]["retry"]["operation"] == "WRITE_BACK"
            assert by_key[wid]["retry"]["attempts"] >= 1
        assert {e["node"]["entityKey"] for e in rule["retryQueue"]["edges"]} == set(wids)
        assert all(tenant.worker(w).emails[0].address.startswith("moved") is False for w in wids)

        workday.up()
        rule = await wait_view(
            api,
            rule_id,
            lambda r: (
                r["retryQueue"]["totalCount"] == 0
                and r["summary"]["users"]["writeBackFailures"] == 0
            ),
            "the write-backs were not retried",
        )
        for number, wid in enumerate(wids):
            assert tenant.worker(wid).emails[0].address == f"moved{number}@example.com"
        by_key = {e["node"]["entityKey"]: e["node"] for e in rule["entityStates"]["edges"]}
        assert all(by_key[w]["writeBack"] == {"ok": True, "reason": None} for w in wids)
        operations = [e["node"]["operation"] for e in rule["auditLog"]["edges"]]
        assert "RETRY_SCHEDULED" in operations and operations.count("RETRY_SETTLED") == 2
