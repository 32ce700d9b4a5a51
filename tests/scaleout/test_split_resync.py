"""A large full resync split into chunks that several `provisync worker` processes push at
once: one run, one progress, one summary; a killed worker's chunks are finished by another."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

from tests.gql.test_subscription import follow
from tests.scaleout.conftest import SlowTarget, Workers, target_user_names
from tests.scaleout.test_queue import first_run, run_of, scim_rule, sql, wait_run
from tests.support.api import Api, running_api

USERS = 120
SPLIT = {"PROVISYNC_RESYNC_CHUNK_SIZE": "20"}  # 6 chunks of 20 users, batches of 10


def check_one_run_of_every_user(api: Api, pg_url: str, base: str, target: SlowTarget) -> None:
    names = target_user_names(base)
    assert len(names) == USERS and len(set(names)) == USERS
    created = target.answers[("POST", 201)]
    assert created == USERS, (created, target.answers)  # no account was created twice
    rule_id = api("{ rules(first: 1) { edges { node { id } } } }")["rules"]["edges"][0]["node"]
    view = api(
        "query($id: ID!) { rule(id: $id) { summary { users { impacted success failed } } } }",
        {"id": rule_id["id"]},
    )["rule"]["summary"]["users"]
    assert view == {"impacted": USERS, "success": USERS, "failed": 0}
    events = sql(
        pg_url,
        "SELECT count(*), count(DISTINCT entity_key) FROM audit_event WHERE kind = 'USER'",
    )
    assert events == [(USERS, USERS)]  # one audit event per user: none lost, none doubled
    states = sql(pg_url, "SELECT count(*) FROM entity_sync_state WHERE kind = 'USER'")
    assert states == [(USERS,)]


def chunk_owner_pids(pg_url: str) -> set[int]:
    rows = sql(pg_url, "SELECT status, owner FROM run_chunk ORDER BY position")
    assert len(rows) == USERS // 20 and {status for status, _ in rows} == {"DONE"}, rows
    return {int(owner.split(":")[1]) for _, owner in rows}


def test_a_split_resync_is_pushed_by_several_workers_as_one_run(
    pg_url: str, slow_scim: tuple[str, SlowTarget], workers: Workers
) -> None:
    base, target = slow_scim
    with running_api(pg_url, execution="queue") as api:
        rule_id = scim_rule(api, base, USERS)
        run_id = first_run(api, rule_id)["id"]
        pids = {workers.start(**SPLIT).pid, workers.start(**SPLIT).pid}
        seen = asyncio.run(follow(api.base_url, run_id))
        assert seen[-1]["status"] == "SUCCEEDED", (seen, workers.log(0), workers.log(1))
        processed = [s["progress"]["processed"] for s in seen]
        assert processed == sorted(processed) and len(set(processed)) >= 3, processed
        assert seen[-1]["progress"] == {"processed": USERS, "total": USERS}

        assert chunk_owner_pids(pg_url) == pids  # both worker processes pushed chunks
        counts = sql(pg_url, "SELECT counts FROM sync_run WHERE kind = 'FULL'")[0][0]
        assert counts.get("SUCCESS") == USERS, counts  # the counts of all chunks, added up
        check_one_run_of_every_user(api, pg_url, base, target)
        # One helper job per chunk but the run's own; those that start after the run ended
        # find nothing to do and end too.
        helpers = "SELECT status FROM procrastinate_jobs WHERE task_name = 'provisync.help_run'"
        deadline = time.monotonic() + 15
        while {status for (status,) in sql(pg_url, helpers)} != {"succeeded"}:
            assert time.monotonic() < deadline, sql(pg_url, helpers)
            time.sleep(0.1)
        assert len(sql(pg_url, helpers)) == USERS // 20 - 1


def test_the_worker_of_a_split_resync_killed_midway_is_replaced(
    pg_url: str, slow_scim: tuple[str, SlowTarget], workers: Workers
) -> None:
    base, target = slow_scim
    with running_api(pg_url, execution="queue") as api:
        rule_id = scim_rule(api, base, USERS)
        run_id = first_run(api, rule_id)["id"]
        first = workers.start(**SPLIT)
        second = workers.start(**SPLIT)
        deadline = time.monotonic() + 60
        while run_of(api, run_id)["progress"]["processed"] < 40:
            assert time.monotonic() < deadline, "the workers made no progress"
            time.sleep(0.05)
        # Kill the worker that runs the run itself (it planned the chunks), mid-chunk.
        doomed, index = (first, 0) if "split into" in workers.log(0) else (second, 1)
        assert "split into 6 chunks" in workers.log(index)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        at_kill = run_of(api, run_id)
        assert at_kill["status"] == "RUNNING" and at_kill["progress"]["processed"] < USERS

        done = wait_run(api, run_id)
        assert done["status"] == "SUCCEEDED", done
        survivor = workers.log(1 - index)
        assert "resumes after its worker stopped" in survivor
        assert done["progress"] == {"processed": USERS, "total": USERS}
        check_one_run_of_every_user(api, pg_url, base, target)
        assert chunk_owner_pids(pg_url) <= {first.pid, second.pid}
        assert isinstance(doomed, subprocess.Popen)


def test_a_helper_killed_midway_leaves_its_chunk_to_a_worker_that_reads_the_target_afresh(
    pg_url: str, slow_scim: tuple[str, SlowTarget], workers: Workers
) -> None:
    """Batches of 100 make the SCIM connector list the target once and reuse that listing;
    the chunk of a dead helper may hold accounts it created after the survivor's listing."""
    base, target = slow_scim
    users = 400
    settings = {"PROVISYNC_RESYNC_CHUNK_SIZE": "100", "PROVISYNC_BATCH_SIZE": "100"}
    with running_api(pg_url, execution="queue") as api:
        rule_id = scim_rule(api, base, users)
        run_id = first_run(api, rule_id)["id"]
        pool = [workers.start(**settings), workers.start(**settings)]
        deadline = time.monotonic() + 60
        while not any("split into 4 chunks" in workers.log(i) for i in (0, 1)):
            assert time.monotonic() < deadline, "no worker took the run"
            time.sleep(0.02)
        runs = 0 if "split into" in workers.log(0) else 1
        helps = 1 - runs
        while "Starting job provisync.help_run" not in workers.log(helps) or (
            target.answers[("POST", 201)] < 150
        ):
            assert time.monotonic() < deadline, "the helper made no progress"
            time.sleep(0.02)
        pool[helps].send_signal(signal.SIGKILL)  # mid-batch: accounts created, not recorded
        pool[helps].wait()

        done = wait_run(api, run_id)
        assert done["status"] == "SUCCEEDED", (done, workers.log(runs))
        assert "taken over from a stopped worker" in workers.log(runs)
        assert pool[runs].poll() is None
        names = target_user_names(base)
        assert len(names) == users and len(set(names)) == users
        assert target.answers[("POST", 201)] == users
        view = api(
            "query($id: ID!) { rule(id: $id) { summary { users { impacted success failed } } } }",
            {"id": rule_id},
        )["rule"]["summary"]["users"]
        assert view == {"impacted": users, "success": users, "failed": 0}, view
