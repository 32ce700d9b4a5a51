"""Nothing but the GraphiQL page is served to a stranger: no parse, no validation, no
/metrics, no suggestions; the Host header is checked in every mode (DNS rebinding)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.security.hostile_documents import doubling_fragments
from tests.security.support import SecureServer
from tests.security.test_roles import written


def test_a_stranger_gets_no_parse_no_validation_and_nothing_is_written(
    server: SecureServer,
) -> None:
    before = written(server)
    document = doubling_fragments(24)
    answers: list[httpx.Response] = []

    def attack() -> None:
        answers.append(
            httpx.get(
                f"{server.base_url}/graphql",
                params={"query": document},
                headers={"Accept": "text/html"},
                timeout=60,
            )
        )

    attackers = [threading.Thread(target=attack) for _ in range(4)]
    for thread in attackers:
        thread.start()
    # The server stays responsive while strangers send the exponential document.
    assert httpx.get(f"{server.base_url}/healthz", timeout=30).status_code == 200
    for thread in attackers:
        thread.join(60)
    assert [a.status_code for a in answers] == [401] * 4
    for answer in answers:
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    mutation = 'mutation { createDirectoryUser(input: {userName: "stranger"}) { __typename } }'
    for params in ({"query": mutation}, {"query": "{ rules { totalCount } }", "x": "1"}):
        sneaky = httpx.get(
            f"{server.base_url}/graphql", params=params, headers={"Accept": "text/html"}
        )
        assert sneaky.status_code == 401, sneaky.text
    assert written(server) == before
    page = httpx.get(f"{server.base_url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_the_doubling_fragment_document_is_refused_with_a_token(server: SecureServer) -> None:
    api = server.client("viewer")
    for count in (20, 24, 60):
        body = api.raw(doubling_fragments(count))
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY", body
        assert body.get("data") is None
    deep = api.raw(doubling_fragments(24, leaf="edges { node { runs { edges { node { id } } } } }"))
    assert deep["errors"], deep
    aliases = "fragment A on RuleConnection { " + " ".join(
        f"a{i}: totalCount" for i in range(8)
    ) + " }"
    chained = doubling_fragments(10, leaf="...A") + "\n" + aliases
    refused = api.raw(chained)
    assert any("alias" in e["message"] for e in refused["errors"]), refused
    fine = api.raw(doubling_fragments(3))
    assert fine == {"data": {"rules": {"totalCount": 0}}}, fine


def test_metrics_are_refused_to_strangers_whatever_they_accept(server: SecureServer) -> None:
    for headers in ({"Accept": "text/html"}, {"Accept": "*/*"}, {}):
        response = httpx.get(f"{server.base_url}/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert "provisync_" not in response.text


def test_suggestions_are_never_shown_to_strangers(server: SecureServer) -> None:
    for query in ("{ rulez { totalCount } }", "{ rules { totalCont } }"):
        for method in ("GET", "POST"):
            response = httpx.request(
                method,
                f"{server.base_url}/graphql",
                params={"query": query} if method == "GET" else None,
                json={"query": query} if method == "POST" else None,
                headers={"Accept": "text/html"},
            )
            assert response.status_code == 401
            assert "Did you mean" not in response.text and "rules" not in response.text


@pytest.mark.parametrize(
    "host", ["evil.example", "rebind.attacker.test:8000", "127.0.0.1.nip.io", ""]
)
def test_a_host_not_allowed_is_refused_even_with_a_token(server: SecureServer, host: str) -> None:
    before = written(server)
    response = httpx.post(
        f"{server.base_url}/graphql",
        json={"query": 'mutation { createDirectoryUser(input: {userName: "rebound"}) { __typename } }'},
        headers={"Host": host, "Authorization": f"Bearer {server.tokens['admin']}"},
    )
    assert response.status_code == 400 and "host" in response.text.lower()
    assert httpx.get(f"{server.base_url}/healthz", headers={"Host": host}).status_code == 400
    assert written(server) == before
    for ours in ("localhost", "127.0.0.1"):
        ok = httpx.get(f"{server.base_url}/healthz", headers={"Host": ours})
        assert ok.status_code == 200


def test_allowed_hosts_setting(tmp_path: Path) -> None:
    from tests.security.support import secure_server

    url = f"sqlite+aiosqlite:///{tmp_path / 'hosts.db'}"
    with secure_server(url, allowed_hosts=["console.example", "*.corp.example"]) as running:
        for host, status in (
            ("console.example", 200),
            ("a.corp.example", 200),
            ("localhost", 400),
            ("evil.example", 400),
        ):
            got = httpx.get(f"{running.base_url}/healthz", headers={"Host": host})
            assert got.status_code == status, host


def test_a_websocket_naming_a_foreign_host_is_refused(server: SecureServer) -> None:
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Protocol": "graphql-transport-ws",
    }
    foreign = httpx.get(f"{server.base_url}/graphql", headers={**upgrade, "Host": "evil.example"})
    assert foreign.status_code == 400, foreign.status_code
    ours = httpx.get(f"{server.base_url}/graphql", headers=upgrade)
    assert ours.status_code == 101
