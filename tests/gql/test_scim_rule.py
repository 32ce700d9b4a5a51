"""An outbound SCIM rule end to end: the API, the engine, the connector, scim2-server over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from provisync.demo.scim_target import build_scim_target_app, seed_existing_account
from tests.support.api import Api
from tests.support.scenario import (
    assert_invariants,
    create_connection,
    create_group,
    create_rule,
    create_user,
    full_resync,
    rule_view,
    states,
)
from tests.support.servers import serve_asgi


@pytest.fixture
def scim() -> Iterator[tuple[str, object]]:
    app = build_scim_target_app(reject_user_names={"reserved"})
    with serve_asgi(app) as url:
        yield f"{url}/v2", app


def target_users(base: str) -> dict[str, dict[str, object]]:
    body = httpx.get(f"{base}/Users", params={"count": 1000}).json()
    return {u["userName"]: u for u in body.get("Resources", [])}


def wait_for(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_outbound_rule_provisions_pushes_changes_and_reports_problems(
    api: Api, scim: tuple[str, object]
) -> None:
    import asyncio

    base, app = scim
    asyncio.run(seed_existing_account(app, "legacy", title="Contractor"))  # type: ignore[arg-type]
    conn = create_connection(api, "scim", base_url=base, update_enabled=False)
    ids = {
        name: create_user(
            api, name, title="Engineer", department="Engineering", email=f"{name}@example.com"
        )
        for name in ("ada", "grace", "reserved", "legacy")
    }
    group = create_group(api, "Engineering", list(ids.values()))
    rule = create_rule(api, conn, name="to SCIM", enabled=True, groupIds=[group])
    assert rule["__typename"] == "Rule", rule
    api.wait_idle(rule["id"])
    view = assert_invariants(api, rule["id"])
    assert view["summary"]["users"] == {
        "impacted": 4,
        "success": 2,
        "unsynced": 0,
        "partialSynced": 1,
        "failed": 1,
        "writeBackFailures": None,
    }
    assert view["summary"]["groups"]["impacted"] == 1
    accounts = target_users(base)
    assert {"ada", "grace", "legacy"} <= set(accounts) and "reserved" not in accounts
    failed = states(api, rule["id"], state="FAILED")[0]
    assert "HTTP 400" in failed["reason"] and "invalidValue" in failed["reason"]
    partial = states(api, rule["id"], state="PARTIAL")[0]
    assert {
        "attribute": "title",
        "sourceValue": "Engineer",
        "targetValue": "Contractor",
    } in partial["differences"]


def test_directory_changes_are_pushed_within_a_second(api: Api, scim: tuple[str, object]) -> None:
    base, _app = scim
    conn = create_connection(api, "scim", base_url=base)
    rule = create_rule(
        api,
        conn,
        name="to SCIM",
        enabled=True,
        userFilter='department eq "Sales"',
        deprovisionAction="DISABLE",
    )
    api.wait_idle(rule["id"])
    uid = create_user(api, "newhire", department="Sales", title="Rep")
    wait_for(lambda: "newhire" in target_users(base))
    api(
        'mutation($id: ID!) { updateDirectoryUser(id: $id, input: {title: "Lead"}) { __typename } }',
        {"id": uid},
    )
    wait_for(lambda: target_users(base)["newhire"].get("title") == "Lead")
    api(
        'mutation($id: ID!) { updateDirectoryUser(id: $id, input: {department: "HR"}) { __typename } }',
        {"id": uid},
    )
    wait_for(lambda: target_users(base)["newhire"].get("active") is False)
    wait_for(lambda: rule_view(api, rule["id"])["summary"]["users"]["impacted"] == 0)
    assert_invariants(api, rule["id"])


def test_unreachable_target_fails_the_rule_and_the_server_stays_up(api: Api) -> None:
    from tests.support.servers import free_port

    create_user(api, "someone")
    conn = create_connection(
        api, "scim", base_url=f"http://127.0.0.1:{free_port()}/v2", max_retries=0
    )
    rule = create_rule(api, conn, enabled=True)
    api.wait_idle(rule["id"])
    view = assert_invariants(api, rule["id"])
    assert view["status"] == "FAILED"
    assert (
        "does not answer" in view["lastRunError"] or "unreachable" in view["lastRunError"].lower()
    )
    result = api(
        """mutation($id: ID!) { testProvisioningConnection(connectionId: $id) {
                   ... on ConnectionTestResult { ok message } } }""",
        {"id": conn},
    )["testProvisioningConnection"]
    assert result["ok"] is False and result["message"]
    again = full_resync(api, rule["id"])
    assert api.wait_run(again["id"])["status"] == "FAILED"
