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


def test_concurrent_resync_requests_share_one_run(api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    create_user(api, "concurrent")
    conn = create_connection(api, delay=0.3)
    rule = create_rule(api, conn, enabled=False)
    api(
        "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
        {"id": rule["id"]},
    )
    api.wait_idle(rule["id"])
    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = list(pool.map(lambda _: full_resync(api, rule["id"]), range(8)))
    assert {r["__typename"] for r in runs} == {"SyncRun"}
    assert len({r["id"] for r in runs}) == 1
    api.wait_run(runs[0]["id"])
    kinds = api(
        "query($id: ID!) { rule(id: $id) { runs { edges { node { kind } } } } }", {"id": rule["id"]}
    )
    fulls = [e for e in kinds["rule"]["runs"]["edges"] if e["node"]["kind"] == "FULL"]
    assert len(fulls) == 2  # the one from enabling, and the one the eight requests shared
    assert_invariants(api, rule["id"])


def test_a_rule_whose_connector_is_not_installed(database_url: str) -> None:
    from tests.support.api import running_api

    with running_api(database_url) as api:
        create_user(api, "orphan")
        conn = create_connection(api)
        rule = create_rule(api, conn, enabled=True)
        api.wait_idle(rule["id"])
        runs_before = api(
            "query($id: ID!) { rule(id: $id) { runs { totalCount } } }", {"id": rule["id"]}
        )
    with running_api(database_url, disable_plugins=["tests.plugins.memory_connector"]) as api:
        result = full_resync(api, rule["id"])
        assert (
            result["__typename"] == "ConnectorNotInstalledError"
            and result["code"] == "CONNECTOR_NOT_INSTALLED"
        )
        toggle = "mutation($id: ID!, $on: Boolean!) { setRuleEnabled(ruleId: $id, enabled: $on) { __typename ... on Error { code } } }"
        assert (
            api(toggle, {"id": rule["id"], "on": False})["setRuleEnabled"]["__typename"] == "Rule"
        )
        assert (
            api(toggle, {"id": rule["id"], "on": True})["setRuleEnabled"]["code"]
            == "CONNECTOR_NOT_INSTALLED"
        )
        view = api(
            "query($id: ID!) { rule(id: $id) { enabled connection { connectorType { name } connectorTypeName } } }",
            {"id": rule["id"]},
        )["rule"]
        assert view == {
            "enabled": False,
            "connection": {"connectorType": None, "connectorTypeName": "memory"},
        }
        runs = api("query($id: ID!) { rule(id: $id) { runs { totalCount } } }", {"id": rule["id"]})
        assert runs == runs_before  # nothing was started without the plugin
