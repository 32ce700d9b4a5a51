"""Secrets planted in fixtures never show in responses, logs, audit events or states.

A connection secret and the API tokens are planted; every response body, every log line and
every stored audit event, entity state and run this module produces is scanned for them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from provisync.engine.context import open_connector
from provisync.security.crypto import PREFIX, decrypt_secrets
from provisync.services import Services
from provisync.store.models import ProvisioningConnection
from tests.plugins import memory_connector
from tests.security.support import SecureServer, make_settings, secure_server

SECRET = "s3cr3t-Planted-Connection-Token-7f1e"
SECOND = "an0ther-Planted-Secret-2b9c"
NESTED = "nested-Planted-Secret-55aa"
UNKNOWN = "unknown-Name-Planted-Secret-0c0c"
VIEWER_TRY = "viewer-Planted-Secret-9d9d"
PLANTED = (SECRET, SECOND, NESTED, UNKNOWN, VIEWER_TRY)

CONNECTION = """mutation($input: CreateProvisioningConnectionInput!) { r: createProvisioningConnection(input: $input) {
  __typename ... on ProvisioningConnection { id name settings secretsSet } ... on Error { code message }
  ... on ValidationError { fields { field message } } } }"""
UPDATE = """mutation($input: UpdateProvisioningConnectionInput!) { r: updateProvisioningConnection(input: $input) {
  __typename ... on ProvisioningConnection { id settings secretsSet } ... on Error { code message }
  ... on ValidationError { fields { field message } } } }"""


def exercise(server: SecureServer) -> dict[str, Any]:
    admin, operator, viewer = (server.client(r) for r in ("admin", "operator", "viewer"))
    store = "secret-scan"
    made = admin(
        CONNECTION,
        {
            "input": {
                "name": "planted",
                "connectorType": "memory",
                "settings": {"store": store},
                "secrets": {"token": SECRET},
            }
        },
    )["r"]
    assert made["__typename"] == "ProvisioningConnection", made
    assert made["secretsSet"] == ["token"]
    conn = made["id"]
    # A secret sent among the settings is moved to the secrets, never stored in clear.
    moved = admin(UPDATE, {"input": {"id": conn, "settings": {"store": store, "token": SECOND}}})[
        "r"
    ]
    assert moved["secretsSet"] == ["token"] and "token" not in moved["settings"], moved
    assert (
        admin(UPDATE, {"input": {"id": conn, "secrets": {"token": SECRET}}})["r"]["__typename"]
        == "ProvisioningConnection"
    )
    bad = admin(UPDATE, {"input": {"id": conn, "secrets": {"token": {"deep": NESTED}}}})["r"]
    assert bad["__typename"] == "ValidationError", bad
    unknown = admin(UPDATE, {"input": {"id": conn, "secrets": {"bogus": UNKNOWN}}})["r"]
    assert unknown["__typename"] == "ValidationError", unknown
    denied = viewer(UPDATE, {"input": {"id": conn, "secrets": {"token": VIEWER_TRY}}})["r"]
    assert denied["__typename"] == "ForbiddenError"
    tested = admin(
        "mutation($c: ID!) { r: testProvisioningConnection(connectionId: $c) { __typename "
        "... on ConnectionTestResult { ok message details } } }",
        {"c": conn},
    )["r"]
    assert tested["ok"] is True, tested
    # A sync that works, with a PARTIAL user (attribute differences), and one whose plugin raises.
    memory_connector.TARGETS.pop(store, None)
    user = operator(
        'mutation { r: createDirectoryUser(input: {userName: "frozen", title: "A"}) { ... on DirectoryUser { id } } }'
    )
    assert user["r"]["id"]
    rule = admin(
        """mutation($c: ID!) { r: createRule(input: {name: "scan", connectionId: $c, direction: OUTBOUND,
                 enabled: true}) { __typename ... on Rule { id } } }""",
        {"c": conn},
    )["r"]["id"]
    admin.wait_idle(rule)
    frozen = admin(
        UPDATE, {"input": {"id": conn, "settings": {"store": store, "frozen_users": ["frozen"]}}}
    )["r"]
    assert frozen["__typename"] == "ProvisioningConnection"
    operator(
        'mutation($u: ID!) { r: updateDirectoryUser(id: $u, input: {title: "B"}) { __typename } }',
        {"u": user["r"]["id"]},
    )
    run = operator(
        "mutation($r: ID!) { r: fullResync(ruleId: $r) { ... on SyncRun { id } } }", {"r": rule}
    )["r"]
    admin.wait_run(run["id"])
    admin(UPDATE, {"input": {"id": conn, "settings": {"store": store, "mode": "raise"}}})
    failed = operator(
        "mutation($r: ID!) { r: fullResync(ruleId: $r) { ... on SyncRun { id } } }", {"r": rule}
    )["r"]
    assert admin.wait_run(failed["id"])["status"] == "FAILED"
    viewer(
        """query($r: ID!) { rule(id: $r) { lastRunError auditLog(first: 100) { edges { node { operation message actor } } }
              entityStates { edges { node { reason differences { attribute sourceValue targetValue } } } } }
              provisioningConnections { edges { node { name settings secretsSet } } } }""",
        {"r": rule},
    )
    return {"connection": conn, "rule": rule}


def test_no_secret_anywhere(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"sqlite+aiosqlite:///{tmp_path / 'scan.db'}"
    with secure_server(url) as server:
        exercise(server)
        stored = server.query_db(
            "SELECT secrets FROM provisioning_connection WHERE name = 'planted'"
        )
        dumps = {
            "audit events": server.query_db("SELECT * FROM audit_event"),
            "entity states": server.query_db("SELECT * FROM entity_sync_state"),
            "runs": server.query_db("SELECT * FROM sync_run"),
            "rules": server.query_db("SELECT * FROM rule"),
            "connections": server.query_db("SELECT * FROM provisioning_connection"),
            "tokens": server.query_db("SELECT * FROM api_token"),
        }
        tokens = list(server.tokens.values())
        responses = list(server.seen)
    assert len(responses) > 15
    assert dumps["audit events"] and dumps["entity states"]
    planted = [*PLANTED, *tokens]
    for needle in planted:
        for body in responses:
            assert needle not in body, f"a response holds a planted secret: {body[:300]}"
        assert needle not in caplog.text, "a log line holds a planted secret"
        for what, rows in dumps.items():
            assert needle not in repr(rows), f"{what} hold a planted secret"
    assert any("plugin" in r.getMessage() for r in caplog.records), (
        "the scan saw the failing run's logs"
    )
    # Encrypted at rest: readable with the key, not without.
    secrets = json.loads(stored[0][0]) if isinstance(stored[0][0], str) else stored[0][0]
    assert set(secrets) == {"token"} and secrets["token"].startswith(PREFIX)
    assert decrypt_secrets(secrets) == {"token": SECRET}
    raw = (tmp_path / "scan.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("scan.db-*")
    )
    for needle in PLANTED:
        assert needle.encode() not in raw


def test_the_connector_gets_the_decrypted_secret(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'open.db'}"
    with secure_server(url) as server:
        made = server.client("admin")(
            CONNECTION,
            {
                "input": {
                    "name": "opened",
                    "connectorType": "memory",
                    "settings": {"store": "o"},
                    "secrets": {"token": SECRET},
                }
            },
        )
        assert made["r"]["__typename"] == "ProvisioningConnection"

    async def open_it() -> str:
        services = Services.build(make_settings(url))
        try:
            async with services.db.session() as session:
                from sqlmodel import select

                row = (await session.scalars(select(ProvisioningConnection))).one()
            connector = open_connector(services.registry, row, 1.0)
            return str(connector.settings.token.get_secret_value())
        finally:
            await services.db.dispose()

    assert asyncio.run(open_it()) == SECRET
