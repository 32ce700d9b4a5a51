"""The scale-out mode on PostgreSQL with real processes: API replicas queue runs as jobs,
`provisync worker` processes execute them, a killed worker's run is finished by another."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from tests.gql.test_subscription import follow
from tests.scaleout.conftest import SlowTarget, Workers, target_user_names
from tests.support.api import Api, running_api
from tests.support.processes import clean_env, wait_until
from tests.support.scenario import create_connection, create_rule, create_user, full_resync
from tests.support.servers import free_port

RUNS = "WHERE task_name = 'provisync.execute_run'"
RUN = """query($id: ID!) { node(id: $id) { ... on SyncRun { id kind status error
  progress { processed total } } } }"""


def run_of(api: Api, run_id: str) -> dict[str, Any]:
    return api(RUN, {"id": run_id})["node"]  # type: ignore[no-any-return]


def first_run(api: Api, rule_id: str) -> dict[str, Any]:
    runs = api(
        "query($id: ID!) { rule(id: $id) { runs(first: 5) { edges { node { id kind status } } } } }",
        {"id": rule_id},
    )["rule"]["runs"]["edges"]
    return runs[-1]["node"]  # type: ignore[no-any-return]


def wait_run(api: Api, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = run_of(api, run_id)
        if run["status"] in ("SUCCEEDED", "FAILED"):
            return run
        assert time.monotonic() < deadline, f"the run did not end: {run}"
        time.sleep(0.2)


def sql(database_url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return list(conn.execute(query, args).fetchall())


def scim_rule(api: Api, base: str, users: int) -> str:
    for i in range(users):
        create_user(api, f"scale{i:03d}")
    connection = create_connection(api, "scim", base_url=base, use_bulk=False)
    # Created disabled, then enabled: the directory's own changes never start a run of it.
    rule = create_rule(api, connection, name="to SCIM")
    assert rule["__typename"] == "Rule", rule
    api(
        "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
        {"id": rule["id"]},
    )
    return str(rule["id"])


def test_queued_runs_are_merged_run_by_a_worker_and_followed_from_the_api(
    pg_url: str, slow_scim: tuple[str, SlowTarget], workers: Workers
) -> None:
    base, _ = slow_scim
    # Directory changes are never pushed here (a debounce of an hour): the users created
    # before the rule would otherwise race its enabling and add an increment's job.
    with running_api(pg_url, execution="queue", outbound_debounce=3600) as api:
        rule_id = scim_rule(api, base, 40)
        queued = first_run(api, rule_id)
        assert (queued["kind"], queued["status"]) == ("FULL", "QUEUED")  # no worker yet
        # Asking again joins the queued resync: one run, one job.
        assert full_resync(api, rule_id)["id"] == queued["id"]
        assert full_resync(api, rule_id)["id"] == queued["id"]
        jobs = sql(
            pg_url, f"SELECT status, lock, queueing_lock FROM procrastinate_jobs {RUNS} ORDER BY id"
        )
        assert jobs == [("todo", "rule:1", "resync:1")]

        workers.start()
        # The subscription is held on this API process; the run happens in the worker.
        seen = asyncio.run(follow(api.base_url, queued["id"]))
        assert seen[-1]["status"] == "SUCCEEDED", seen
        processed = [s["progress"]["processed"] for s in seen]
        assert processed == sorted(processed) and len(set(processed)) >= 3, processed
        assert len(target_user_names(base)) == 40
        assert sql(pg_url, f"SELECT status FROM procrastinate_jobs {RUNS}") == [("succeeded",)]


def test_two_api_processes_resyncing_at_once_start_one_run(
    pg_url: str, slow_scim: tuple[str, SlowTarget], workers: Workers
) -> None:
    base, _ = slow_scim
    port = free_port()
    env = clean_env(PROVISYNC_DATABASE_URL=pg_url, PROVISYNC_EXECUTION="queue")
    other = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "provisync.api.app:create_app", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        second = Api(f"http://127.0.0.1:{port}")
        wait_until(
            other,
            lambda: httpx.get(f"{second.base_url}/healthz").status_code == 200,
            30,
            "the second API process did not start",
        )
        with running_api(pg_url, execution="queue") as api:
            for i in range(10):
                create_user(api, f"dup{i}")
            connection = create_connection(api, "scim", base_url=base)
            rule_id = str(create_rule(api, connection, name="to SCIM")["id"])  # disabled
            api(
                "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
                {"id": rule_id},
            )
            clients = [api, second] * 4
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda c: full_resync(c, rule_id)["id"], clients))
            assert len(set(answers)) == 1, answers  # every request joined the one run
            full_runs = sql(pg_url, "SELECT count(*) FROM sync_run WHERE kind = 'FULL'")
            assert full_runs == [(1,)]
            workers.start()
            assert wait_run(api, answers[0])["status"] == "SUCCEEDED"
            second.http.close()
    finally:
        other.terminate()
        other.communicate(timeout=15)


def test_a_worker_killed_mid_resync_is_replaced_and_nothing_is_done_twice(
    pg_url: str, slow_scim: tuple[str, SlowTarget], workers: Workers
) -> None:
    base, target = slow_scim
    users = 120
    with running_api(pg_url, execution="queue") as api:
        rule_id = scim_rule(api, base, users)
        run_id = first_run(api, rule_id)["id"]
        doomed = workers.start()
        deadline = time.monotonic() + 60
        while run_of(api, run_id)["progress"]["processed"] < 30:
            assert time.monotonic() < deadline, "the first worker made no progress"
            time.sleep(0.05)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        at_kill = run_of(api, run_id)
        assert at_kill["status"] == "RUNNING" and at_kill["progress"]["processed"] < users

        workers.start()  # finds the dead worker's job once its heartbeat is 3 s old
        done = wait_run(api, run_id)
        assert done["status"] == "SUCCEEDED", done
        assert "resumes after its worker stopped" in workers.log(1)

        names = target_user_names(base)
        assert len(names) == users and len(set(names)) == users
        assert target.answers[("POST", 201)] == users  # no account was created twice
        view = api(
            "query($id: ID!) { rule(id: $id) { summary { users { impacted success failed } } } }",
            {"id": rule_id},
        )["rule"]["summary"]["users"]
        assert view == {"impacted": users, "success": users, "failed": 0}
        doubled = sql(
            pg_url,
            "SELECT entity_key, count(*) FROM audit_event WHERE kind = 'USER' "
            "GROUP BY entity_key HAVING count(*) > 1",
        )
        assert doubled == []  # one audit event per user: none lost, none doubled
        assert sql(
            pg_url, "SELECT count(DISTINCT entity_key) FROM audit_event WHERE kind = 'USER'"
        ) == [(users,)]
        assert done["progress"]["processed"] == done["progress"]["total"] == users
