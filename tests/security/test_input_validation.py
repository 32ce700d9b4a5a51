"""Bad input is refused at the edge with a typed error naming the field, and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.security.support import SecureServer, secure_server
from tests.security.test_roles import written

USER = """mutation($input: DirectoryUserInput!) { r: createDirectoryUser(input: $input) {
  __typename ... on Error { code message } ... on ValidationError { fields { field message } } } }"""
GROUP = """mutation($input: DirectoryGroupInput!) { r: createDirectoryGroup(input: $input) {
  __typename ... on Error { code message } } }"""
CONNECTION = """mutation($input: CreateProvisioningConnectionInput!) {
  r: createProvisioningConnection(input: $input) { __typename ... on ProvisioningConnection { id }
  ... on Error { code message } ... on ValidationError { fields { field message } } } }"""
RULE = """mutation($c: ID!, $name: String!) { r: createRule(input: {name: $name, connectionId: $c,
  direction: OUTBOUND}) { __typename ... on Rule { id } ... on Error { code message } } }"""
UPDATE_RULE = """mutation($id: ID!, $name: String!) { r: updateRule(input: {id: $id, name: $name}) {
  __typename ... on Error { code message } } }"""
SCIM = {"base_url": "http://127.0.0.1:9/scim/v2"}


def refused(api: Any, query: str, variables: dict[str, Any], typename: str) -> dict[str, Any]:
    answer = api(query, variables)["r"]
    assert answer["__typename"] == typename, answer
    return answer  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"userName": "crlf", "email": "a@b.c\r\nBcc: x@y.z"}, "email"),
        ({"userName": "bad-email", "email": "not an email"}, "email"),
        ({"userName": "nul\x00name"}, "userName"),
        ({"userName": "big", "displayName": "x" * 500_000}, "displayName"),
        ({"userName": "tab", "title": "a\tb"}, "title"),
        ({"userName": "u" * 257}, "userName"),
    ],
)
def test_bad_user_fields_are_refused(server: SecureServer, fields: dict[str, str], field: str) -> None:
    before = written(server)
    answer = refused(server.client("operator"), USER, {"input": fields}, "ValidationError")
    assert [f["field"] for f in answer["fields"]] == [field], answer
    assert "x" * 100 not in answer["message"]  # the input is not echoed back
    assert written(server) == before


def test_user_names_are_unique_regardless_of_case(server: SecureServer) -> None:
    operator = server.client("operator")
    made = operator(USER, {"input": {"userName": "Case.Person", "email": "Case@Example.com"}})
    assert made["r"]["__typename"] == "DirectoryUser", made
    before = written(server)
    for other in ("case.person", "CASE.PERSON"):
        answer = refused(operator, USER, {"input": {"userName": other}}, "ConflictError")
        assert answer["code"] == "CONFLICT"
    group = operator(GROUP, {"input": {"displayName": "Case Group"}})["r"]
    assert group["__typename"] == "DirectoryGroup", group
    refused(operator, GROUP, {"input": {"displayName": "case group"}}, "ConflictError")
    refused(operator, GROUP, {"input": {"displayName": "g\x07"}}, "ValidationError")
    after = written(server)
    assert after["directory_user"] == before["directory_user"]
    assert after["directory_group"] == before["directory_group"] + 1


def _memory_connection(server: SecureServer, name: str) -> str:
    made = server.client("admin")(
        CONNECTION,
        {"input": {"name": name, "connectorType": "memory", "settings": {"store": name}}},
    )["r"]
    assert made["__typename"] == "ProvisioningConnection", made
    return str(made["id"])


def test_rule_names_are_unique_on_create_and_update(server: SecureServer) -> None:
    admin = server.client("admin")
    connection = _memory_connection(server, "unique-rules")
    first = admin(RULE, {"c": connection, "name": "Payroll sync"})["r"]
    second = admin(RULE, {"c": connection, "name": "Other sync"})["r"]
    assert first["__typename"] == second["__typename"] == "Rule"
    before = written(server)
    for name in ("Payroll sync", "payroll SYNC ", "Other sync"):
        refused(admin, RULE, {"c": connection, "name": name}, "ConflictError")
    refused(admin, UPDATE_RULE, {"id": second["id"], "name": "PAYROLL sync"}, "ConflictError")
    refused(admin, RULE, {"c": connection, "name": "nul\x00rule"}, "ValidationError")
    assert written(server) == before
    kept = admin(UPDATE_RULE, {"id": second["id"], "name": "Other sync"})["r"]
    assert kept["__typename"] == "Rule", kept  # its own name is no conflict


@pytest.mark.parametrize(
    ("settings", "secrets", "field"),
    [
        ({"base_url": "http://169.254.169.254/latest/meta-data"}, {}, "settings.base_url"),
        ({"base_url": "http://[fd00:ec2::254]/"}, {}, "settings.base_url"),
        ({"base_url": "http://0x7f000001:8080/scim"}, {}, "settings.base_url"),
        ({"base_url": "http://2130706433/scim"}, {}, "settings.base_url"),
        ({"base_url": "http://user:pw@host.example/"}, {}, "settings.base_url"),
        ({"base_url": "http://"}, {}, "settings.base_url"),
        ({"base_url": "http://host.example/\r\nX-Injected: 1"}, {}, "settings.base_url"),
        ({"base_url": "http://host.example/a b"}, {}, "settings.base_url"),
        ({"base_url": "ftp://host.example/"}, {}, "settings.base_url"),
        (
            {**SCIM, "auth": "oauth2", "token_url": "file:///etc/passwd", "client_id": "c"},
            {"client_secret": "s3cr3t-value"},
            "settings.token_url",
        ),
        ({**SCIM, "request_timeout": 1e308}, {}, "settings.request_timeout"),
        ({**SCIM, "page_size": 10**12}, {}, "settings.page_size"),
        ({**SCIM, "concurrency": "8"}, {}, "settings.concurrency"),
        ({**SCIM, "use_bulk": "yes"}, {}, "settings.use_bulk"),
        ({**SCIM, "bogus_option": 1}, {}, "settings.bogus_option"),
    ],
)
def test_bad_connection_settings_are_refused(
    server: SecureServer, settings: dict[str, Any], secrets: dict[str, Any], field: str
) -> None:
    before = written(server)
    answer = refused(
        server.client("admin"),
        CONNECTION,
        {"input": {"name": f"bad-{field}", "connectorType": "scim", "settings": settings,
                   "secrets": secrets}},
        "ValidationError",
    )
    assert field in [f["field"] for f in answer["fields"]], answer
    assert "pw@" not in str(answer) and "s3cr3t" not in str(answer)
    assert written(server) == before


def test_workday_settings_are_strict_too(server: SecureServer) -> None:
    base = {"base_url": "http://127.0.0.1:9/workday", "tenant": "acme", "username": "isu"}
    for settings, field in (
        ({**base, "page_size": "100"}, "settings.page_size"),
        ({**base, "base_url": "http://169.254.169.254/"}, "settings.base_url"),
        ({**base, "tenant": "acme/../x"}, "settings.tenant"),
    ):
        answer = refused(
            server.client("admin"),
            CONNECTION,
            {"input": {"name": "wd-bad", "connectorType": "workday", "settings": settings,
                       "secrets": {"password": "pw-value"}}},
            "ValidationError",
        )
        assert field in [f["field"] for f in answer["fields"]], answer


def test_allowed_targets_narrow_where_connections_may_point(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'egress.db'}"
    with secure_server(url, allowed_targets=["127.0.0.0/8", "*.corp.example"]) as running:
        admin = running.client("admin")
        for base_url, typename in (
            ("http://127.0.0.1:9/scim/v2", "ProvisioningConnection"),
            ("https://idp.corp.example/scim/v2", "ProvisioningConnection"),
            ("https://idp.elsewhere.example/scim/v2", "ValidationError"),
            ("http://10.1.2.3/scim/v2", "ValidationError"),
        ):
            answer = admin(CONNECTION, {"input": {
                "name": base_url, "connectorType": "scim", "settings": {"base_url": base_url}}})
            assert answer["r"]["__typename"] == typename, (base_url, answer)
