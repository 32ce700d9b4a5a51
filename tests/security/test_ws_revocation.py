"""Open WebSockets follow the caller as it is now: revocation and JWT expiry close them (4403),
and an operation sent after revocation runs for no one."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import websockets

from gql.security.tokens import revoke_token
from gql.store.db import Database
from tests.security.support import SecureServer, _run
from tests.security.test_oidc import jwks_url, make_jwt, oidc_server  # noqa: F401  (fixtures)

QUERY = "{ rules { totalCount } }"
MUTATION = 'mutation { r: createDirectoryUser(input: {userName: "%s"}) { __typename } }'


def revoke(server: SecureServer, name: str) -> None:
    async def run() -> None:
        db = Database(server.database_url)
        try:
            await revoke_token(db, name=name, actor="test")
        finally:
            await db.dispose()

    _run(run)


async def _open(server: SecureServer, token: str) -> Any:
    url = server.base_url.replace("http://", "ws://") + "/graphql"
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    return ws


async def _operate(ws: Any, op_id: str, query: str) -> list[dict[str, Any]]:
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}}))
    messages = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        messages.append(message)
        if message["type"] in ("complete", "error"):
            return messages


async def _closed_code(ws: Any, within: float) -> tuple[int | None, float]:
    started = time.monotonic()
    try:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), time.monotonic() - started
    except TimeoutError:
        return None, time.monotonic() - started


def _users_named(server: SecureServer, name: str) -> int:
    rows = server.query_db(f"SELECT count(*) FROM directory_user WHERE user_name = '{name}'")
    return int(rows[0][0])


def test_revocation_closes_an_idle_socket_within_seconds(server: SecureServer) -> None:
    token = server.new_token("admin", "ws-idle")

    async def scenario() -> tuple[int | None, float]:
        ws = await _open(server, token)
        first = await _operate(ws, "1", QUERY)
        assert first[0]["payload"]["data"] == {"rules": {"totalCount": 0}}, first
        await asyncio.to_thread(revoke, server, "ws-idle")
        return await _closed_code(ws, 10)

    code, _elapsed = asyncio.run(scenario())
    assert code == 4403


def test_an_operation_after_revocation_runs_for_no_one(server: SecureServer) -> None:
    token = server.new_token("admin", "ws-busy")

    async def scenario() -> tuple[int | None, float]:
        ws = await _open(server, token)
        made = await _operate(ws, "1", MUTATION % "ws-before")
        assert made[0]["payload"]["data"]["r"]["__typename"] == "DirectoryUser", made
        await asyncio.to_thread(revoke, server, "ws-busy")
        await ws.send(
            json.dumps(
                {"id": "2", "type": "subscribe", "payload": {"query": MUTATION % "ws-after"}}
            )
        )
        return await _closed_code(ws, 10)

    code, _elapsed = asyncio.run(scenario())
    assert code == 4403
    assert _users_named(server, "ws-before") == 1
    assert _users_named(server, "ws-after") == 0


def test_jwt_expiry_closes_the_socket(oidc_server: SecureServer) -> None:  # noqa: F811
    token = make_jwt(exp=int(time.time()) + 3)

    async def scenario() -> tuple[int | None, float]:
        ws = await _open(oidc_server, token)
        assert (await _operate(ws, "1", QUERY))[0]["type"] == "next"
        return await _closed_code(ws, 15)

    code, _elapsed = asyncio.run(scenario())
    assert code == 4403
    expired = make_jwt(exp=int(time.time()) - 5)  # within the HTTP leeway, but expired

    async def late() -> int | None:
        url = oidc_server.base_url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {expired}"}}
            await ws.send(json.dumps(init))
            return (await _closed_code(ws, 5))[0]

    assert asyncio.run(late()) == 4403
