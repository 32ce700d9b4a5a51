"""Operator controls end to end through the API, against scim2-server and the Workday simulator:
preview (dry run), provision on demand, deletion protection, quarantine."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from provisync.demo.scim_target import build_scim_target_app
from provisync.store.models import utcnow
from provisync_workday.simulator import SimulatedTenant, build_simulator_app
from tests.gql.test_workday_rule import PASSWORD, USER, make_rule, users_by_name
from tests.support.inprocess import InProcess, in_process
from tests.support.servers import free_port, serve_asgi

WRITES = ("POST", "PUT", "PATCH", "DELETE")
RULE = """query($id: ID!) { rule(id: $id) { status lastSync lastRunError
  quarantine { since nextAttemptAt reason failedRuns }
  summary { users { impacted success unsynced partialSynced failed } }
  heldOperations(first: 50) { totalCount edges { node { entityKey displayName action status } } }
  runs(first: 20) { edges { node { id kind status startedBy } } } } }"""
STATES = """query($id: ID!) { rule(id: $id) { entityStates(first: 100) { edges { node {
  kind entityKey state lastAction reason targetId } } } } }"""
AUDIT = """query($id: ID!) { rule(id: $id) { auditLog(first: 100) { totalCount edges { node {
  operation outcome entityName actor message } } } } }"""
RUN = """query($id: ID!) { node(id: $id) { ... on SyncRun { id kind status error
  previewCounts { action count }
  heldOperations(first: 50) { totalCount }
  previewItems(first: 100) { totalCount edges { node { kind displayName action state reason
    differences { attribute sourceValue targetValue } } } } } } }"""


class CountingTarget:
    """scim2-server behind a counter of the requests it receives, by method."""

    def __init__(self) -> None:
        self.app = build_scim_target_app()
        self.methods: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.methods[scope["method"]] += 1
        await self.app(scope, receive, send)

    @property
    def writes(self) -> int:
        return sum(self.methods[m] for m in WRITES)


@pytest.fixture
def scim() -> Iterator[tuple[str, CountingTarget]]:
    target = CountingTarget()
    with serve_asgi(target) as url:
        yield f"{url}/v2", target


def accounts(base: str) -> dict[str, dict[str, Any]]:
    body = httpx.get(f"{base}/Users", params={"count": 1000}).json()
    return {u["userName"]: u for u in body.get("Resources", [])}


def target_groups(base: str) -> list[dict[str, Any]]:
    return httpx.get(f"{base}/Groups").json().get("Resources", [])  # type: ignore[no-any-return]


async def scim_rule(
    api: InProcess, base: str, *, enabled: bool = True, **fields: Any
) -> tuple[str, str]:
    created = await api(
        """mutation($i: CreateProvisioningConnectionInput!) { createProvisioningConnection(input: $i) {
             __typename ... on ProvisioningConnection { id } } }""",
        {
            "i": {
                "name": f"SCIM {base}",
                "connectorType": "scim",
                "settings": {"base_url": base, "max_retries": 0, "request_timeout": 2},
            }
        },
    )
    connection = created["createProvisioningConnection"]["id"]
    rule = await api(
        """mutation($i: CreateRuleInput!) { createRule(input: $i) {
             __typename ... on Rule { id } ... on Error { message } } }""",
        {
            "i": {
                "name": "to SCIM",
                "connectionId": connection,
                "direction": "OUTBOUND",
                "enabled": enabled,
                **fields,
            }
        },
    )
    assert rule["createRule"]["__typename"] == "Rule", rule
    await api.idle()
    return str(rule["createRule"]["id"]), connection


async def user(api: InProcess, name: str, **fields: Any) -> str:
    made = await api(
        """mutation($i: DirectoryUserInput!) { createDirectoryUser(input: $i) {
             __typename ... on DirectoryUser { id } } }""",
        {"i": {"userName": name, "email": f"{name}@example.com", **fields}},
    )
    return str(made["createDirectoryUser"]["id"])


async def update_user(api: InProcess, user_id: str, **fields: Any) -> None:
    await api(
        """mutation($id: ID!, $i: DirectoryUserInput!) { updateDirectoryUser(id: $id, input: $i) {
             __typename } }""",
        {"id": user_id, "i": fields},
    )


async def set_enabled(api: InProcess, rule_id: str, enabled: bool) -> None:
    await api(
        "mutation($id: ID!, $e: Boolean!) { setRuleEnabled(ruleId: $id, enabled: $e) { __typename } }",
        {"id": rule_id, "e": enabled},
    )
    await api.idle()


async def preview(api: InProcess, rule_id: str) -> dict[str, Any]:
    started = (
        await api(
            """mutation($id: ID!) { previewFullResync(ruleId: $id) { __typename
                 ... on SyncRun { id kind } ... on Error { code message } } }""",
            {"id": rule_id},
        )
    )["previewFullResync"]
    assert started["__typename"] == "SyncRun" and started["kind"] == "PREVIEW", started
    await api.idle()
    run = (await api(RUN, {"id": started["id"]}))["node"]
    assert run["status"] == "SUCCEEDED", run
    return run  # type: ignore[no-any-return]


def items_by_name(run: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (e["node"]["displayName"], e["node"]["action"]): e["node"]
        for e in run["previewItems"]["edges"]
    }


async def test_a_preview_reports_every_action_and_writes_nothing(
    database_url: str, scim: tuple[str, CountingTarget]
) -> None:
    base, target = scim
    async with in_process(database_url) as api:
        ids = {n: await user(api, n, title="Engineer") for n in ("ada", "bob", "cy", "dee")}
        rule_id, _ = await scim_rule(api, base)
        assert set(accounts(base)) == set(ids)
        # Changes made while the rule is disabled are not pushed: a preview shows them.
        await set_enabled(api, rule_id, False)
        await update_user(api, ids["bob"], title="Manager")
        await user(api, "eve", title="Engineer")
        await api(
            'mutation($id: ID!) { updateRule(input: {id: $id, userFilter: "userName ne \\"dee\\""}) { __typename } }',
            {"id": rule_id},
        )
        before_states = await api(STATES, {"id": rule_id})
        before_rule = (await api(RULE, {"id": rule_id}))["rule"]
        before_accounts = accounts(base)
        writes = target.writes

        run = await preview(api, rule_id)

        counts = {c["action"]: c["count"] for c in run["previewCounts"]}
        assert counts == {"CREATE": 1, "UPDATE": 1, "DISABLE": 1, "NONE": 2}, counts
        items = items_by_name(run)
        assert items[("eve", "CREATE")]["state"] == "SUCCESS"
        assert items[("bob", "UPDATE")]["differences"] == [
            {"attribute": "title", "sourceValue": "Manager", "targetValue": "Engineer"}
        ]
        assert ("dee", "DISABLE") in items and ("ada", "NONE") in items
        # Nothing written: not at the target, not to the states, not to the rule.
        assert target.writes == writes
        assert accounts(base) == before_accounts
        assert await api(STATES, {"id": rule_id}) == before_states
        after_rule = (await api(RULE, {"id": rule_id}))["rule"]
        assert after_rule["lastSync"] == before_rule["lastSync"]
        assert after_rule["status"] == before_rule["status"] == "INACTIVE"
        audit = (await api(AUDIT, {"id": rule_id}))["rule"]["auditLog"]["edges"]
        assert [e["node"]["operation"] for e in audit if e["node"]["entityName"]].count(
            "CREATE"
        ) == 4  # only the first sync's creates: the preview audited no entity


async def test_a_workday_preview_shows_imports_and_write_backs_without_writing(
    database_url: str,
) -> None:
    tenant = SimulatedTenant("acme", {USER: PASSWORD})
    tenant.generate(6)
    with serve_asgi(build_simulator_app(tenant)) as workday_url:
        async with in_process(database_url) as api:
            rule_id = await make_rule(api, workday_url)
            users = await users_by_name(api)
            await set_enabled(api, rule_id, False)
            first, second = (tenant.worker(w) for w in tenant.visible_wids(tenant.now())[:2])
            old_email = first.emails[0].address
            # The directory changes an attribute it writes back; Workday changes a title.
            await update_user(api, users[first.employee_id]["id"], email="dir.side@example.com")
            tenant.change(second.wid, business_title="Chief Tester")
            snapshot = await users_by_name(api)

            run = await preview(api, rule_id)

            items = items_by_name(run)
            write_back = next(i for (_, action), i in items.items() if action == "WRITE_BACK")
            assert {
                "attribute": "email",
                "sourceValue": "dir.side@example.com",
                "targetValue": old_email,
            } in write_back["differences"]
            update = next(i for (_, action), i in items.items() if action == "UPDATE")
            assert any(d["sourceValue"] == "Chief Tester" for d in update["differences"])
            # Nothing written: Workday keeps its email, the directory keeps its title.
            assert tenant.worker(first.wid).emails[0].address == old_email
            assert await users_by_name(api) == snapshot


async def test_provision_on_demand_returns_the_steps_and_records_the_state(
    database_url: str, scim: tuple[str, CountingTarget]
) -> None:
    base, _ = scim
    async with in_process(database_url) as api:
        rule_id, _ = await scim_rule(api, base, userFilter='department eq "Sales"')
        sam = await user(api, "sam", department="Sales")
        out = await user(api, "otto", department="Ops")
        await api.idle()
        # Not pushed yet by the change loop? Either way, on demand matches and reports.
        query = """mutation($i: ProvisionOnDemandInput!) { provisionOnDemand(input: $i) {
            __typename ... on ProvisionOnDemandPayload { run { id kind status startedBy }
              steps { name status detail } } ... on Error { code message } } }"""
        result = (await api(query, {"i": {"ruleId": rule_id, "userId": sam}}))["provisionOnDemand"]
        assert result["__typename"] == "ProvisionOnDemandPayload", result
        steps = {s["name"]: s for s in result["steps"]}
        assert [s["name"] for s in result["steps"]] == ["SCOPE", "MATCH", "ACTION", "OUTCOME"]
        assert steps["SCOPE"]["status"] == "OK" and "department" in steps["SCOPE"]["detail"]
        assert "matched account" in steps["MATCH"]["detail"]
        assert steps["OUTCOME"]["detail"].startswith("state SUCCESS")
        assert result["run"]["kind"] == "ON_DEMAND" and result["run"]["status"] == "SUCCEEDED"
        assert "sam" in accounts(base)

        # On a disabled rule (nothing pushed), on demand tries one user: an update.
        await set_enabled(api, rule_id, False)
        await update_user(api, sam, title="Director")
        assert accounts(base)["sam"].get("title") != "Director"
        result = (await api(query, {"i": {"ruleId": rule_id, "userId": sam}}))["provisionOnDemand"]
        steps = {s["name"]: s for s in result["steps"]}
        assert "planned action: update" in steps["MATCH"]["detail"]
        assert steps["ACTION"]["detail"].startswith("update")
        assert accounts(base)["sam"]["title"] == "Director"
        audit = (await api(AUDIT, {"id": rule_id}))["rule"]["auditLog"]["edges"]
        operations = [(e["node"]["operation"], e["node"]["entityName"]) for e in audit]
        assert ("PROVISION_ON_DEMAND", None) in operations and ("UPDATE", "sam") in operations

        skipped = (await api(query, {"i": {"ruleId": rule_id, "userId": out}}))["provisionOnDemand"]
        assert [(s["name"], s["status"]) for s in skipped["steps"]] == [
            ("SCOPE", "SKIPPED"),
            ("ACTION", "SKIPPED"),
        ]
        assert "otto" not in accounts(base)

        both = (await api(query, {"i": {"ruleId": rule_id, "userId": sam, "groupId": sam}}))[
            "provisionOnDemand"
        ]
        assert both["__typename"] == "ValidationError"


async def test_provision_a_new_user_on_demand_and_a_group_with_its_members(
    database_url: str, scim: tuple[str, CountingTarget]
) -> None:
    base, _ = scim
    async with in_process(database_url) as api:
        lee = await user(api, "lee")
        kim = await user(api, "kim")
        group = (
            await api(
                """mutation($i: DirectoryGroupInput!) { createDirectoryGroup(input: $i) {
                     ... on DirectoryGroup { id } } }""",
                {"i": {"displayName": "Crew", "memberIds": [lee, kim]}},
            )
        )["createDirectoryGroup"]["id"]
        rule_id, _ = await scim_rule(api, base, enabled=False, groupIds=[group])
        await api(
            "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
            {"id": rule_id},
        )  # starts a full resync; on demand waits for it, then finds everything in place
        query = """mutation($i: ProvisionOnDemandInput!) { provisionOnDemand(input: $i) {
            ... on ProvisionOnDemandPayload { steps { name status detail } } } }"""
        steps = (await api(query, {"i": {"ruleId": rule_id, "groupId": group}}))[
            "provisionOnDemand"
        ]["steps"]
        names = [s["name"] for s in steps]
        assert names == ["SCOPE", "MEMBERS", "MATCH", "ACTION", "OUTCOME"], steps
        assert "2 of its 2 members" in steps[0]["detail"]
        assert steps[1]["detail"].startswith("2 members synced")
        groups = target_groups(base)
        assert [g["displayName"] for g in groups] == ["Crew"]
        assert len(groups[0].get("members", [])) == 2

        newcomer = await user(api, "new.comer")
        await set_enabled(api, rule_id, False)
        await set_enabled(api, rule_id, True)
        fresh = await user(api, "fresh")  # on demand races the change loop; both converge
        steps = (await api(query, {"i": {"ruleId": rule_id, "userId": fresh}}))[
            "provisionOnDemand"
        ]["steps"]
        assert steps[-1]["status"] == "OK" and "fresh" in accounts(base)
        assert "new.comer" in accounts(base) and newcomer


async def test_a_mass_deprovision_is_held_then_released(
    database_url: str, scim: tuple[str, CountingTarget]
) -> None:
    base, _ = scim
    async with in_process(database_url) as api:
        for n in range(6):
            await user(api, f"u{n}", department="Sales" if n < 2 else "Ops")
        rule_id, _ = await scim_rule(api, base, deletionProtection={"maxCount": 2})
        assert all(a["active"] for a in accounts(base).values())
        await api(
            'mutation($id: ID!) { updateRule(input: {id: $id, userFilter: "department eq \\"Sales\\""}) { __typename } }',
            {"id": rule_id},
        )
        newcomer = await user(api, "u9", department="Sales")
        await api.idle()
        full = (
            await api(
                "mutation($id: ID!) { fullResync(ruleId: $id) { ... on SyncRun { id } } }",
                {"id": rule_id},
            )
        )["fullResync"]
        await api.idle()
        run = (await api(RUN, {"id": full["id"]}))["node"]
        assert run["status"] == "SUCCEEDED" and run["heldOperations"]["totalCount"] == 4
        view = (await api(RULE, {"id": rule_id}))["rule"]
        held = {e["node"]["displayName"] for e in view["heldOperations"]["edges"]}
        assert held == {"u2", "u3", "u4", "u5"}
        # The rest applied; the held four stay active at the target, still impacted.
        assert accounts(base)["u9"]["active"] and newcomer
        assert all(accounts(base)[n]["active"] for n in held)
        assert view["summary"]["users"]["impacted"] == 7
        audit = (await api(AUDIT, {"id": rule_id}))["rule"]["auditLog"]["edges"]
        assert any(e["node"]["operation"] == "HOLD_DEPROVISION" for e in audit)

        # A preview says the same operations would be held.
        items = items_by_name(await preview(api, rule_id))
        assert "would be held" in (items[("u2", "DISABLE")]["reason"] or "")

        released = (
            await api(
                """mutation($id: ID!) { releaseHeldOperations(ruleId: $id) { __typename
                     ... on HeldOperationsPayload { count run { id kind } } } }""",
                {"id": rule_id},
            )
        )["releaseHeldOperations"]
        assert released["count"] == 4 and released["run"]["kind"] == "RELEASE"
        await api.idle()
        assert not any(accounts(base)[n]["active"] for n in held)
        view = (await api(RULE, {"id": rule_id}))["rule"]
        assert view["heldOperations"]["totalCount"] == 0
        assert view["summary"]["users"]["impacted"] == 3
        audit = (await api(AUDIT, {"id": rule_id}))["rule"]["auditLog"]["edges"]
        assert any(e["node"]["operation"] == "RELEASE_HELD" for e in audit)


async def test_a_held_mass_deprovision_can_be_discarded(
    database_url: str, scim: tuple[str, CountingTarget]
) -> None:
    base, target = scim
    async with in_process(database_url) as api:
        ids = [await user(api, f"p{n}") for n in range(5)]
        rule_id, _ = await scim_rule(api, base, deletionProtection={"maxPercent": 40})
        for user_id in ids[:3]:  # 3 of 5 is 60%, over the 40% limit (2)
            await api(
                "mutation($id: ID!) { deleteDirectoryUser(id: $id) { __typename } }",
                {"id": user_id},
            )
        await asyncio.sleep(0.3)
        await api.idle()
        await api("mutation($id: ID!) { fullResync(ruleId: $id) { __typename } }", {"id": rule_id})
        await api.idle()
        view = (await api(RULE, {"id": rule_id}))["rule"]
        assert view["heldOperations"]["totalCount"] == 3, view
        writes = target.writes
        discarded = (
            await api(
                """mutation($id: ID!) { discardHeldOperations(ruleId: $id) { __typename
                     ... on HeldOperationsPayload { count run { id } } } }""",
                {"id": rule_id},
            )
        )["discardHeldOperations"]
        assert discarded == {"__typename": "HeldOperationsPayload", "count": 3, "run": None}
        assert target.writes == writes and all(a["active"] for a in accounts(base).values())
        view = (await api(RULE, {"id": rule_id}))["rule"]
        assert view["heldOperations"]["totalCount"] == 0
        assert view["summary"]["users"]["impacted"] == 2
        # A later resync does not bring them back: discarded means left alone.
        await api("mutation($id: ID!) { fullResync(ruleId: $id) { __typename } }", {"id": rule_id})
        await api.idle()
        assert (await api(RULE, {"id": rule_id}))["rule"]["heldOperations"]["totalCount"] == 0
        assert target.writes == writes
        audit = (await api(AUDIT, {"id": rule_id}))["rule"]["auditLog"]["edges"]
        assert any(e["node"]["operation"] == "DISCARD_HELD" for e in audit)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


async def test_a_failing_target_enters_and_leaves_quarantine_on_schedule(
    database_url: str,
) -> None:
    port = free_port()  # nothing listens here until the target "comes back"
    base = f"http://127.0.0.1:{port}/v2"
    clock = Clock()
    async with in_process(
        database_url, quarantine_after_failures=2, quarantine_base_seconds=60
    ) as api:
        api.services.engine.now = clock
        await user(api, "q1")
        await api.idle()  # the change is pushed (to no rule) before the rule exists
        rule_id, _ = await scim_rule(api, base)  # run 1 fails
        view = (await api(RULE, {"id": rule_id}))["rule"]
        assert view["status"] == "FAILED" and view["quarantine"] is None
        await user(api, "q2")  # pushed at once: run 2 fails, quarantined, next attempt in 60 s
        await api.idle()
        view = (await api(RULE, {"id": rule_id}))["rule"]
        quarantine = view["quarantine"]
        assert quarantine["failedRuns"] == 2 and view["status"] == "FAILED"
        since = datetime.fromisoformat(quarantine["since"])
        assert datetime.fromisoformat(quarantine["nextAttemptAt"]) - since == timedelta(seconds=60)
        assert "127.0.0.1" in quarantine["reason"]
        runs = len(view["runs"]["edges"])

        # Directory changes do not start runs while quarantined.
        await user(api, "q3")
        await asyncio.sleep(0.2)
        await api.idle()
        assert not await api.services.engine.poll_due(now=clock.advance(30))
        assert len((await api(RULE, {"id": rule_id}))["rule"]["runs"]["edges"]) == runs

        # At the next attempt a retry runs, fails, and the interval doubles.
        retry = await api.services.engine.poll_due(now=clock.advance(31))
        assert [(r.kind, r.started_by) for r in retry] == [("FULL", "quarantine")]
        await api.idle()
        quarantine = (await api(RULE, {"id": rule_id}))["rule"]["quarantine"]
        assert quarantine["failedRuns"] == 3
        assert datetime.fromisoformat(quarantine["nextAttemptAt"]) == clock.now + timedelta(
            seconds=120
        )

        # The target comes back: the next retry succeeds and ends the quarantine.
        target = CountingTarget()
        with serve_asgi(target, port=port):
            assert not await api.services.engine.poll_due(now=clock.advance(119))
            assert await api.services.engine.poll_due(now=clock.advance(2))
            await api.idle()
            view = (await api(RULE, {"id": rule_id}))["rule"]
            assert view["quarantine"] is None and view["status"] == "ACTIVE"
            assert set(accounts(base)) == {"q1", "q2", "q3"}
        audit = (await api(AUDIT, {"id": rule_id}))["rule"]["auditLog"]["edges"]
        operations = [e["node"]["operation"] for e in audit]
        assert "QUARANTINE" in operations and "QUARANTINE_ENDED" in operations


async def test_a_manual_resync_ends_a_quarantine(database_url: str) -> None:
    clock = Clock()
    async with in_process(
        database_url, quarantine_after_failures=1, quarantine_base_seconds=600
    ) as api:
        api.services.engine.now = clock
        await user(api, "m1")
        await api.idle()
        rule_id, connection = await scim_rule(api, f"http://127.0.0.1:{free_port()}/v2")
        assert (await api(RULE, {"id": rule_id}))["rule"]["quarantine"] is not None
        await api("mutation($id: ID!) { fullResync(ruleId: $id) { __typename } }", {"id": rule_id})
        audit = (await api(AUDIT, {"id": rule_id}))["rule"]["auditLog"]["edges"]
        ended = [e["node"] for e in audit if e["node"]["operation"] == "QUARANTINE_ENDED"]
        assert ended and "manual resync" in ended[0]["message"]
        await api.idle()
        # It failed again: one failure is this rule's threshold, so it is quarantined anew
        # (a manual resync starts the count afresh).
        assert (await api(RULE, {"id": rule_id}))["rule"]["quarantine"]["failedRuns"] == 1
        assert connection
