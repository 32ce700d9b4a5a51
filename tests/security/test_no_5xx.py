"""Inputs that used to get a 5xx get a 4xx (or a typed GraphQL error) that says what is wrong."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.security.hostile_documents import (
    HUGE_ID_QUERY,
    NOT_UTF8,
    SUBSCRIPTION,
    deep_json,
)
from tests.security.support import SecureServer
from tests.security.test_roles import written


def _post(server: SecureServer, content: bytes, role: str = "admin") -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/graphql",
        content=content,
        headers={
            "Authorization": f"Bearer {server.tokens[role]}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )


def test_a_body_that_is_not_utf8_is_a_400(server: SecureServer) -> None:
    response = _post(server, NOT_UTF8)
    assert response.status_code == 400, response.text
    assert "UTF-8" in response.text


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_variables_are_a_400(server: SecureServer, depth: int) -> None:
    response = _post(server, deep_json(depth))
    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.text
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


@pytest.mark.parametrize(
    "node_id", ["Rule:99999999999999999999999", "Rule:-1", "Rule:9223372036854775808", "Rule:\uff11"]
)
def test_an_impossible_id_is_not_found_rather_than_masked(
    server: SecureServer, node_id: str
) -> None:
    gid = base64.b64encode(node_id.encode()).decode()
    api = server.client("admin")
    before = written(server)
    assert api(HUGE_ID_QUERY, {"id": gid}) == {"node": None}
    assert api("query($id: ID!) { rule(id: $id) { id } }", {"id": gid}) == {"rule": None}
    resync = api(
        "mutation($id: ID!) { fullResync(ruleId: $id) { __typename ... on Error { code } } }",
        {"id": gid},
    )
    assert resync["fullResync"]["code"] == "NOT_FOUND", resync
    group = api(
        "mutation($m: [ID!]) { createDirectoryGroup(input: {displayName: \"g-huge\", memberIds: $m})"
        " { __typename ... on Error { code message } } }",
        {"m": [base64.b64encode(b"DirectoryUser:99999999999999999999").decode()]},
    )
    assert group["createDirectoryGroup"]["code"] == "VALIDATION_FAILED", group
    assert written(server) == before


def test_a_subscription_over_plain_http_is_a_clear_4xx(server: SecureServer) -> None:
    response = httpx.post(
        f"{server.base_url}/graphql",
        json={"query": SUBSCRIPTION},
        headers={"Authorization": f"Bearer {server.tokens['viewer']}"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert "WebSocket" in response.text and "Unexpected" not in response.text
