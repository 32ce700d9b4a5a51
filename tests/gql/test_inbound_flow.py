"""Inbound rules with the test plugin: reading into the directory, polls, and write-back."""

from __future__ import annotations

import time
import uuid

from tests.plugins.memory_connector import SOURCES
from tests.support.api import Api, running_api
from tests.support.scenario import (
    assert_invariants,
    create_connection,
    create_rule,
    rule_view,
    states,
)


def worker(key: str, user_name: str, **attrs: object) -> dict[str, object]:
    return {"key": key, "attributes": {"userName": user_name, "active": True, **attrs}}


def directory(api: Api) -> dict[str, dict[str, object]]:
    data = api(
        "{ directoryUsers(first: 100) { edges { node { userName email phone active title } } } }"
    )
    return {e["node"]["userName"]: e["node"] for e in data["directoryUsers"]["edges"]}


def test_inbound_read_creates_updates_and_deprovisions(api: Api) -> None:
    store = uuid.uuid4().hex
    SOURCES[store] = [
        worker("w1", "ada", title="Engineer"),
        worker("w2", "bob"),
        worker("w3", "", title="x"),
        worker("w4", "cy", active=False),
    ]
    conn = create_connection(api, store=store)
    rule = create_rule(api, conn, direction="INBOUND", enabled=True)
    api.wait_idle(rule["id"])
    view = assert_invariants(api, rule["id"])
    assert view["source"]["kind"] == "CONNECTION" and view["target"]["kind"] == "DIRECTORY"
    assert view["summary"]["users"] == {
        "impacted": 4,
        "success": 3,
        "unsynced": 0,
        "partialSynced": 0,
        "failed": 1,
        "writeBackFailures": 0,
    }
    failed = states(api, rule["id"], state="FAILED")
    assert failed[0]["reason"] == "the source record has no userName"
    users = directory(api)
    assert users["ada"]["title"] == "Engineer" and users["cy"]["active"] is False

    SOURCES[store] = [worker("w1", "ada", title="Manager"), worker("w4", "cy", active=True)]
    run = api(
        "mutation($id: ID!) { fullResync(ruleId: $id) { ... on SyncRun { id } } }",
        {"id": rule["id"]},
    )
    assert api.wait_run(run["fullResync"]["id"])["status"] == "SUCCEEDED"
    users = directory(api)
    assert users["ada"]["title"] == "Manager" and users["cy"]["active"] is True
    assert users["bob"]["active"] is False  # left the source: disabled, per the rule's default
    assert assert_invariants(api, rule["id"])["summary"]["users"]["impacted"] == 2


def test_a_page_sees_what_the_page_before_it_wrote(api: Api) -> None:
    """A page is planned while the one before it is written: one that meets that page's users
    (here a user name the page before frees) waits for it, as if pages ran one by one."""
    store = uuid.uuid4().hex
    SOURCES[store] = [  # pages of two records
        worker("w1", "ada", title="one"),
        worker("w2", "bob", title="two"),
        worker("w3", "cy", title="three"),
        worker("w4", "dan", title="four"),
    ]
    conn = create_connection(api, store=store)
    rule = create_rule(api, conn, direction="INBOUND", enabled=True)
    api.wait_idle(rule["id"])
    SOURCES[store] = [
        worker("w1", "ann", title="one"),
        worker("w2", "bob", title="two"),
        worker("w3", "ada", title="three"),  # the name w1 gave up on the page before
        worker("w4", "dan", title="four"),
    ]
    run = api(
        "mutation($id: ID!) { fullResync(ruleId: $id) { ... on SyncRun { id } } }",
        {"id": rule["id"]},
    )
    assert api.wait_run(run["fullResync"]["id"])["status"] == "SUCCEEDED"
    users = directory(api)
    assert {name: users[name]["title"] for name in ("ann", "bob", "ada", "dan")} == {
        "ann": "one",
        "bob": "two",
        "ada": "three",
        "dan": "four",
    }
    assert "cy" not in users
    view = assert_invariants(api, rule["id"])
    assert view["summary"]["users"]["success"] == 4


