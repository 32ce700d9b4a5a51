"""Issue 18's API: audit logs that page and filter, write-back failures listed, failed runs
audited, runs labelled, the caller's role, and settingsPatch."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.plugins.memory_connector import SOURCES
from tests.security.support import secure_server
from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user, rule_view

EVENT = "id createdAt operation outcome message entityKind entityKey entityName"
AUDIT = (
    """query($id: ID!, $first: Int, $after: String, $outcome: String, $operation: String,
  $kind: EntityKind, $search: String) { rule(id: $id) {
  auditLog(first: $first, after: $after, outcome: $outcome, operation: $operation,
           entityKind: $kind, search: $search) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { EVENT } } } } }"""
).replace("EVENT", EVENT)


def audit(api: Api, rule_id: str, **args: Any) -> dict[str, Any]:
    return api(AUDIT, {"id": rule_id, **args})["rule"]["auditLog"]  # type: ignore[no-any-return]


def all_pages(api: Api, rule_id: str, first: int, **args: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = None
    while True:
        page = audit(api, rule_id, first=first, after=after, **args)
        events += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return events
        after = page["pageInfo"]["endCursor"]


def outbound_with_a_failure(api: Api, users: int = 12) -> str:
    for i in range(users):
        create_user(api, f"day{i}", email=f"day{i}@x.test")
    create_user(api, "day.bad", displayName="Bad Apple")
    connection = create_connection(api, fail_users=["day.bad"])
    rule = create_rule(api, connection, name="Audit rule", enabled=True)
    api.wait_idle(rule["id"])
    return str(rule["id"])


def test_audit_log_orders_failures_first_pages_and_filters(api: Api) -> None:
    rule_id = outbound_with_a_failure(api)
    whole = audit(api, rule_id, first=100)
    events = [e["node"] for e in whole["edges"]]
    assert whole["totalCount"] == len(events) > 10
    # Newest first, and within one moment the failures come first.
    keys = [(e["createdAt"], e["outcome"] != "FAILED") for e in events]
    assert keys == sorted(keys, key=lambda k: (_desc(k[0]), k[1]))
    failed = next(e for e in events if e["outcome"] == "FAILED")
    same_moment = [e for e in events if e["createdAt"] == failed["createdAt"]]
    assert same_moment[0]["outcome"] == "FAILED"
    # Paging by cursor walks the same list, nothing twice, nothing left out.
    paged = all_pages(api, rule_id, first=4)
    assert [e["id"] for e in paged] == [e["id"] for e in events]

    # The refused push failed, and the retry queue says so each time it schedules another
    # attempt (an incremental push of the users' creation may race the first full resync and
    # make a second attempt: both are real).
    only_failed = audit(api, rule_id, first=50, outcome="failed")
    failed_events = [e["node"] for e in only_failed["edges"]]
    assert only_failed["totalCount"] == len(failed_events) >= 2
    assert {e["entityName"] for e in failed_events} == {"Bad Apple"}
    assert [e["operation"] for e in failed_events if e["operation"] != "RETRY_SCHEDULED"] == [
        "CHECK"
    ]
    retries = audit(api, rule_id, first=50, operation="RETRY_SCHEDULED")
    attempts = [e["node"]["message"] for e in retries["edges"]]
    assert retries["totalCount"] == len(failed_events) - 1
    assert all(f"attempt {len(attempts) - i} failed (HTTP 400" in m for i, m in enumerate(attempts))
    creates = audit(api, rule_id, first=50, operation="CREATE", kind="USER")
    assert creates["totalCount"] == 12  # the refused one was not created
    assert {e["node"]["operation"] for e in creates["edges"]} == {"CREATE"}
    assert audit(api, rule_id, first=50, kind="GROUP")["totalCount"] == 0
    found = audit(api, rule_id, first=50, search="apple")
    assert [e["node"]["entityName"] for e in found["edges"]] == ["Bad Apple"] * len(failed_events)
    # A "%" is text, not a wildcard.
    assert audit(api, rule_id, first=50, search="%")["totalCount"] == 0
    # The summary's audit log takes the same filters.
    summary_log = api(
        """query($id: ID!) { rule(id: $id) { summary { users {
             auditLog(first: 5, outcome: "FAILED") { totalCount edges { node { entityName } } }
           } } } }""",
        {"id": rule_id},
    )["rule"]["summary"]["users"]["auditLog"]
    assert summary_log["totalCount"] == len(failed_events)
    assert {e["node"]["entityName"] for e in summary_log["edges"]} == {"Bad Apple"}


def _desc(iso: str) -> float:
    from datetime import datetime

    return -datetime.fromisoformat(iso).timestamp()


def test_write_back_failures_are_listed_with_what_was_written(api: Api) -> None:
    store = uuid.uuid4().hex
    SOURCES[store] = [
        {"key": "w1", "attributes": {"userName": "wendy", "active": True}},
        {"key": "w2", "attributes": {"userName": "walt", "active": True, "phone": "555"}},
    ]
    conn = create_connection(
        api, store=store, write_back_attributes=["email", "phone"], reject_write_back=["w2"]
    )
    rule = create_rule(api, conn, direction="INBOUND", enabled=True)
    api.wait_idle(rule["id"])
    users = api("{ directoryUsers { edges { node { id userName } } } }")["directoryUsers"]
    ids = {e["node"]["userName"]: e["node"]["id"] for e in users["edges"]}
    for name, field, value in (("wendy", "email", "wendy@new.example"), ("walt", "phone", "12")):
        api(
            "mutation($id: ID!, $input: DirectoryUserInput!) {"
            " updateDirectoryUser(id: $id, input: $input) { __typename } }",
            {"id": ids[name], "input": {field: value}},
        )
    deadline = time.monotonic() + 10
    while rule_view(api, rule["id"])["summary"]["users"]["writeBackFailures"] != 1:
        assert time.monotonic() < deadline, "write-back was not recorded in time"
        time.sleep(0.05)
    api.wait_idle(rule["id"])
    listed = api(
        """query($id: ID!) { rule(id: $id) {
             failed: entityStates(writeBack: FAILED) { totalCount edges { node {
               entityKey displayName writeBack { ok reason attributes { attribute value } } } } }
             ok: entityStates(writeBack: OK) { totalCount edges { node { entityKey } } } } }""",
        {"id": rule["id"]},
    )["rule"]
    assert listed["failed"]["totalCount"] == 1
    walt = listed["failed"]["edges"][0]["node"]
    assert walt["entityKey"] == "w2" and walt["writeBack"]["ok"] is False
    assert "country code" in walt["writeBack"]["reason"]
    assert walt["writeBack"]["attributes"] == [{"attribute": "phone", "value": "12"}]
    assert [e["node"]["entityKey"] for e in listed["ok"]["edges"]] == ["w1"]


def test_a_run_that_fails_as_a_whole_ends_in_the_audit_log(api: Api) -> None:
    create_user(api, "lonely")
    connection = create_connection(api, mode="unreachable")
    rule = create_rule(api, connection, name="Down", enabled=True)
    api.wait_idle(rule["id"])
    ends = audit(api, rule["id"], first=10, outcome="FAILED", operation="FULL_RESYNC")
    assert ends["totalCount"] == 1
    message = ends["edges"][0]["node"]["message"]
    assert message.startswith("full run failed:") and "does not answer" in message
    # The request is there too, and says why the run started.
    requested = audit(api, rule["id"], first=10, outcome="SUCCESS", operation="FULL_RESYNC")
    assert requested["edges"][0]["node"]["message"] == "full resync requested: the rule was created"


RUNS = """query($id: ID!) { rule(id: $id) { summary { users { impacted } }
  runs(first: 5) { edges { node { label kind status progress { processed total inScope } } } } } }"""


def test_enabling_a_rule_labels_its_run_and_counts_what_is_in_scope(api: Api) -> None:
    for i in range(6):
        create_user(api, f"eng{i}", department="Engineering")
    for i in range(4):
        create_user(api, f"sales{i}", department="Sales")
    store = uuid.uuid4().hex
    first = create_connection(api, store=store)
    synced = create_rule(
        api, first, name="First", enabled=True, userFilter='department eq "Engineering"'
    )
    api.wait_idle(synced["id"])
    # A second rule to the same target: its accounts are there already, in sync.
    second = create_connection(api, store=store)
    rule = create_rule(
        api, second, name="Second", enabled=False, userFilter='department eq "Engineering"'
    )
    api(
        "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
        {"id": rule["id"]},
    )
    api.wait_idle(rule["id"])
    data = api(RUNS, {"id": rule["id"]})["rule"]
    run = next(e["node"] for e in data["runs"]["edges"] if e["node"]["kind"] == "FULL")
    assert run["label"] == "Full resync (the rule was enabled)"
    assert run["progress"]["processed"] == run["progress"]["total"] == 10
    assert run["progress"]["inScope"] == data["summary"]["users"]["impacted"] == 6
    runs = api(RUNS, {"id": synced["id"]})["rule"]["runs"]["edges"]
    # (Incremental syncs of the users created meanwhile may come after it.)
    created = next(e["node"] for e in runs if e["node"]["kind"] == "FULL")
    assert created["label"] == "Full resync (the rule was created)"
    # Six accounts found in sync are one audit line, not six "CHECK SUCCESS".
    checks = audit(api, rule["id"], first=20, operation="CHECK")
    assert checks["totalCount"] == 1
    assert checks["edges"][0]["node"]["message"] == (
        "6 users already in sync at the target: nothing to change"
    )


def test_viewer_names_the_caller_and_its_role(database_url: str, api: Api) -> None:
    anonymous = api("{ viewer { name role mayOperate mayAdminister } }")["viewer"]
    assert anonymous == {
        "name": "anonymous",
        "role": "ADMIN",
        "mayOperate": True,
        "mayAdminister": True,
    }
    with secure_server(database_url) as server:
        viewer = server.client("viewer")("{ viewer { name role mayOperate mayAdminister } }")
        assert viewer["viewer"] == {
            "name": "token:viewer-token",
            "role": "VIEWER",
            "mayOperate": False,
            "mayAdminister": False,
        }
        operator = server.client("operator")("{ viewer { role mayOperate mayAdminister } }")
        assert operator["viewer"] == {
            "role": "OPERATOR",
            "mayOperate": True,
            "mayAdminister": False,
        }


UPDATE = """mutation($input: UpdateProvisioningConnectionInput!) {
  updateProvisioningConnection(input: $input) { __typename
    ... on ProvisioningConnection { settings secretsSet }
    ... on ValidationError { fields { field message } } } }"""


def test_settings_patch_changes_one_setting_and_keeps_the_others(api: Api) -> None:
    store = uuid.uuid4().hex
    connection = create_connection(
        api, store=store, fail_users=["a"], delay=0.01, secrets={"token": "s3cret"}
    )
    patched = api(UPDATE, {"input": {"id": connection, "settingsPatch": {"fail_users": ["b"]}}})
    result = patched["updateProvisioningConnection"]
    assert result["__typename"] == "ProvisioningConnection", result
    assert result["settings"]["fail_users"] == ["b"]
    assert result["settings"]["store"] == store and result["settings"]["delay"] == 0.01
    assert result["secretsSet"] == ["token"]
    # A null removes a setting: back to its default.
    reset = api(UPDATE, {"input": {"id": connection, "settingsPatch": {"delay": None}}})
    assert reset["updateProvisioningConnection"]["settings"]["delay"] == 0.0
    # settings still replaces everything: without store, validation says so.
    replaced = api(UPDATE, {"input": {"id": connection, "settings": {"fail_users": []}}})
    assert replaced["updateProvisioningConnection"]["__typename"] == "ValidationError"
    both = api(
        UPDATE,
        {"input": {"id": connection, "settings": {"store": store}, "settingsPatch": {}}},
    )["updateProvisioningConnection"]
    assert both["__typename"] == "ValidationError"
    assert both["fields"][0]["field"] == "settingsPatch"
