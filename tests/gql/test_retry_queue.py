"""Issue 13, item 9: a change that could not be pushed is FAILED, queued, retried, never lost.

A real scim2-server over HTTP, behind a forwarder that the test takes down: the target is
really gone (connections refused), then really back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from provisync.demo.scim_target import build_scim_target_app
from tests.gql.forwarding import Forwarder, forwarding
from tests.support.api import Api, running_api
from tests.support.scenario import (
    assert_invariants,
    create_connection,
    create_rule,
    create_user,
    full_resync,
)
from tests.support.servers import serve_asgi

RETRIES = """query($id: ID!) { rule(id: $id) {
  status lastRunError summary { users { impacted success failed } }
  retryQueue(first: 20) { totalCount edges { node {
    id kind entityKey displayName operation attempts lastError nextAttemptAt } } }
  entityStates(kind: USER, first: 20) { edges { node {
    entityKey displayName state reason retry { attempts nextAttemptAt lastError } } } }
  auditLog(first: 100) { edges { node { operation outcome message } } } } }"""


@pytest.fixture
def scim() -> Iterator[str]:
    with serve_asgi(build_scim_target_app()) as url:
        yield url


@pytest.fixture
def target(scim: str) -> Iterator[Forwarder]:
    with forwarding(scim) as forwarder:
        yield forwarder


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return value


def view(api: Api, rule_id: str) -> dict[str, Any]:
    return api(RETRIES, {"id": rule_id})["rule"]  # type: ignore[no-any-return]


def user_state(rule: dict[str, Any], name: str) -> dict[str, Any]:
    return next(
        e["node"] for e in rule["entityStates"]["edges"] if e["node"]["displayName"] == name
    )


def target_title(scim: str, user_name: str) -> object:
    body = httpx.get(f"{scim}/v2/Users", params={"filter": f'userName eq "{user_name}"'}).json()
    return body["Resources"][0].get("title") if body.get("Resources") else None


def scim_rule(api: Api, target: Forwarder) -> str:
    conn = create_connection(api, "scim", base_url=f"{target.url}/v2", max_retries=0)
    rule = create_rule(api, conn, name="to SCIM", enabled=True)
    assert rule["__typename"] == "Rule", rule
    api.wait_idle(rule["id"])
    return str(rule["id"])


def test_a_push_that_fails_is_failed_queued_and_retried_until_it_succeeds(
    database_url: str, scim: str, target: Forwarder
) -> None:
    with running_api(database_url, retry_base_seconds=0.4, retry_max_seconds=0.8) as api:
        uid = create_user(api, "ada", displayName="Ada", title="Engineer")
        rule_id = scim_rule(api, target)
        assert user_state(view(api, rule_id), "Ada")["state"] == "SUCCESS"

        target.down()
        api(
            'mutation($id: ID!) { updateDirectoryUser(id: $id, input: {title: "Lead"}) { __typename } }',
            {"id": uid},
        )
        # Not SUCCESS any more: FAILED, with what happened, and waiting in the queue. The queue
        # entry is written with the outcomes, the rule's status when the run ends (later).
        rule = wait_for(
            lambda: (
                (r := view(api, rule_id))["retryQueue"]["totalCount"] == 1
                and r["status"] == "FAILED"
                and r
            ),
            "the failed push was not queued, or its run did not end FAILED",
        )
        ada = user_state(rule, "Ada")
        assert ada["state"] == "FAILED" and ada["reason"].startswith("not confirmed: ")
        assert ada["retry"]["attempts"] >= 1 and ada["retry"]["nextAttemptAt"]
        queued = rule["retryQueue"]["edges"][0]["node"]
        assert (queued["kind"], queued["entityKey"], queued["operation"]) == (
            "USER",
            uid_key(uid),
            "PUSH",
        )
        assert rule["summary"]["users"]["failed"] == 1 and rule["summary"]["users"]["success"] == 0
        assert rule["status"] == "FAILED" and rule["lastRunError"]

        # Retries keep failing while the target is down, each further one waits longer (capped).
        rule = wait_for(
            lambda: (
                (r := view(api, rule_id))["retryQueue"]["edges"][0]["node"]["attempts"] >= 3 and r
            ),
            "the entity was not retried",
        )
        scheduled = [
            e["node"]["message"]
            for e in rule["auditLog"]["edges"]
            if e["node"]["operation"] == "RETRY_SCHEDULED"
        ]
        assert any("attempt 1 failed" in m and "next attempt in 0.4s" in m for m in scheduled)
        assert any("attempt 2 failed" in m and "next attempt in 0.8s" in m for m in scheduled)
        assert any("attempt 3 failed" in m and "next attempt in 0.8s" in m for m in scheduled)
        assert target_title(scim, "ada") == "Engineer"  # the target really never got it

        target.up()
        rule = wait_for(
            lambda: (r := view(api, rule_id))["retryQueue"]["totalCount"] == 0 and r,
            "the retry did not settle the entity",
        )
        assert user_state(rule, "Ada")["state"] == "SUCCESS"
        assert user_state(rule, "Ada")["retry"] is None
        assert target_title(scim, "ada") == "Lead"
        settled = [e["node"] for e in rule["auditLog"]["edges"]]
        assert any(n["operation"] == "RETRY_SETTLED" and n["outcome"] == "SUCCESS" for n in settled)
        view_after = assert_invariants(api, rule_id)
        assert view_after["status"] == "ACTIVE"


def uid_key(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":", 1)[1]


def test_the_queue_survives_a_restart_and_a_full_resync_settles_it(
    database_url: str, scim: str, target: Forwarder, tmp_path: Path
) -> None:
    # Backoff far longer than the test: only the full resync can settle the entity.
    with running_api(database_url, retry_base_seconds=3600, retry_max_seconds=3600) as api:
        uid = create_user(api, "grace", displayName="Grace", title="Engineer")
        rule_id = scim_rule(api, target)
        target.down()
        api(
            'mutation($id: ID!) { updateDirectoryUser(id: $id, input: {title: "Admiral"}) { __typename } }',
            {"id": uid},
        )
        wait_for(
            lambda: view(api, rule_id)["retryQueue"]["totalCount"] == 1,
            "the failed push was not queued",
        )
    with running_api(database_url, retry_base_seconds=3600, retry_max_seconds=3600) as api:
        rule = view(api, rule_id)  # a new process: the queue was stored
        assert rule["retryQueue"]["totalCount"] == 1
        assert user_state(rule, "Grace")["state"] == "FAILED"
        target.up()
        run = full_resync(api, rule_id)
        assert api.wait_run(run["id"])["status"] == "SUCCEEDED"
        rule = view(api, rule_id)
        assert rule["retryQueue"]["totalCount"] == 0
        assert user_state(rule, "Grace")["state"] == "SUCCESS"
        assert target_title(scim, "grace") == "Admiral"
        assert any(e["node"]["operation"] == "RETRY_SETTLED" for e in rule["auditLog"]["edges"])
        assert_invariants(api, rule_id)
