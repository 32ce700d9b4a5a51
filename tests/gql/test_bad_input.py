"""Every mutation given bad input answers with a typed Error, and writes nothing."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user


def gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def counts(api: Api) -> dict[str, int]:
    data = api("""{ rules { totalCount } provisioningConnections { totalCount }
                   directoryUsers { totalCount } directoryGroups { totalCount } }""")
    return {k: v["totalCount"] for k, v in data.items()}


MISSING_RULE = gid("Rule", 999)
MISSING_USER = gid("DirectoryUser", 999)
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "fullResync",
        "mutation($v: ID!) { r: fullResync(ruleId: $v) { __typename ... on Error { code message } } }",
        {"v": MISSING_RULE},
        "NOT_FOUND",
    ),
    (
        "fullResync wrong type",
        "mutation($v: ID!) { r: fullResync(ruleId: $v) { __typename ... on Error { code message } } }",
        {"v": MISSING_USER},
        "NOT_FOUND",
    ),
    (
        "setRuleEnabled",
        "mutation($v: ID!) { r: setRuleEnabled(ruleId: $v, enabled: true) { __typename ... on Error { code message } } }",
        {"v": MISSING_RULE},
        "NOT_FOUND",
    ),
    (
        "deleteRule",
        "mutation($v: ID!) { r: deleteRule(id: $v) { __typename ... on Error { code message } } }",
        {"v": MISSING_RULE},
        "NOT_FOUND",
    ),
    (
        "createConnection unknown type",
        """mutation { r: createProvisioningConnection(input: {name: "x", connectorType: "nope"}) {
        __typename ... on Error { code message } } }""",
        {},
        "CONNECTOR_NOT_INSTALLED",
    ),
    (
        "createConnection invalid settings",
        """mutation { r: createProvisioningConnection(input: {name: "x", connectorType: "memory",
        settings: {mode: "sideways"}}) { __typename ... on Error { code message } } }""",
        {},
        "VALIDATION_FAILED",
    ),
    (
        "createConnection blank name",
        """mutation { r: createProvisioningConnection(input: {name: " ", connectorType: "memory",
        settings: {store: "s"}}) { __typename ... on Error { code message } } }""",
        {},
        "VALIDATION_FAILED",
    ),
    (
        "createUser blank",
        """mutation { r: createDirectoryUser(input: {userName: ""}) { __typename ... on Error { code message } } }""",
        {},
        "VALIDATION_FAILED",
    ),
    (
        "createUser bad email",
        """mutation { r: createDirectoryUser(input: {userName: "z", email: "nope"}) {
        __typename ... on Error { code message } } }""",
        {},
        "VALIDATION_FAILED",
    ),
    (
        "updateUser missing",
        """mutation($v: ID!) { r: updateDirectoryUser(id: $v, input: {title: "x"}) {
        __typename ... on Error { code message } } }""",
        {"v": MISSING_USER},
        "NOT_FOUND",
    ),
    (
        "deleteUser missing",
        """mutation($v: ID!) { r: deleteDirectoryUser(id: $v) { __typename ... on Error { code message } } }""",
        {"v": MISSING_USER},
        "NOT_FOUND",
    ),
    (
        "createGroup unknown member",
        """mutation($v: ID!) { r: createDirectoryGroup(input: {displayName: "g", memberIds: [$v]}) {
        __typename ... on Error { code message } } }""",
        {"v": MISSING_USER},
        "VALIDATION_FAILED",
    ),
    (
        "createGroup blank",
        """mutation { r: createDirectoryGroup(input: {displayName: ""}) { __typename ... on Error { code message } } }""",
        {},
        "VALIDATION_FAILED",
    ),
    (
        "deleteGroup missing",
        """mutation($v: ID!) { r: deleteDirectoryGroup(id: $v) { __typename ... on Error { code message } } }""",
        {"v": gid("DirectoryGroup", 999)},
        "NOT_FOUND",
    ),
    (
        "testConnection missing",
        """mutation($v: ID!) { r: testProvisioningConnection(connectionId: $v) {
        __typename ... on Error { code message } } }""",
        {"v": gid("ProvisioningConnection", 999)},
        "NOT_FOUND",
    ),
]


@pytest.mark.parametrize(("name", "query", "variables", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_typed_error_and_writes_nothing(
    api: Api, name: str, query: str, variables: dict[str, Any], code: str
) -> None:
    before = counts(api)
    result = api(query, variables)["r"]
    assert result["code"] == code, result
    assert result["message"]
    assert counts(api) == before


def test_rule_validation_covers_each_field_and_writes_nothing(api: Api) -> None:
    conn = create_connection(api)
    before = counts(api)
    bad = create_rule(
        api,
        conn,
        name="",
        userFilter="department eq",
        attributeMappings={"nope": "title"},
        groupIds=[gid("DirectoryGroup", 42)],
        pollIntervalSeconds=1,
    )
    assert bad["__typename"] == "ValidationError"
    fields = {f["field"] for f in bad["fields"]}
    assert fields == {"name", "userFilter", "attributeMappings", "groupIds", "pollIntervalSeconds"}
    assert counts(api) == before
    missing = create_rule(api, gid("ProvisioningConnection", 404))
    assert missing["__typename"] == "NotFoundError"
    assert counts(api) == before


def test_duplicate_names_conflict(api: Api) -> None:
    create_user(api, "twin")
    again = api(
        """mutation { r: createDirectoryUser(input: {userName: "twin"}) { __typename ... on Error { code } } }"""
    )["r"]
    assert again == {"__typename": "ConflictError", "code": "CONFLICT"}
    conn = create_connection(api)
    rule = create_rule(api, conn)
    used = api(
        "mutation($v: ID!) { r: deleteProvisioningConnection(id: $v) { __typename ... on Error { code message } } }",
        {"v": conn},
    )["r"]
    assert used["code"] == "CONFLICT" and "used by 1 rule" in used["message"]
    assert rule["__typename"] == "Rule"


def test_malformed_ids_and_unknown_nodes(api: Api) -> None:
    body = api.raw('{ node(id: "not-base64!") { id } }')
    assert body.get("errors") or body["data"]["node"] is None
    assert api("query($v: ID!) { node(id: $v) { id } }", {"v": MISSING_RULE})["node"] is None
    assert api("query($v: ID!) { rule(id: $v) { id } }", {"v": MISSING_RULE})["rule"] is None


def test_page_size_limit_is_a_clear_error(api: Api) -> None:
    body = api.raw("{ rules(first: 100000) { totalCount } }")
    assert body["errors"] and "first must be at most" in body["errors"][0]["message"]
