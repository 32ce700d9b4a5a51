"""Mapping entries with CEL expressions, end to end: the API, the engine, the SCIM connector
and scim2-server over HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user, states

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
UPDATE_USER = """mutation($id: ID!, $input: DirectoryUserInput!) {
  updateDirectoryUser(id: $id, input: $input) { __typename } }"""
UPDATE_RULE = """mutation($input: UpdateRuleInput!) { updateRule(input: $input) {
  __typename ... on Rule { id mappings { target source value applies matching matchingOrder } }
  ... on ValidationError { message fields { field message } } } }"""


def target_users(base: str) -> dict[str, dict[str, Any]]:
    body = httpx.get(f"{base}/Users", params={"count": 1000}).json()
    return {u["userName"]: u for u in body.get("Resources", [])}


def field(target: str, value: str | None = None, **more: Any) -> dict[str, Any]:
    return {"target": target, "source": "FIELD", "value": value or target, **more}


def expression(target: str, text: str, **more: Any) -> dict[str, Any]:
    return {"target": target, "source": "EXPRESSION", "value": text, **more}


MAPPINGS = [
    field("userName", matching=True, matchingOrder=1),
    field("givenName"),
    field("familyName"),
    expression("displayName", 'join(" ", [givenName, familyName])'),
    field("email"),
    expression("department", 'lookup({"Sales": "S-01", "Engineering": "E-02"}, department, "X-99")'),
    expression("employeeId", 'formatDate(ext.hireDate, "%Y%m%d")'),
    {"target": "title", "source": "CONSTANT", "value": "New hire", "applies": "ON_CREATE"},
    field("active"),
]


def wait_synced(api: Api, rule_id: str) -> None:
    api.wait_idle(rule_id)


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_expression_mappings_reach_the_target_and_cleared_values_clear_it(
    api: Api, scim_base: str
) -> None:
    conn = create_connection(api, "scim", base_url=scim_base)
    ada = create_user(
        api,
        "ada",
        givenName="Ada",
        familyName="Lovelace",
        department="Engineering",
        extensionAttributes={"hireDate": "2021-03-04"},
    )
    create_user(api, "bob", givenName="Bob", familyName="Ng", department="Legal")
    rule = create_rule(api, conn, name="expressions", enabled=True, mappings=MAPPINGS)
    assert rule["__typename"] == "Rule", rule
    wait_synced(api, rule["id"])
    users = target_users(scim_base)
    assert users["ada"]["displayName"] == "Ada Lovelace"
    assert users["ada"][ENTERPRISE] == {"department": "E-02", "employeeNumber": "20210304"}
    assert users["ada"]["title"] == "New hire"
    assert users["bob"][ENTERPRISE] == {"department": "X-99"}  # no hire date: no number

    # Cleared source values: the expression's value goes away, and so does the target's.
    api(
        UPDATE_USER,
        {"id": ada, "input": {"givenName": None, "extensionAttributes": {"hireDate": None}}},
    )
    wait_for(lambda: target_users(scim_base)["ada"]["displayName"] != "Ada Lovelace")
    wait_synced(api, rule["id"])
    ada_at_target = target_users(scim_base)["ada"]
    assert ada_at_target["displayName"] == "Lovelace"
    assert "employeeNumber" not in ada_at_target.get(ENTERPRISE, {})
    assert ada_at_target["title"] == "New hire"  # on create only: never updated
    assert all(s["state"] == "SUCCESS" for s in states(api, rule["id"])), states(api, rule["id"])


def test_a_failing_expression_fails_the_user_with_its_reason(api: Api, scim_base: str) -> None:
    conn = create_connection(api, "scim", base_url=scim_base)
    create_user(api, "ok", givenName="Ok", familyName="Fine")
    create_user(api, "nogiven", familyName="Only")
    mappings = [field("userName"), expression("displayName", 'givenName + " " + familyName')]
    rule = create_rule(api, conn, name="strict", enabled=True, mappings=mappings)
    wait_synced(api, rule["id"])
    by_name = {s["displayName"]: s for s in states(api, rule["id"])}
    assert by_name["Ok Fine"]["state"] == "SUCCESS"
    failed = by_name["Only"]
    assert failed["state"] == "FAILED"
    assert failed["reason"].startswith("mapping failed: displayName:"), failed
    assert "null" in failed["reason"]
    assert set(target_users(scim_base)) == {"ok"}


def test_invalid_mappings_are_refused_with_where_and_why_and_nothing_is_written(
    api: Api, scim_base: str
) -> None:
    conn = create_connection(api, "scim", base_url=scim_base)
    bad = [
        field("userName"),
        expression("displayName", 'join(" ", [givenName,, familyName])'),
        expression("title", "upper(jobTitle)"),
        expression("department", "nosuch(department)"),
        field("nickName"),
        field("email", "mail"),
    ]
    refused = create_rule(api, conn, name="bad", mappings=bad)
    assert refused["__typename"] == "ValidationError"
    problems = {f["field"]: f["message"] for f in refused["fields"]}
    assert problems["mappings[1].value"].startswith("displayName: at 1:22: Syntax error")
    assert "at 1:7: unknown attribute 'jobTitle'" in problems["mappings[2].value"]
    assert "at 1:1: unknown function 'nosuch'" in problems["mappings[3].value"]
    assert "does not accept 'nickName'" in problems["mappings[4].target"]
    assert "unknown source field 'mail'" in problems["mappings[5].value"]
    rules = api("{ rules(first: 10) { totalCount } }")["rules"]["totalCount"]
    assert rules == 0

    rule = create_rule(api, conn, name="good")
    assert rule["__typename"] == "Rule"
    before = api(
        "query($id: ID!) { rule(id: $id) { mappings { target source value } } }",
        {"id": rule["id"]},
    )["rule"]["mappings"]
    assert {m["target"]: m["value"] for m in before}["displayName"] == "displayName"
    again = api(UPDATE_RULE, {"input": {"id": rule["id"], "mappings": bad}})["updateRule"]
    assert again["__typename"] == "ValidationError"
    after = api(
        "query($id: ID!) { rule(id: $id) { mappings { target source value } } }",
        {"id": rule["id"]},
    )["rule"]["mappings"]
    assert after == before
    updated = api(
        UPDATE_RULE,
        {"input": {"id": rule["id"], "mappings": [expression("displayName", "upper(userName)")]}},
    )["updateRule"]
    assert [m["target"] for m in updated["mappings"]] == ["displayName", "userName", "active"]


def test_the_deprecated_attribute_mappings_input_still_works(api: Api, scim_base: str) -> None:
    conn = create_connection(api, "scim", base_url=scim_base)
    create_user(api, "carol", title="Engineer", department="Research")
    rule = create_rule(
        api, conn, name="legacy", enabled=True, attributeMappings={"title": "department"}
    )
    assert rule["__typename"] == "Rule", rule
    wait_synced(api, rule["id"])
    assert target_users(scim_base)["carol"]["title"] == "Research"
    view = api(
        "query($id: ID!) { rule(id: $id) { attributeMappings } }", {"id": rule["id"]}
    )["rule"]
    assert view["attributeMappings"] == {"title": "department"}
