"""Webhook notifications over real HTTP: each event type arrives signed; failing and hanging
receivers get retries and never hold up a sync."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from standardwebhooks.webhooks import Webhook

from tests.notify.receiver import SECRET, signature_valid, webhook_receiver
from tests.plugins.memory_connector import SOURCES
from tests.support.api import Api, running_api
from tests.support.scenario import create_connection, create_rule, create_user, full_resync

ALL_EVENTS = [
    "RUN_FAILED",
    "RULE_QUARANTINED",
    "RULE_RELEASED",
    "OPERATIONS_HELD",
    "WRITE_BACK_FAILURES",
    "RULE_HEALTHY",
]
SUBSCRIBE = """mutation($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) {
    __typename ... on WebhookSubscription { id url events secretSet }
    ... on Error { message code } ... on ValidationError { fields { field message } } } }"""
DELIVERIES = """query($id: ID!) { node(id: $id) { ... on WebhookSubscription {
  deliveries(first: 50) { totalCount edges { node {
    id eventType eventId status attempts lastError lastStatusCode nextAttemptAt deliveredAt } } } } } }"""


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} within {timeout:g}s"
        time.sleep(0.05)


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with running_api(
        database_url,
        secret_key=Fernet.generate_key().decode(),
        quarantine_after_failures=1,
        webhook_tick_seconds=0.05,
        webhook_retry_base_seconds=0.1,
        webhook_max_attempts=3,
        webhook_timeout=60,
    ) as client:
        yield client


def subscribe(api: Api, url: str, events: list[str] = ALL_EVENTS) -> dict[str, Any]:
    result = api(SUBSCRIBE, {"input": {"url": url, "events": events, "secret": SECRET}})
    created = result["createWebhookSubscription"]
    assert created["__typename"] == "WebhookSubscription", created
    return created  # type: ignore[no-any-return]


def deliveries(api: Api, subscription_id: str) -> list[dict[str, Any]]:
    node = api(DELIVERIES, {"id": subscription_id})["node"]
    return [e["node"] for e in node["deliveries"]["edges"]]


def test_each_event_type_arrives_as_a_signed_cloud_event(api: Api) -> None:
    with webhook_receiver() as receiver:
        subscription = subscribe(api, receiver.url)
        assert subscription["secretSet"] is True and "secret" not in subscription
        # A rule whose target is down: its run fails as a whole, and (after one failure
        # here) the rule is quarantined.
        store = uuid.uuid4().hex
        create_user(api, "hook.one")
        down = create_connection(api, store=store, mode="unreachable")
        broken = create_rule(api, down, name="Hooked", enabled=True)["id"]
        api.wait_idle(broken)
        wait_for("the quarantine notice", lambda: receiver.of_type("provisync.rule.quarantined"))
        # The target comes back; an operator's resync ends the quarantine and the run
        # succeeds: released, then healthy.
        fixed = api(
            """mutation($input: UpdateProvisioningConnectionInput!) {
                 updateProvisioningConnection(input: $input) { __typename } }""",
            {"input": {"id": down, "settings": {"store": store, "mode": "ok"}}},
        )
        assert fixed["updateProvisioningConnection"]["__typename"] == "ProvisioningConnection"
        run = full_resync(api, broken)
        assert api.wait_run(run["id"])["status"] == "SUCCEEDED"
        # Deletion protection holds a disable (a limit of 0 holds any).
        create_user(api, "hook.two")
        guarded = create_rule(
            api,
            create_connection(api),
            name="Guarded",
            enabled=True,
            deletionProtection={"maxCount": 0},
        )["id"]
        api.wait_idle(guarded)
        api(
            """mutation($id: ID!) { updateRule(input: {id: $id, userFilter: "userName eq \\"hook.one\\""}) { __typename } }""",
            {"id": guarded},
        )
        api.wait_run(full_resync(api, guarded)["id"])
        # An inbound rule whose source rejects a write-back.
        source = uuid.uuid4().hex
        SOURCES[source] = [
            {"key": "w9", "attributes": {"userName": "walt.hook", "phone": "555"}},
        ]
        inbound = create_rule(
            api,
            create_connection(
                api, store=source, write_back_attributes=["phone"], reject_write_back=["w9"]
            ),
            name="Inbound hooked",
            direction="INBOUND",
            enabled=True,
        )["id"]
        api.wait_idle(inbound)
        users = api("{ directoryUsers(first: 50) { edges { node { id userName } } } }")
        walt = next(
            e["node"]["id"]
            for e in users["directoryUsers"]["edges"]
            if e["node"]["userName"] == "walt.hook"
        )
        api(
            """mutation($id: ID!) { updateDirectoryUser(id: $id, input: {phone: "12"}) { __typename } }""",
            {"id": walt},
        )

        types = {
            "provisync.run.failed": broken,
            "provisync.rule.quarantined": broken,
            "provisync.rule.released": broken,
            "provisync.rule.healthy": broken,
            "provisync.operations.held": guarded,
            "provisync.writeback.failures": inbound,
        }
        wait_for(
            "every event type",
            lambda: all(receiver.of_type(t) for t in types),
        )
        verifier = Webhook(SECRET)
        for type_, rule_id in types.items():
            received = receiver.of_type(type_)[0]
            assert signature_valid(SECRET, received), type_
            verifier.verify(received.body, received.headers)  # the reference library agrees
            assert received.headers["content-type"] == "application/cloudevents+json"
            event = received.event
            assert event["specversion"] == "1.0" and event["type"] == type_
            assert event["data"]["ruleId"] == rule_id and event["subject"] == rule_id
            assert (
                event["source"] == f"/provisync/rules/{rule_id}" and event["id"] and event["time"]
            )
        held = receiver.of_type("provisync.operations.held")[0].event["data"]
        assert held["held"] == 1 and held["kind"] == "USER" and held["limit"] == 0
        write_backs = receiver.of_type("provisync.writeback.failures")[0].event["data"]
        assert write_backs["failed"] == 1 and write_backs["threshold"] == 1
        failed = receiver.of_type("provisync.run.failed")[0].event["data"]
        assert failed["runId"] and failed["error"]
        # A body tampered with does not verify.
        tampered = receiver.received[0]
        tampered.body = tampered.body.replace(b"provisync", b"provisynk", 1)
        assert not signature_valid(SECRET, tampered)

        recorded = deliveries(api, subscription["id"])
        assert {d["status"] for d in recorded} == {"DELIVERED"}
        assert all(d["attempts"] == 1 and d["lastStatusCode"] == 200 for d in recorded)
        assert {d["eventType"] for d in recorded} == set(ALL_EVENTS)


def test_a_failing_receiver_gets_retries_and_a_hanging_one_delays_no_sync(api: Api) -> None:
    with webhook_receiver(status=500) as failing, webhook_receiver(hang=True) as hanging:
        refusing = subscribe(api, failing.url, ["RUN_FAILED"])
        subscribe(api, hanging.url, ["RUN_FAILED", "RULE_HEALTHY"])
        create_user(api, "slow.one")
        store = uuid.uuid4().hex
        down = create_connection(api, store=store, mode="unreachable")
        broken = create_rule(api, down, name="Down", enabled=True)["id"]
        api.wait_idle(broken)
        wait_for("the hanging receiver to be holding a request", lambda: hanging.in_flight)
        # While that receiver hangs (and the other keeps failing), the rule's target comes
        # back and a resync runs as usual, its own notice (healthy again) enqueued on the way.
        api(
            """mutation($input: UpdateProvisioningConnectionInput!) {
                 updateProvisioningConnection(input: $input) { __typename } }""",
            {"input": {"id": down, "settings": {"store": store, "mode": "ok"}}},
        )
        run = full_resync(api, broken)
        assert api.wait_run(run["id"])["status"] == "SUCCEEDED"
        assert hanging.in_flight >= 1 and not hanging.release.is_set()
        # The healthy notice goes out beside the hanging one(s), not behind them: every
        # request the receiver got is held until the test releases it.
        wait_for("the healthy notice", lambda: hanging.of_type("provisync.rule.healthy"))
        assert hanging.in_flight >= 2  # the notice that failed first, and this one

        def all_given_up() -> list[dict[str, Any]]:
            found = deliveries(api, refusing["id"])
            return found if found and all(d["status"] == "FAILED" for d in found) else []

        given_up = wait_for("three attempts at each delivery to the failing receiver", all_given_up)
        for delivery in given_up:
            assert delivery["attempts"] == 3 and delivery["lastStatusCode"] == 500
            assert delivery["lastError"].startswith("HTTP 500: receiver says no")
            assert delivery["nextAttemptAt"] is None and delivery["deliveredAt"] is None
        sent = failing.of_type("provisync.run.failed")
        assert len(sent) == 3 * len(given_up)
        # Retries are the same message (one webhook-id each), each signed anew.
        by_id: dict[str, int] = {}
        for received in sent:
            by_id[received.headers["webhook-id"]] = by_id.get(received.headers["webhook-id"], 0) + 1
        assert sorted(by_id.values()) == [3] * len(given_up)
        assert all(signature_valid(SECRET, r) for r in sent)
        hanging.release.set()


def test_subscriptions_are_for_admins_and_urls_obey_the_egress_rules(api: Api) -> None:
    refused = {
        "ftp://example.org/hook": "http",
        "http:///nohost": "host",
        "https://user:pw@example.org/hook": "credentials",
        "http://169.254.169.254/latest/meta-data": "metadata",
        "http://[fd00:ec2::254]/": "metadata",
    }
    for url, why in refused.items():
        result = api(SUBSCRIBE, {"input": {"url": url, "events": ["RUN_FAILED"], "secret": SECRET}})
        created = result["createWebhookSubscription"]
        assert created["__typename"] == "ValidationError", (url, created)
        assert created["fields"][0]["field"] == "url" and why in created["message"], created
        assert "pw" not in created["message"]
    weak = api(
        SUBSCRIBE,
        {"input": {"url": "http://127.0.0.1:9/h", "events": ["RUN_FAILED"], "secret": "hunter2"}},
    )
    assert weak["createWebhookSubscription"]["fields"][0]["field"] == "secret"
    assert "hunter2" not in str(weak)

    subscription = subscribe(api, "http://127.0.0.1:9/hook", ["RUN_FAILED"])
    updated = api(
        """mutation($input: UpdateWebhookSubscriptionInput!) { updateWebhookSubscription(input: $input) {
             __typename ... on WebhookSubscription { events enabled url } } }""",
        {"input": {"id": subscription["id"], "events": ["RULE_HEALTHY"], "enabled": False}},
    )["updateWebhookSubscription"]
    assert updated == {
        "__typename": "WebhookSubscription",
        "events": ["RULE_HEALTHY"],
        "enabled": False,
        "url": "http://127.0.0.1:9/hook",
    }
    listed = api("{ webhookSubscriptions { totalCount edges { node { id secretSet } } } }")
    assert listed["webhookSubscriptions"]["totalCount"] == 1
    deleted = api(
        "mutation($id: ID!) { deleteWebhookSubscription(id: $id) { __typename } }",
        {"id": subscription["id"]},
    )["deleteWebhookSubscription"]
    assert deleted["__typename"] == "DeletePayload"
    assert api("{ webhookSubscriptions { totalCount } }")["webhookSubscriptions"]["totalCount"] == 0


def test_only_admins_manage_webhooks_and_the_secret_is_encrypted_at_rest(database_url: str) -> None:
    from tests.security.support import secure_server

    with secure_server(database_url) as server:
        variables = {
            "input": {"url": "http://127.0.0.1:9/hook", "events": ["RUN_FAILED"], "secret": SECRET}
        }
        for role in ("viewer", "operator"):
            client = server.client(role)
            refused = client(SUBSCRIBE, variables)["createWebhookSubscription"]
            assert refused == {
                "__typename": "ForbiddenError",
                "message": "this needs the admin role",
                "code": "FORBIDDEN",
            }
            listing = client.raw("{ webhookSubscriptions { totalCount } }")
            assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        created = server.client("admin")(SUBSCRIBE, variables)["createWebhookSubscription"]
        assert created["__typename"] == "WebhookSubscription"
        # Viewers cannot reach a subscription through node(id:) either.
        node = server.client("viewer")(
            "query($id: ID!) { node(id: $id) { id } }", {"id": created["id"]}
        )
        assert node["node"] is None
        assert (
            server.client(None)
            .http.post("/graphql", json={"query": "{ webhookSubscriptions { totalCount } }"})
            .status_code
            == 401
        )
        (stored,) = server.query_db("SELECT secret FROM webhook_subscription")
        assert stored[0].startswith("enc:v1:") and SECRET not in stored[0]
        assert not any(SECRET in text for text in server.seen)
