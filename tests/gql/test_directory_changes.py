"""Directory changes and the runs they start: an increment never repeats a pending resync."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from provisync.store.models import Rule
from tests.plugins.memory_connector import TARGETS
from tests.support.inprocess import InProcess, in_process

RUNS = """query($id: ID!) { rule(id: $id) { runs(first: 20) {
  edges { node { kind status } } } } }"""


async def create(api: InProcess, mutation: str, input_type: str, value: dict[str, object]) -> str:
    data = await api(
        f"""mutation($input: {input_type}!) {{ {mutation}(input: $input) {{
              __typename ... on Node {{ id }} ... on Error {{ message }} }} }}""",
        {"input": value},
    )
    assert "id" in data[mutation], data
    return str(data[mutation]["id"])


async def test_a_change_while_a_full_resync_waits_joins_that_resync(database_url: str) -> None:
    async with in_process(database_url) as api:
        await create(api, "createDirectoryUser", "DirectoryUserInput", {"userName": "ann"})
        connection = await create(
            api,
            "createProvisioningConnection",
            "CreateProvisioningConnectionInput",
            {"name": "memory", "connectorType": "memory", "settings": {"store": "joins"}},
        )
        rule_id = await create(
            api,
            "createRule",
            "CreateRuleInput",
            {"name": "to memory", "connectionId": connection, "direction": "OUTBOUND"},
        )
        await api.idle()
        async with api.services.db.session() as session:
            rule_pk = await session.scalar(select(Rule.id).where(Rule.name == "to memory"))
        assert rule_pk is not None
        # Hold the rule as a running run would: the resync asked for now stays QUEUED.
        async with api.services.engine._rule_locks[rule_pk]:
            await api(
                "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
                {"id": rule_id},
            )
            await create(api, "createDirectoryUser", "DirectoryUserInput", {"userName": "bob"})
            await asyncio.sleep(0.3)  # well past the debounce (0.05 s): the change was taken
            runs = (await api(RUNS, {"id": rule_id}))["rule"]["runs"]["edges"]
            assert [r["node"]["kind"] for r in runs] == ["FULL"], runs
        await api.idle()
        names = sorted(account["userName"] for account in TARGETS["joins"].values())
        assert names == ["ann", "bob"], names
