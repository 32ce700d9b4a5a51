"""A plugin that raises, hangs or loses its target fails its run, never the server."""

from __future__ import annotations

import pytest

from tests.support.api import Api
from tests.support.scenario import (
    assert_invariants,
    create_connection,
    create_rule,
    create_user,
    full_resync,
    rule_view,
)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("raise", "plugin tests.plugins.memory_connector raised RuntimeError during reconcile"),
        ("hang", "did not finish reconcile within 3s"),
        ("unreachable", "does not answer"),
    ],
)
def test_whole_run_failure_fails_the_run_and_marks_the_rule(
    api: Api, mode: str, reason: str
) -> None:
    create_user(api, f"someone-{mode}")
    conn = create_connection(api, mode=mode)
    rule = create_rule(api, conn, enabled=True)
    api.wait_idle(rule["id"], timeout=20)
    runs = api(
        "query($id: ID!) { rule(id: $id) { runs(first: 5) { totalCount edges { node { status error } } } } }",
        {"id": rule["id"]},
    )["rule"]["runs"]
    assert runs["edges"][0]["node"]["status"] == "FAILED"
    assert reason in runs["edges"][0]["node"]["error"]
    view = rule_view(api, rule["id"])
    assert view["status"] == "FAILED" and reason in view["lastRunError"]
    assert_invariants(api, rule["id"])
    # The server is still serving, and the secret-free error is all the client sees.
    assert api.http.get("/healthz").status_code == 200
    assert "memory plugin exploded" not in str(view)


def test_failed_rule_recovers_on_a_successful_resync(api: Api) -> None:
    create_user(api, "recoverer")
    conn = create_connection(api, mode="unreachable")
    rule = create_rule(api, conn, enabled=True)
    api.wait_idle(rule["id"])
    assert rule_view(api, rule["id"])["status"] == "FAILED"
    changed = api(
        """mutation($input: UpdateProvisioningConnectionInput!) { updateProvisioningConnection(input: $input) {
             __typename ... on ProvisioningConnection { settings } } }""",
        {"input": {"id": conn, "settings": {"store": "recovered", "mode": "ok"}}},
    )["updateProvisioningConnection"]
    assert changed["__typename"] == "ProvisioningConnection"
    run = full_resync(api, rule["id"])
    assert api.wait_run(run["id"])["status"] == "SUCCEEDED"
    view = assert_invariants(api, rule["id"])
    assert view["status"] == "ACTIVE" and view["summary"]["users"]["success"] == 1


def test_disabled_rule_hides_summary_and_refuses_resync(api: Api) -> None:
    conn = create_connection(api)
    rule = create_rule(api, conn, enabled=False)
    view = assert_invariants(api, rule["id"])
    assert view["summary"] is None and view["status"] == "INACTIVE"
    result = full_resync(api, rule["id"])
    assert result["__typename"] == "RuleDisabledError" and result["code"] == "RULE_DISABLED"
    runs = api("query($id: ID!) { rule(id: $id) { runs { totalCount } } }", {"id": rule["id"]})
    assert runs["rule"]["runs"]["totalCount"] == 0