def test_write_back_on_directory_change_records_each_outcome(api: Api) -> None:
    store = uuid.uuid4().hex
    SOURCES[store] = [
        worker("w1", "wendy", email="wendy@old.example"),
        worker("w2", "walt", phone="555"),
    ]
    conn = create_connection(
        api, store=store, write_back_attributes=["email", "phone"], reject_write_back=["w2"]
    )
    rule = create_rule(api, conn, direction="INBOUND", enabled=True)
    api.wait_idle(rule["id"])
    ids = {
        e["node"]["userName"]: e["node"]["id"]
        for e in api("{ directoryUsers { edges { node { id userName } } } }")["directoryUsers"][
            "edges"
        ]
    }
    api(
        """mutation($id: ID!) { updateDirectoryUser(id: $id, input: {email: "wendy@new.example"}) { __typename } }""",
        {"id": ids["wendy"]},
    )
    api(
        """mutation($id: ID!) { updateDirectoryUser(id: $id, input: {phone: "12"}) { __typename } }""",
        {"id": ids["walt"]},
    )
    deadline = time.monotonic() + 5
    while rule_view(api, rule["id"])["summary"]["users"]["writeBackFailures"] != 1:
        assert time.monotonic() < deadline, "write-back was not recorded in time"
        time.sleep(0.05)
    api.wait_idle(rule["id"])
    assert SOURCES[store][0]["attributes"]["email"] == "wendy@new.example"
    by_key = {s["entityKey"]: s for s in states(api, rule["id"])}
    assert by_key["w1"]["writeBack"] == {"ok": True, "reason": None}
    assert (
        by_key["w2"]["writeBack"]["ok"] is False
        and "country code" in by_key["w2"]["writeBack"]["reason"]
    )
    log = api(
        """query($id: ID!) { rule(id: $id) { auditLog(first: 20) { edges { node { operation outcome entityKey message } } } } }""",
        {"id": rule["id"]},
    )["rule"]["auditLog"]["edges"]
    write_backs = {
        (e["node"]["entityKey"], e["node"]["outcome"])
        for e in log
        if e["node"]["operation"] == "WRITE_BACK"
    }
    assert write_backs == {("w1", "SUCCESS"), ("w2", "FAILED")}
    # An inbound read keeps the directory's value of a written-back attribute.
    run = api(
        "mutation($id: ID!) { fullResync(ruleId: $id) { ... on SyncRun { id } } }",
        {"id": rule["id"]},
    )
    api.wait_run(run["fullResync"]["id"])
    assert directory(api)["wendy"]["email"] == "wendy@new.example"
    assert_invariants(api, rule["id"])


def test_inbound_rules_poll_on_their_interval(database_url: str) -> None:
    store = uuid.uuid4().hex
    SOURCES[store] = [worker("p1", "polly")]
    with running_api(database_url, scheduler_tick=0.1) as api:
        conn = create_connection(api, store=store)
        rule = create_rule(api, conn, direction="INBOUND", enabled=True, pollIntervalSeconds=10)
        api.wait_idle(rule["id"])

        def kinds() -> list[str]:
            query = "query($id: ID!) { rule(id: $id) { runs { edges { node { kind } } } } }"
            edges = api(query, {"id": rule["id"]})["rule"]["runs"]["edges"]
            return [e["node"]["kind"] for e in edges]

        first = kinds()
        assert first == ["FULL"]
        time.sleep(0.5)
        assert kinds() == first  # not due yet: the interval is 10 s
    assert "polly" in str(SOURCES[store])


async def test_a_due_rule_is_polled_incrementally_from_its_watermark(database_url: str) -> None:
    from datetime import timedelta

    import httpx

    from gql.app import create_app
    from gql.settings import Settings
    from gql.store.models import utcnow

    store = uuid.uuid4().hex
    SOURCES[store] = [worker("q1", "quinn")]
    settings = Settings(
        database_url=database_url,
        extra_plugins=["tests.plugins.memory_connector"],
        scheduler_tick=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services = app.state.services
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http:

            async def gql(query: str, variables: dict[str, object]) -> dict[str, object]:
                body = (
                    await http.post("/graphql", json={"query": query, "variables": variables})
                ).json()
                assert not body.get("errors"), body
                return body["data"]  # type: ignore[no-any-return]

            conn = await gql(
                """mutation($i: CreateProvisioningConnectionInput!) { createProvisioningConnection(input: $i) {
                ... on ProvisioningConnection { id } } }""",
                {"i": {"name": "src", "connectorType": "memory", "settings": {"store": store}}},
            )
            rule = await gql(
                """mutation($i: CreateRuleInput!) { createRule(input: $i) { ... on Rule { id } } }""",
                {
                    "i": {
                        "name": "in",
                        "direction": "INBOUND",
                        "enabled": True,
                        "pollIntervalSeconds": 60,
                        "connectionId": conn["createProvisioningConnection"]["id"],
                    }
                },
            )  # type: ignore[index]
            await services.engine.wait_idle()
            assert await services.engine.poll_due() == []  # the full resync just ran
            later = await services.engine.poll_due(now=utcnow() + timedelta(seconds=61))
            assert [r.kind for r in later] == ["POLL"]
            await services.engine.wait_idle()
            runs = await gql(
                "query($id: ID!) { rule(id: $id) { runs { edges { node { kind status } } } } }",
                {"id": rule["createRule"]["id"]},
            )  # type: ignore[index]
            assert [e["node"] for e in runs["rule"]["runs"]["edges"]] == [  # type: ignore[index]
                {"kind": "POLL", "status": "SUCCEEDED"},
                {"kind": "FULL", "status": "SUCCEEDED"},
            ]
