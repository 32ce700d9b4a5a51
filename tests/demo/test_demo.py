"""`provisync demo` from the command line: everything on one machine, with seeded problems."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

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


def _ready(base: str) -> bool:
    response = httpx.get(f"{base}/readyz", timeout=5)
    if response.status_code == 503:
        assert response.json()["status"] in ("starting", "unavailable"), response.text
        return False
    assert response.status_code == 200, response.text
    return True


def test_demo_serves_its_targets_and_shows_realistic_problems(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # "Run it for real" exports this: the demo must not write into it.
    real = tmp_path / "real.db"
    env = clean_env(PROVISYNC_DATABASE_URL=f"sqlite+aiosqlite:///{real}")
    with provisync_process(["demo", "--port", str(port)], env) as process:
        wait_until(process, lambda: _ready(base), 120, "the demo did not become ready")
        # Ready means seeded, with its first runs done: nothing is missing at this moment.
        rules = _rules(base)
        assert _seeded(rules)
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
    ready = re.search(r"ready: console at (\S+) , GraphiQL at (\S+) \(data in (\S+)\)", output)
    assert ready, output
    assert ready.group(1) == f"{base}/" and ready.group(2) == f"{base}/graphql"
    database = Path(ready.group(3).removeprefix("sqlite+aiosqlite:///"))
    assert database.name == "demo.db" and database.parent.name.startswith("provisync-demo-")
    assert not database.parent.exists(), "the demo's temporary folder is removed when it stops"
    assert not real.exists(), "the demo wrote into PROVISYNC_DATABASE_URL"


def test_demo_keeps_its_folder_when_asked() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with provisync_process(["demo", "--port", str(port), "--keep"], clean_env()) as process:
        wait_until(process, lambda: _ready(base), 120, "the demo did not become ready")
        process.terminate()
        output = process.communicate(timeout=20)[0]
    kept = re.search(r"kept its data in (\S+)", output)
    assert kept, output
    folder = Path(kept.group(1))
    try:
        assert (folder / "demo.db").stat().st_size > 0
    finally:
        shutil.rmtree(folder)


def test_demo_refuses_a_database_that_is_not_empty(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'used.db'}"
    upgraded = subprocess.run(
        [sys.executable, "-m", "provisync.cli", "db", "upgrade", "--database-url", url],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "provisync.cli",
            "demo",
            "--port",
            str(free_port()),
            "--database-url",
            url,
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "only uses an empty database" in done.stderr and "alembic_version" in done.stderr


def test_demo_accepts_an_empty_database(tmp_path: Path) -> None:
    from provisync.demo.app import DemoDatabaseNotEmpty, check_empty
    from provisync.store.db import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    check_empty(url)  # no file yet: empty
    upgrade(url)
    with pytest.raises(DemoDatabaseNotEmpty, match=r"table\(s\) \(alembic_version"):
        check_empty(url)


def test_demo_help_says_which_database_it_uses() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "provisync.cli", "demo", "--help"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=True,
    )
    text = " ".join(done.stdout.split())
    assert "ignores PROVISYNC_DATABASE_URL" in text
    assert "temporary folder" in text and "--keep" in text
    assert "only if it is empty" in text


def test_readyz_waits_for_what_startup_holds(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from provisync.api.app import Readiness, create_app
    from provisync.settings import Settings

    readiness = Readiness()
    readiness.hold("the demo data")
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    # The Host allow-list (DNS rebinding) serves "localhost" by default, not TestClient's
    # "testserver".
    app = create_app(settings, readiness=readiness)
    with TestClient(app, base_url="http://localhost") as client:
        held = client.get("/readyz")
        assert held.status_code == 503 and held.json()["waiting_for"] == "the demo data"
        readiness.done()
        assert client.get("/readyz").status_code == 200
        readiness.failed("boom")
        assert client.get("/readyz").status_code == 503
