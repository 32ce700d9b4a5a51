"""`provisync demo` from the command line: everything on one machine, with seeded problems."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.processes import clean_env, provisync_process, wait_until
from tests.support.servers import free_port

QUERY = """{ rules { edges { node { name enabled status direction
  source { name } target { name }
  summary { users { impacted success unsynced partialSynced failed writeBackFailures } groups { impacted } }
  partial: entityStates(state: PARTIAL, first: 5) { edges { node { displayName differences { attribute } } } }
  failed: entityStates(state: FAILED, first: 5) { edges { node { displayName reason } } } } } } }"""


def _rules(base: str) -> dict[str, Any]:
    body = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=10).json()
    assert not body.get("errors"), body
    return {e["node"]["name"]: e["node"] for e in body["data"]["rules"]["edges"]}


def _seeded(rules: dict[str, Any]) -> bool:
    scim = rules.get("Directory → Acme SaaS")
    return bool(scim and scim["summary"] and scim["summary"]["users"]["impacted"] > 0)


def test_demo_serves_its_targets_and_shows_realistic_problems() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with provisync_process(["demo", "--port", str(port)], clean_env()) as process:
        wait_until(process, lambda: _seeded(_rules(base)), 90, "the demo did not seed")
        rules = _rules(base)
        assert set(rules) == {"Workday → Directory", "Directory → Acme SaaS", "Directory → Staging"}
        workday, scim, staging = (
            rules[n]
            for n in ("Workday → Directory", "Directory → Acme SaaS", "Directory → Staging")
        )
        assert workday["direction"] == "INBOUND" and workday["source"]["name"] == "Acme Workday"
        assert workday["summary"]["users"]["impacted"] == 40
        assert workday["summary"]["users"]["writeBackFailures"] == 2
        users = scim["summary"]["users"]
        assert (
            users["impacted"]
            == users["success"] + users["unsynced"] + users["partialSynced"] + users["failed"]
        )
        assert users["failed"] == 1 and "HTTP 400" in scim["failed"]["edges"][0]["node"]["reason"]
        assert users["partialSynced"] == 1
        assert scim["partial"]["edges"][0]["node"]["differences"] == [{"attribute": "title"}]
        assert (
            staging["enabled"] is False
            and staging["summary"] is None
            and staging["status"] == "INACTIVE"
        )
        # The targets are really served over HTTP by the same process.
        assert httpx.get(f"{base}/scim/v2/ServiceProviderConfig").status_code == 200
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "no credentials are needed" in output
