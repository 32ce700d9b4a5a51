"""A target that echoes the credentials it receives: after a run against it, no response, log
line (text or JSON), /metrics series or database row shows the secret in any encoding."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from connectors.redaction import secret_forms
from gql.demo.scim_target import build_scim_target_app
from gql.observability.logs import make_handler
from tests.security.support import SecureServer, secure_server
from tests.support.servers import serve_asgi

USER = "echo-client"
PASSWORD = "Pl4nted-Basic-Password-e7c3"
CONNECTION = """mutation($input: CreateProvisioningConnectionInput!) {
  r: createProvisioningConnection(input: $input) { __typename ... on ProvisioningConnection { id }
  ... on Error { message } } }"""
RULE = """mutation($c: ID!, $name: String!) { r: createRule(input: {name: $name, connectionId: $c,
  direction: OUTBOUND, enabled: true}) { __typename ... on Rule { id } ... on Error { message } } }"""
STATES = """query($id: ID!) { rule(id: $id) { status summary { users { failed } }
  entityStates(first: 50) { edges { node { state reason } } }
  runs(first: 5) { edges { node { status error } } }
  auditLog(first: 50) { edges { node { message } } } } }"""


class EchoingTarget:
    """scim2-server behind a front that refuses writes, echoing the Authorization it got (raw,
    decoded, URL-encoded) in the SCIM error ``detail``; under ``/down`` every request is
    refused that way (a whole-run failure)."""

    def __init__(self) -> None:
        self.app = build_scim_target_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        down = scope["path"].startswith("/down")
        if not down and not (scope["method"] in ("POST", "PUT") and "/Users" in scope["path"]):
            await self.app(scope, receive, send)
            return
        decoded = ""
        if auth.lower().startswith("basic "):
            decoded = base64.b64decode(auth.split(" ", 1)[1]).decode()
        detail = (
            f"refused: you sent {auth!r}, that is {decoded} (user={decoded.partition(':')[0]}, "
            f"password={decoded.partition(':')[2]}), encoded {quote(decoded, safe='')}; "
            f"raw credential {auth.split(' ', 1)[-1]}"
        )
        body = json.dumps(
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
             "detail": detail}
        ).encode()
        status = 401 if down else 400
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/scim+json")]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    with serve_asgi(EchoingTarget()) as url:
        yield url


@pytest.fixture
def captured_logs() -> Iterator[dict[str, io.StringIO]]:
    streams = {"text": io.StringIO(), "json": io.StringIO()}
    handlers = [make_handler(fmt, stream) for fmt, stream in streams.items()]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    yield streams
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def _connection(admin: Any, name: str, base_url: str) -> str:
    made = admin(CONNECTION, {"input": {
        "name": name, "connectorType": "scim",
        "settings": {"base_url": base_url, "auth": "basic", "username": USER, "use_bulk": False},
        "secrets": {"password": PASSWORD},
    }})["r"]
    assert made["__typename"] == "ProvisioningConnection", made
    return str(made["id"])


def _database_text(server: SecureServer) -> str:
    tables = [row[0] for row in server.query_db(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if "sqlite" in server.database_url
        else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )]
    dump = [repr(server.query_db(f'SELECT * FROM "{table}"')) for table in tables]
    if "sqlite" in server.database_url:
        dump.append(Path(server.database_url.split("///", 1)[1]).read_bytes().decode("latin-1"))
    return "\n".join(dump)


def test_no_echoed_credential_survives_anywhere(
    tmp_path: Path, echo_url: str, captured_logs: dict[str, io.StringIO]
) -> None:
    from tests.support.databases import fresh_database_url

    with fresh_database_url(tmp_path, "leak_scan") as url, secure_server(url) as server:
        admin, viewer = server.client("admin"), server.client("viewer")
        rules = {}
        for name, path in (("echo-writes", "/v2"), ("echo-down", "/down/v2")):
            connection = _connection(admin, name, echo_url + path)
            made = admin(RULE, {"c": connection, "name": name})["r"]
            assert made["__typename"] == "Rule", made
            rules[name] = made["id"]
        for index in range(3):
            admin(f'mutation {{ createDirectoryUser(input: {{userName: "leak.{index}", '
                  f'email: "leak{index}@example.com"}}) {{ __typename }} }}')
        for rule_id in rules.values():
            run = admin("mutation($id: ID!) { fullResync(ruleId: $id) { ... on SyncRun { id } } }",
                        {"id": rule_id})["fullResync"]
            admin.wait_run(run["id"])
        writes = viewer(STATES, {"id": rules["echo-writes"]})["rule"]
        reasons = [e["node"]["reason"] for e in writes["entityStates"]["edges"]]
        assert reasons and all("HTTP 400" in (r or "") for r in reasons), reasons
        assert any("[redacted]" in (r or "") for r in reasons), reasons  # the echo was there
        down = viewer(STATES, {"id": rules["echo-down"]})["rule"]
        assert down["status"] == "FAILED" and down["runs"]["edges"][0]["node"]["error"], down
        for rule_id in rules.values():
            tested = admin(
                "mutation($id: ID!) { r: testProvisioningConnection(connectionId: $id) "
                "{ ... on ConnectionTestResult { ok message details } } }",
                {"id": _rule_connection(viewer, rule_id)},
            )
            assert tested["r"]["message"], tested
        metrics = httpx.get(f"{server.base_url}/metrics",
                            headers={"Authorization": f"Bearer {server.tokens['viewer']}"}).text
        places = {
            "responses": "\n".join(server.seen),
            "text logs": captured_logs["text"].getvalue(),
            "json logs": captured_logs["json"].getvalue(),
            "metrics": metrics,
            "database": _database_text(server),
        }
    forms = leak_forms()
    leaks = {place: sum(text.count(form) for form in forms) for place, text in places.items()}
    print(f"leak scan: {sum(leaks.values())} occurrences of {len(forms)} forms", leaks)
    assert leaks == dict.fromkeys(places, 0), leaks
    assert captured_logs["text"].getvalue() and captured_logs["json"].getvalue()


def leak_forms() -> set[str]:
    """The password in any encoding, and what is left of each form when a target cuts its
    echo short: 10-character pieces of the raw password, 16-character prefixes of the rest."""
    whole = secret_forms(PASSWORD) | secret_forms(f"{USER}:{PASSWORD}")
    pieces = {PASSWORD[i : i + 10] for i in range(len(PASSWORD) - 9)}
    prefixes = {form[:16] for form in whole if len(form) > 16 and not form.startswith(USER)}
    return whole | pieces | prefixes


def _rule_connection(viewer: Any, rule_id: str) -> str:
    found = viewer("query($id: ID!) { rule(id: $id) { target { connection { id } } } }",
                   {"id": rule_id})
    return str(found["rule"]["target"]["connection"]["id"])
