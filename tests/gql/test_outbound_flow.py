"""End to end through HTTP: an outbound rule with the test plugin, from creation to removal."""

from __future__ import annotations

import time

from tests.plugins.memory_connector import TARGETS
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


def test_full_resync_counts_every_state(api: Api) -> None:
    conn = create_connection(api, fail_users=["bad"], frozen_users=["frozen"])
    ids = [
        create_user(api, f"user{i}", email=f"user{i}@example.com", department="Sales")
        for i in range(5)
    ]
    create_user(api, "bad", department="Sales")
    frozen = create_user(api, "frozen", department="Sales", title="Old")
    create_user(api, "outsider", department="HR")
    group = create_group(api, "Sales team", [*ids[:3], frozen])
    rule = create_rule(
        api,
        conn,
        name="to memory",
        enabled=True,
        userFilter='department eq "Sales"',
        groupIds=[group],
    )
    assert rule["__typename"] == "Rule", rule
    api.wait_idle(rule["id"])
    view = assert_invariants(api, rule["id"])
    users = view["summary"]["users"]
    assert users == {
        "impacted": 7,
        "success": 6,
        "unsynced": 0,
        "partialSynced": 0,
        "failed": 1,
        "writeBackFailures": 0,
    }
    assert view["summary"]["groups"]["success"] == 1
    failed = states(api, rule["id"], state="FAILED")
    assert failed[0]["displayName"] == "bad" and "HTTP 400" in failed[0]["reason"]

    # The frozen account now differs at the target: PARTIAL with the differing attribute.
    api(
        """mutation($id: ID!) { updateDirectoryUser(id: $id, input: {title: "New"}) { __typename } }""",
        {"id": frozen},
    )
    deadline = time.monotonic() + 5
    while rule_view(api, rule["id"])["summary"]["users"]["partialSynced"] != 1:
        assert time.monotonic() < deadline, "the change was not pushed within the time allowed"
        time.sleep(0.05)
    partial = states(api, rule["id"], state="PARTIAL")[0]
    assert {"attribute": "title", "sourceValue": "New", "targetValue": "Old"} in partial[
        "differences"
    ]
    assert_invariants(api, rule["id"])


def test_user_leaving_scope_is_deprovisioned(api: Api) -> None:
    conn = create_connection(api, store="leaving-scope")
    uid = create_user(api, "mover", department="Sales")
    rule = create_rule(
        api, conn, enabled=True, userFilter='department eq "Sales"', deprovisionAction="DELETE"
    )
    api.wait_idle(rule["id"])
    assert rule_view(api, rule["id"])["summary"]["users"]["success"] == 1
    api(
        """mutation($id: ID!) { updateDirectoryUser(id: $id, input: {department: "HR"}) { __typename } }""",
        {"id": uid},
    )
    deadline = time.monotonic() + 5
    while rule_view(api, rule["id"])["summary"]["users"]["impacted"] != 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert TARGETS["leaving-scope"] == {}
    log = api(
        """query($id: ID!) { rule(id: $id) { summary { users { auditLog(first: 10) {
                 totalCount edges { node { operation outcome entityName } } } } } } }""",
        {"id": rule["id"]},
    )
    ops = [e["node"]["operation"] for e in log["rule"]["summary"]["users"]["auditLog"]["edges"]]
    assert ops[0] == "REMOVE_DELETE" and "CREATE" in ops
    assert_invariants(api, rule["id"])


def test_second_resync_request_returns_the_run_in_progress(api: Api) -> None:
    conn = create_connection(api, delay=0.5)
    create_user(api, "slow")
    rule = create_rule(api, conn, enabled=False)
    api(
        """mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }""",
        {"id": rule["id"]},
    )
    first = full_resync(api, rule["id"])
    second = full_resync(api, rule["id"])
    assert first["__typename"] == "SyncRun" and first["id"] == second["id"]
    final = api.wait_run(first["id"])
    assert final["status"] == "SUCCEEDED"
    assert_invariants(api, rule["id"])
