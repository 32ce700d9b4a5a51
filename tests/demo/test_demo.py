"""`provisync demo` from the command line: everything on one machine, with seeded problems."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx

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


def test_demo_serves_its_targets_and_shows_realistic_problems() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVISYNC_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gql.cli", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        rules: dict[str, Any] = {}
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                rules = _rules(base)
            except httpx.HTTPError:
                rules = {}
            scim = rules.get("Directory → Acme SaaS")
            if scim and scim["summary"] and scim["summary"]["users"]["impacted"] > 0:
                break
            time.sleep(0.5)
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
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "no credentials are needed" in output
