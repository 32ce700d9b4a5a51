"""Inbound reads through the connector, over HTTP against the simulator."""

from __future__ import annotations

import pytest

from provisync_sdk import (
    AuthenticationFailed,
    EntityState,
    TargetUnreachable,
    UnsupportedOperation,
    UserRecord,
)
from provisync_sdk.types import EntityKind
from provisync_workday.simulator import SimulatedTenant
from tests.connectors.workday.conftest import MakeConnector, days, read_all


def records(pages: list) -> dict[str, UserRecord]:
    return {r.key: r for page in pages for r in page.records}


async def test_full_read_over_several_pages(tenant: SimulatedTenant, make_connector: MakeConnector):
    wids = tenant.generate(25)
    pages = await read_all(make_connector(page_size=10))
    assert [len(p.records) for p in pages] == [10, 10, 5]
    assert all(p.total == 25 for p in pages)
    assert [p.watermark is not None for p in pages] == [False, False, True]
    assert list(records(pages)) == wids
    worker = records(pages)[wids[11]]
    assert worker.attributes["employeeId"] == "21012"
    assert worker.attributes["manager"] == "21011"
    assert worker.attributes["phone"] == "+1 555-0011"
    assert worker.attributes["active"] is True and worker.effective_from is None


async def test_worker_mapping(tenant: SimulatedTenant, make_connector: MakeConnector):
    boss = tenant.hire(
        "Logan", "McNeil", email="lmcneil@example.com", user_name="lmcneil", business_title="CEO"
    )
    worker = tenant.hire(
        "Elizabeth",
        "Smith",
        preferred_first="Liz",
        email="liz@example.com",
        phone="555-0100",
        business_title="Engineer",
        manager_id=boss.employee_id,
        user_name="lsmith",
    )
    found = records(await read_all(make_connector()))
    assert dict(found[worker.wid].attributes) == {
        "userName": "lsmith",
        "givenName": "Liz",
        "familyName": "Smith",
        "displayName": "Liz Smith",
        "email": "liz@example.com",
        "phone": "+1 555-0100",
        "title": "Engineer",
        "employeeId": worker.employee_id,
        "manager": boss.employee_id,
        "active": True,
    }
    assert found[boss.wid].attributes["manager"] is None


async def test_incremental_read_sees_hires_changes_and_terminations(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    wids = tenant.generate(30)
    connector = make_connector(page_size=4)
    full = await read_all(connector)
    watermark = full[-1].watermark
    assert watermark is not None and len(records(full)) == 30
    nothing = await read_all(connector, watermark)
    assert records(nothing) == {} and nothing[-1].watermark is not None
    hired = tenant.hire("New", "Hire", email="new@example.com", user_name="newhire")
    tenant.change(wids[3], business_title="Director")
    tenant.terminate(wids[7])
    for wid in wids[10:16]:
        tenant.change(wid, legal_last="Moved")
    pages = await read_all(connector, watermark)
    changed = records(pages)
    assert set(changed) == {hired.wid, wids[3], wids[7], *wids[10:16]}
    assert len(pages) >= 3 and pages[-1].total == 9
    assert changed[wids[3]].attributes["title"] == "Director"
    assert changed[wids[7]].attributes["active"] is False
    assert changed[hired.wid].attributes["active"] is True
    assert changed[wids[12]].attributes["familyName"] == "Moved"
    assert pages[-1].watermark is not None and pages[-1].watermark > watermark
    again = await read_all(connector, pages[-1].watermark)
    assert records(again) == {}


async def test_future_hire_and_future_termination_follow_effective_dates(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    stayer = tenant.hire("Stay", "Er", user_name="stayer")
    connector = make_connector()
    watermark = (await read_all(connector))[-1].watermark
    start = tenant.today() + days(14)
    future = tenant.hire("Fu", "Ture", hire_date=start, user_name="future")
    tenant.terminate(stayer.wid, tenant.today() + days(7))
    pages = await read_all(connector, watermark)
    seen = records(pages)
    assert seen[future.wid].attributes["active"] is False
    assert seen[future.wid].effective_from == start.isoformat()
    assert seen[stayer.wid].attributes["active"] is True  # termination not yet effective
    watermark = pages[-1].watermark
    assert watermark is not None

    tenant.travel(days(8))  # the termination comes due; nothing new is entered
    due = records(await read_all(connector, watermark))
    assert set(due) == {stayer.wid}
    assert due[stayer.wid].attributes["active"] is False

    tenant.travel(days(7))  # the hire date comes due
    full = records(await read_all(connector))
    assert full[future.wid].attributes["active"] is True
    assert full[future.wid].effective_from is None


async def test_malformed_worker_is_a_failed_outcome(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    wids = tenant.generate(5)
    tenant.faults.malformed_workers.add(wids[2])
    pages = await read_all(make_connector())
    assert len(records(pages)) == 4
    failures = [f for p in pages for f in p.failures]
    assert len(failures) == 1
    assert failures[0].key == wids[2] and failures[0].state is EntityState.FAILED
    assert "no Workday account user name" in (failures[0].reason or "")


async def test_a_failing_page_is_retried(tenant: SimulatedTenant, make_connector: MakeConnector):
    tenant.generate(30)
    tenant.faults.failing_pages[2] = 2
    pages = await read_all(make_connector(page_size=10, max_retries=3))
    assert len(records(pages)) == 30
    assert tenant.faults.failing_pages[2] == 0


async def test_a_page_failing_past_the_bound_raises(
    tenant: SimulatedTenant, make_connector: MakeConnector
):
    tenant.generate(30)
    tenant.faults.failing_pages[2] = 5
    seen = []
    with pytest.raises(TargetUnreachable, match="3 time"):
        async for page in make_connector(page_size=10, max_retries=2).read(EntityKind.USER):
            seen.append(page)
    assert tenant.faults.failing_pages[2] == 2  # three attempts were made
    # nothing past the failed page was yielded, and no page carried a watermark
    assert sum(len(page.records) for page in seen) <= 10
    assert all(page.watermark is None for page in seen)


async def test_wrong_password_raises_authentication_failed(make_connector: MakeConnector):
    connector = make_connector(password="not-it")
    with pytest.raises(AuthenticationFailed, match="isu_provisync@acme"):
        await read_all(connector)
    result = await connector.test_connection()
    assert result.ok is False and "invalid username or password" in result.message


async def test_test_connection_and_groups(tenant: SimulatedTenant, make_connector: MakeConnector):
    tenant.generate(3)
    connector = make_connector()
    result = await connector.test_connection()
    assert result.ok and result.details["workers"] == "3"
    with pytest.raises(UnsupportedOperation):
        connector.read(EntityKind.GROUP)


async def test_unreachable_host_raises_target_unreachable(make_connector: MakeConnector):
    connector = make_connector(base_url="http://127.0.0.1:9", max_retries=1)
    with pytest.raises(TargetUnreachable):
        await read_all(connector)
