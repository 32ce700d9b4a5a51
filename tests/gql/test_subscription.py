"""syncRunProgress over graphql-transport-ws on a real WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user, full_resync

SUBSCRIPTION = """subscription($id: ID!) { syncRunProgress(runId: $id) {
  id status progress { processed total } } }"""


async def follow(base_url: str, run_id: str) -> list[dict[str, Any]]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    seen: list[dict[str, Any]] = []
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": run_id}},
                }
            )
        )
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if message["type"] == "complete":
                return seen
            assert message["type"] == "next", message
            assert not message["payload"].get("errors"), message
            seen.append(message["payload"]["data"]["syncRunProgress"])


def test_progress_is_streamed_until_the_run_ends(api: Api) -> None:
    for i in range(6):
        create_user(api, f"p{i}")
    conn = create_connection(api, delay=0.3)
    rule = create_rule(api, conn, enabled=False)
    api(
        "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
        {"id": rule["id"]},
    )
    run = full_resync(api, rule["id"])
    snapshots = asyncio.run(follow(api.base_url, run["id"]))
    assert snapshots[-1]["status"] == "SUCCEEDED"
    assert snapshots[-1]["progress"]["processed"] == snapshots[-1]["progress"]["total"] == 6
    assert len(snapshots) >= 2
    processed = [s["progress"]["processed"] for s in snapshots]
    assert processed == sorted(processed)


def test_subscribing_to_an_ended_run_yields_its_final_state(api: Api) -> None:
    create_user(api, "done")
    conn = create_connection(api)
    rule = create_rule(api, conn, enabled=True)
    api.wait_idle(rule["id"])
    run_id = api(
        "query($id: ID!) { rule(id: $id) { runs(first: 1) { edges { node { id } } } } }",
        {"id": rule["id"]},
    )["rule"]["runs"]["edges"][0]["node"]["id"]
    snapshots = asyncio.run(follow(api.base_url, run_id))
    assert [s["status"] for s in snapshots] == ["SUCCEEDED"]
