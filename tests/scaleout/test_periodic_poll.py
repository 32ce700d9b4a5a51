"""Inbound polls in the scale-out mode: the workers' periodic job starts them, as jobs."""

from __future__ import annotations

import time

import psycopg
from cryptography.fernet import Fernet

from provisync_workday.simulator import SimulatedTenant, build_simulator_app
from tests.scaleout.conftest import Workers
from tests.scaleout.test_queue import sql
from tests.support.api import running_api
from tests.support.scenario import create_connection, create_rule
from tests.support.servers import serve_asgi

USER, PASSWORD = "isu_provisync", "Workday-secret-1"
KEY = Fernet.generate_key().decode()  # the API and the worker decrypt the same secrets


def test_a_due_inbound_poll_is_started_by_the_periodic_job_and_run_by_a_worker(
    pg_url: str, workers: Workers
) -> None:
    tenant = SimulatedTenant("acme", {USER: PASSWORD})
    tenant.generate(25)
    with (
        serve_asgi(build_simulator_app(tenant)) as workday,
        running_api(pg_url, execution="queue", secret_key=KEY) as api,
    ):
        connection = create_connection(
            api,
            "workday",
            base_url=workday,
            tenant="acme",
            username=USER,
            page_size=10,
            secrets={"password": PASSWORD},
        )
        rule = create_rule(
            api, connection, name="from Workday", direction="INBOUND", pollIntervalSeconds=900
        )
        assert rule["__typename"] == "Rule" and rule["enabled"] is False, rule
        # Enabled behind the API's back, with its poll overdue: only a poll can import now.
        with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
            conn.execute(
                "UPDATE rule SET enabled = true, next_poll_at = now() - interval '1 minute'"
            )
        assert sql(pg_url, "SELECT count(*) FROM sync_run") == [(0,)]

        workers.start(
            PROVISYNC_SECRET_KEY=KEY
        )  # its periodic job runs at once for the current minute
        deadline = time.monotonic() + 60
        while not sql(pg_url, "SELECT 1 FROM sync_run WHERE status IN ('SUCCEEDED', 'FAILED')"):
            assert time.monotonic() < deadline, workers.log(0)
            time.sleep(0.2)
        runs = sql(pg_url, "SELECT kind, status, started_by, error FROM sync_run")
        assert runs == [("POLL", "SUCCEEDED", "system", None)], runs
        assert sql(pg_url, "SELECT count(*) FROM directory_user") == [(25,)]
        jobs = sql(
            pg_url,
            "SELECT task_name, status FROM procrastinate_jobs ORDER BY id",
        )
        assert ("provisync.poll_due", "succeeded") in jobs, jobs
        assert ("provisync.execute_run", "succeeded") in jobs, jobs
        # The next poll is due one interval after this one ended, not before.
        wait = sql(
            pg_url,
            "SELECT extract(epoch FROM next_poll_at - (SELECT finished_at FROM sync_run)) FROM rule",
        )
        assert abs(float(wait[0][0]) - 900) < 1, wait
