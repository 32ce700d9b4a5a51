"""Hostile queries get a clear GraphQL error (never a 5xx or a hang); size, introspection, CORS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.support import SecureServer, secure_server


def post(
    server: SecureServer, body: object, role: str = "viewer", **headers: str
) -> httpx.Response:
    started = time.monotonic()
    response = httpx.post(
        f"{server.base_url}/graphql",
        json=body,
        timeout=20,
        headers={"Authorization": f"Bearer {server.tokens[role]}", **headers},
    )
    assert time.monotonic() - started < 10, "a hostile query must not hang the server"
    assert response.status_code < 500, response.text
    return response


def first_error(response: httpx.Response) -> str:
    errors = response.json().get("errors")
    assert errors, response.text
    return str(errors[0]["message"])


def test_deep_query(server: SecureServer) -> None:
    query = "{ rules { edges { node { id } } } }"
    deep = "{ rules" + " { edges { node { runs" * 6 + " { totalCount }" + " } } }" * 6 + " }"
    assert not post(server, {"query": query}).json().get("errors")
    errors = post(server, {"query": deep}).json()["errors"]
    assert any("depth" in e["message"].lower() for e in errors), errors


def test_absurdly_deep_query_is_refused_without_a_crash(server: SecureServer) -> None:
    response = post(
        server, {"query": "{" + " rules { edges { node { id" * 700 + " } } }" * 700 + " }"}
    )
    assert response.json().get("errors")


def test_many_aliases(server: SecureServer) -> None:
    query = "{ " + " ".join(f"a{i}: rules {{ totalCount }}" for i in range(200)) + " }"
    assert "alias" in first_error(post(server, {"query": query})).lower()


def test_huge_page(server: SecureServer) -> None:
    response = post(server, {"query": "{ rules(first: 1000000000) { totalCount } }"})
    message = first_error(response)
    assert "first must be at most" in message or "cost" in message


def test_query_cost(server: SecureServer) -> None:
    query = """{ rules(first: 100) { edges { node { id name
        entityStates(first: 100) { edges { node { id state reason differences { attribute } } } }
        auditLog(first: 100) { edges { node { id message } } } } } } }"""
    response = post(server, {"query": query})
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "cost" in first_error(response)
    variables = post(
        server,
        {
            "query": "query($n: Int) { rules(first: $n) { edges { node { "
            "runs(first: $n) { edges { node { id status } } } "
            "auditLog(first: $n) { edges { node { id message actor } } } } } } }",
            "variables": {"n": 1},
        },
    )
    assert "cost" in first_error(variables)
    fine = post(
        server,
        {
            "query": "{ rules(first: 20) { edges { node { id name summary { users { impacted } } } } } }"
        },
    )
    assert not fine.json().get("errors"), fine.text


def test_fragment_cycles_and_spreads(server: SecureServer) -> None:
    cycle = "query { rules { ...A } } fragment A on RuleConnection { edges { node { id } } ...A }"
    assert post(server, {"query": cycle}).json().get("errors")
    spread = (
        "query { rules(first: 100) { ...E } } fragment E on RuleConnection { edges { node { "
        "runs(first: 100) { edges { node { id status startedAt finishedAt kind error } } } } } }"
    )
    assert "cost" in first_error(post(server, {"query": spread}))


def test_many_tokens(server: SecureServer) -> None:
    query = "{ rules { totalCount " + "__typename " * 5000 + "} }"
    assert "token" in first_error(post(server, {"query": query})).lower()


def test_big_body_is_413(server: SecureServer) -> None:
    big = {"query": "{ rules { totalCount } }", "variables": {"pad": "x" * 2_000_000}}
    response = httpx.post(
        f"{server.base_url}/graphql",
        json=big,
        headers={"Authorization": f"Bearer {server.tokens['viewer']}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    unauthenticated = httpx.post(f"{server.base_url}/graphql", json=big)
    assert unauthenticated.status_code == 413


def test_garbage_bodies(server: SecureServer) -> None:
    for content in (
        b"",
        b"{",
        b"[]",
        b'{"query": 5}',
        b'{"query": "{", "variables": 3}',
        b"\xff\xfe",
    ):
        response = httpx.post(
            f"{server.base_url}/graphql",
            content=content,
            headers={
                "Authorization": f"Bearer {server.tokens['viewer']}",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code < 500, (content, response.text)


def test_introspection_on_by_default(server: SecureServer) -> None:
    response = post(server, {"query": "{ __schema { queryType { name } } }"})
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureServer]:
    path: Path = tmp_path_factory.mktemp("locked")
    with secure_server(
        f"sqlite+aiosqlite:///{path / 'l.db'}",
        introspection=False,
        cors_origins=["https://console.example"],
        max_request_bytes=2000,
    ) as running:
        yield running


def test_introspection_can_be_turned_off(locked: SecureServer) -> None:
    for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Rule") { name } }'):
        assert "introspection" in first_error(post(locked, {"query": query})).lower()
    assert post(locked, {"query": "{ rules { totalCount } }"}).json()["data"]


def test_max_request_bytes_setting(locked: SecureServer) -> None:
    response = httpx.post(
        f"{locked.base_url}/graphql",
        json={"query": "{ rules { totalCount } }" + " " * 3000},
        headers={"Authorization": f"Bearer {locked.tokens['viewer']}"},
    )
    assert response.status_code == 413


def test_cors_from_settings(locked: SecureServer) -> None:
    allowed = httpx.options(
        f"{locked.base_url}/graphql",
        headers={
            "Origin": "https://console.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://console.example"
    other = httpx.options(
        f"{locked.base_url}/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"
    simple = post(locked, {"query": "{ rules { totalCount } }"}, Origin="https://console.example")
    assert simple.headers["access-control-allow-origin"] == "https://console.example"


SUGGESTION_PROBES = (
    "{ rulez { totalCount } }",  # a field
    "{ rules(firts: 1) { totalCount } }",  # an argument
    "{ rules { edges { node { entityStates(state: FAILD) { totalCount } } } } }",  # an enum
    "query($k: EntityKnd) { rules { totalCount } }",  # a type
    'mutation { fullResyn(ruleId: "UnVsZTox") { __typename } }',  # a mutation
    'mutation { fullResync(rule: "UnVsZTox") { __typename } }',  # an argument of one
)


def test_no_suggestions_with_introspection_off(locked: SecureServer, server: SecureServer) -> None:
    for query in SUGGESTION_PROBES:
        response = post(locked, {"query": query}, role="admin")
        errors = response.json()["errors"]
        assert errors, query
        assert all("Did you mean" not in e["message"] for e in errors), errors
    coerced = post(
        locked,
        {
            "query": "query($s: EntitySyncState) { rules { edges { node { "
            "entityStates(state: $s) { totalCount } } } } }",
            "variables": {"s": "FAILD"},
        },
    )
    assert "FAILD" in first_error(coerced) and "Did you mean" not in coerced.text
    # With introspection on, suggestions help the people allowed in.
    assert "Did you mean" in post(server, {"query": "{ rulez { id } }"}).text
