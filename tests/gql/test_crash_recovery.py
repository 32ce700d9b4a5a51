"""Issue 13, item 11: a server killed with SIGKILL mid-run comes back truthful about that run.

A real ``provisync serve`` process is killed while a full resync runs; the next process marks
the run FAILED and the rule FAILED with ``lastRunError`` saying so, until a run succeeds.
"""

from __future__ import annotations

import signal
import time

from cryptography.fernet import Fernet

from gql.store.db import upgrade
from tests.support.api import Api
from tests.support.processes import clean_env, provisync_process, wait_until
from tests.support.scenario import create_connection, create_rule, create_user, full_resync
from tests.support.servers import free_port

RULE = """query($id: ID!) { rule(id: $id) { status lastRunError
  runs(first: 5) { edges { node { kind status error } } }
  retryQueue { totalCount edges { node { displayName operation attempts lastError } } }
  auditLog(first: 20) { edges { node { operation outcome message } } } } }"""
KEY = Fernet.generate_key().decode()


def serve(database_url: str, port: int) -> dict[str, str]:
    return clean_env(
        PROVISYNC_DATABASE_URL=database_url,
        PROVISYNC_PORT=str(port),
        PROVISYNC_AUTH_REQUIRED="false",
        PROVISYNC_SECRET_KEY=KEY,
        PROVISYNC_EXTRA_PLUGINS="tests.plugins.memory_connector",
        PROVISYNC_SCHEDULER_TICK="0.2",
        PROVISYNC_OUTBOUND_DEBOUNCE="0.05",
        # Longer than the test: only the full resync below settles what the retry queue holds.
        PROVISYNC_RETRY_BASE_SECONDS="3600",
    )


def ready(api: Api) -> bool:
    return api.http.get("/healthz").status_code == 200


def test_a_run_killed_with_sigkill_fails_the_rule_until_a_run_succeeds(
    database_url: str,
) -> None:
    upgrade(database_url)
    port = free_port()
    api = Api(f"http://127.0.0.1:{port}")
    with provisync_process(["serve"], serve(database_url, port)) as process:
        wait_until(process, lambda: ready(api), 30, "provisync serve did not start")
        # Each call to this target takes a minute: the push is mid-run when the server dies.
        conn = create_connection(api, delay=60)
        rule = create_rule(api, conn, enabled=True)
        assert rule["__typename"] == "Rule", rule
        api.wait_idle(rule["id"])  # the first full resync had no user to push
        create_user(api, "interrupted")
        deadline = time.monotonic() + 20
        while (latest := api(RULE, {"id": rule["id"]})["rule"]["runs"]["edges"][0]["node"])[
            "kind"
        ] != "INCREMENTAL" or latest["status"] != "RUNNING":
            assert time.monotonic() < deadline, "the push did not start"
            time.sleep(0.1)
        assert api(RULE, {"id": rule["id"]})["rule"]["status"] == "ACTIVE"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
    api.http.close()

    api = Api(f"http://127.0.0.1:{port}")
    with provisync_process(["serve"], serve(database_url, port)) as process:
        wait_until(process, lambda: ready(api), 30, "provisync serve did not restart")
        view = api(RULE, {"id": rule["id"]})["rule"]
        run = view["runs"]["edges"][0]["node"]
        assert run["kind"] == "INCREMENTAL" and run["status"] == "FAILED"
        assert "interrupted" in run["error"]
        assert view["status"] == "FAILED"
        assert "interrupted" in view["lastRunError"] and "incremental run" in view["lastRunError"]
        # The change the killed push carried is not forgotten: it waits for a retry.
        queued = [e["node"] for e in view["retryQueue"]["edges"]]
        assert [(q["displayName"], q["operation"]) for q in queued] == [("interrupted", "PUSH")]
        assert "interrupted" in queued[0]["lastError"]
        events = [e["node"] for e in view["auditLog"]["edges"]]
        assert any(e["operation"] == "RUN_INTERRUPTED" and e["outcome"] == "FAILED" for e in events)

        changed = api(
            """mutation($i: UpdateProvisioningConnectionInput!) {
                 updateProvisioningConnection(input: $i) { __typename } }""",
            {"i": {"id": conn, "settings": {"store": "after-crash", "delay": 0}}},
        )["updateProvisioningConnection"]
        assert changed["__typename"] == "ProvisioningConnection"
        # The user the killed push never reached is pushed by the next full resync.
        again = full_resync(api, rule["id"])
        assert api.wait_run(again["id"])["status"] == "SUCCEEDED"
        view = api(RULE, {"id": rule["id"]})["rule"]
        assert view["status"] == "ACTIVE" and view["lastRunError"] is None
        assert view["retryQueue"]["totalCount"] == 0
    api.http.close()
