"""Truthful states end to end (issue 13): the API, the engine, the SCIM connector, and
scim2-server over HTTP. After each step the stored states are checked against what the target
itself holds, read over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from provisync.demo.scim_target import build_scim_target_app
from tests.gql.test_operator_controls import (
    STATES,
    accounts,
    items_by_name,
    preview,
    scim_rule,
    update_user,
    user,
)
from tests.support.inprocess import InProcess, in_process
from tests.support.servers import serve_asgi

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
REFUSED = "reserved"


@pytest.fixture
def scim() -> Iterator[str]:
    with serve_asgi(build_scim_target_app(reject_user_names={REFUSED})) as url:
        yield f"{url}/v2"


async def stored(api: InProcess, rule_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The rule's states by (kind, entity key)."""
    edges = (await api(STATES, {"id": rule_id}))["rule"]["entityStates"]["edges"]
    return {(e["node"]["kind"], e["node"]["entityKey"]): e["node"] for e in edges}


def group_at_target(base: str, name: str) -> dict[str, Any]:
    (found,) = [
        g
        for g in httpx.get(f"{base}/Groups").json().get("Resources", [])
        if g["displayName"] == name
    ]
    return found  # type: ignore[no-any-return]


def members(group: dict[str, Any]) -> set[str]:
    return {m["value"] for m in group.get("members", [])}


def patch(base: str, path: str, *operations: dict[str, Any]) -> None:
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    assert httpx.patch(f"{base}{path}", json=body).status_code in (200, 204)


def account_elsewhere(base: str, user_name: str) -> dict[str, Any]:
    """An account created at the target by someone other than provisync."""
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name}
    response = httpx.post(f"{base}/Users", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def delete_at_target(base: str, path: str) -> None:
    assert httpx.delete(f"{base}{path}").status_code == 204


async def resync(api: InProcess, rule_id: str) -> None:
    started = await api(
        "mutation($id: ID!) { fullResync(ruleId: $id) { __typename ... on SyncRun { id } } }",
        {"id": rule_id},
    )
    assert started["fullResync"]["__typename"] == "SyncRun", started
    await api.idle()


def key_of(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def test_a_cleared_value_is_removed_by_the_push_the_resync_and_shown_by_a_preview(
    database_url: str, scim: str
) -> None:
    base = scim
    async with in_process(database_url) as api:
        uid = await user(api, "ada", phone="+1 555 0100", title="Engineer", displayName="Ada L")
        rule_id, _ = await scim_rule(api, base)
        account = accounts(base)["ada"]
        assert (
            account["phoneNumbers"][0]["value"] == "+1 555 0100" and account["title"] == "Engineer"
        )

        await update_user(api, uid, phone=None, title="", displayName=None)
        await api.idle()
        account = accounts(base)["ada"]
        assert not {"phoneNumbers", "title", "displayName"} & set(account), account
        state = (await stored(api, rule_id))[("USER", key_of(uid))]
        assert (state["state"], state["targetId"]) == ("SUCCESS", account["id"])

        # Someone puts a phone back at the target: a preview shows it, a resync removes it.
        patch(
            base,
            f"/Users/{account['id']}",
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 999", "type": "work"}]},
        )
        run = await preview(api, rule_id)
        item = items_by_name(run)[("ada", "UPDATE")]
        assert {"attribute": "phone", "sourceValue": None, "targetValue": "+1 999"} in item[
            "differences"
        ]
        assert "phoneNumbers" in accounts(base)["ada"]  # the preview wrote nothing

        await resync(api, rule_id)
        assert "phoneNumbers" not in accounts(base)["ada"]
        assert (await stored(api, rule_id))[("USER", key_of(uid))]["state"] == "SUCCESS"


async def _group(api: InProcess, name: str, member_ids: list[str]) -> str:
    made = await api(
        """mutation($i: DirectoryGroupInput!) { createDirectoryGroup(input: $i) {
             __typename ... on DirectoryGroup { id } } }""",
        {"i": {"displayName": name, "memberIds": member_ids}},
    )
    return str(made["createDirectoryGroup"]["id"])


async def _update_group(api: InProcess, group_id: str, **fields: Any) -> None:
    done = await api(
        """mutation($id: ID!, $i: DirectoryGroupInput!) { updateDirectoryGroup(id: $id, input: $i) {
             __typename } }""",
        {"id": group_id, "i": fields},
    )
    assert done["updateDirectoryGroup"]["__typename"] == "DirectoryGroup", done
    await api.idle()


async def test_groups_are_renamed_and_lose_the_managed_members_who_left(
    database_url: str, scim: str
) -> None:
    base = scim
    async with in_process(database_url) as api:
        ids = {n: await user(api, n) for n in ("ada", "grace", "linus")}
        gid = await _group(api, "Eng", list(ids.values()))
        rule_id, _ = await scim_rule(api, base, groupIds=[gid], deprovisionAction="DISABLE")
        tid = {n: a["id"] for n, a in accounts(base).items()}
        group = group_at_target(base, "Eng")
        assert members(group) == {tid["ada"], tid["grace"], tid["linus"]}
        # An account someone else manages, added to the group at the target.
        outsider = account_elsewhere(base, "outsider")
        patch(
            base,
            f"/Groups/{group['id']}",
            {"op": "add", "path": "members", "value": [{"value": outsider["id"]}]},
        )

        await _update_group(
            api, gid, displayName="Engineering", memberIds=[ids["ada"], ids["linus"]]
        )
        group = group_at_target(base, "Engineering")
        assert members(group) == {tid["ada"], tid["linus"], outsider["id"]}
        state = (await stored(api, rule_id))[("GROUP", key_of(gid))]
        assert (state["state"], state["targetId"]) == ("SUCCESS", group["id"])

        # A member deleted from the directory leaves the group at the target too.
        deleted = await api(
            "mutation($id: ID!) { deleteDirectoryUser(id: $id) { __typename } }",
            {"id": ids["linus"]},
        )
        assert deleted["deleteDirectoryUser"]["__typename"] != "NotFoundError"
        await api.idle()
        assert members(group_at_target(base, "Engineering")) == {tid["ada"], outsider["id"]}
        assert (await stored(api, rule_id))[("GROUP", key_of(gid))]["state"] == "SUCCESS"


async def test_a_failed_create_drops_the_old_target_id_and_groups_drop_the_dead_member(
    database_url: str, scim: str
) -> None:
    base = scim
    async with in_process(database_url) as api:
        uid = await user(api, "temp")
        keep = await user(api, "keep")
        gid = await _group(api, "Team", [uid, keep])
        rule_id, _ = await scim_rule(api, base, groupIds=[gid])
        dead = accounts(base)["temp"]["id"]
        assert dead in members(group_at_target(base, "Team"))
        # The account is deleted at the target, and the user now has a name it refuses.
        delete_at_target(base, f"/Users/{dead}")
        await update_user(api, uid, userName=REFUSED)
        await api.idle()

        states = await stored(api, rule_id)
        failed = states[("USER", key_of(uid))]
        assert failed["state"] == "FAILED" and failed["targetId"] is None, failed
        assert "HTTP 400" in failed["reason"]
        group = group_at_target(base, "Team")
        assert members(group) == {accounts(base)["keep"]["id"]}  # no dead id left behind
        assert states[("GROUP", key_of(gid))]["state"] == "PARTIAL"
        assert "no account" in states[("GROUP", key_of(gid))]["reason"]
