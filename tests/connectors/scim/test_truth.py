"""Truthful outcomes (issue 13): cleared values, renamed groups, managed membership, creates
answered without a resource, lost answers. Every check reads scim2-server itself over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from provisync_sdk import (
    Action,
    DesiredGroup,
    DesiredUser,
    EntityState,
    MemberRef,
    ReconcileRequest,
)
from tests.connectors.scim.conftest import REJECTED, MakeConnector, reconcile, unique
from tests.connectors.scim.lost_answers import Loss, LostAnswers
from tests.connectors.scim.target import Control

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
FULL = {
    "phone": "+1 555 0100",
    "email": "someone@example.com",
    "displayName": "Some One",
    "title": "Engineer",
    "givenName": "Some",
}


@pytest.fixture
def proxy(server: str, target: Control) -> Iterator[LostAnswers]:
    with LostAnswers(upstream=server).serving() as running:
        yield running


def held(base_url: str, kind: str, rid: str) -> dict[str, Any]:
    response = httpx2.get(f"{base_url}/{kind}/{rid}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def accounts_named(base_url: str, name: str) -> list[dict[str, Any]]:
    """The accounts with this userName, from a listing (a test may have turned filters off)."""
    body = httpx2.get(f"{base_url}/Users", params={"count": 10000}).json()
    assert body["totalResults"] == len(body["Resources"])
    return [u for u in body["Resources"] if u["userName"] == name]


def patch(base_url: str, kind: str, rid: str, *operations: dict[str, Any]) -> None:
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    assert httpx2.patch(f"{base_url}/{kind}/{rid}", json=body).status_code in (200, 204)


def delete_account(base_url: str, rid: str) -> None:
    assert httpx2.delete(f"{base_url}/Users/{rid}").status_code == 204


def cleared(name: str) -> dict[str, Any]:
    return {"userName": name, "active": True, **dict.fromkeys(FULL)}


@pytest.mark.parametrize("patching", [True, False], ids=["patch", "put"])
async def test_cleared_values_are_removed_at_the_target(
    make_connector: MakeConnector, base_url: str, target: Control, patching: bool
) -> None:
    name = unique()
    made = await reconcile(
        make_connector(),
        ReconcileRequest(users=[DesiredUser("u", {"userName": name, "active": True, **FULL})]),
    )
    rid = made["u"].target_id or ""
    assert held(base_url, "Users", rid)["phoneNumbers"][0]["value"] == FULL["phone"]
    target.patch = patching

    planned = await reconcile(
        make_connector(),
        ReconcileRequest(users=[DesiredUser("u", cleared(name), rid)], dry_run=True),
    )
    shown = {d.attribute: (d.source_value, d.target_value) for d in planned["u"].differences}
    assert planned["u"].action is Action.UPDATE
    assert shown == {
        "phone": (None, FULL["phone"]),
        "email": (None, FULL["email"]),
        "displayName": (None, FULL["displayName"]),
        "title": (None, FULL["title"]),
        "givenName": (None, FULL["givenName"]),
    }
    assert held(base_url, "Users", rid).get("title") == FULL["title"]  # a preview wrote nothing

    outcome = (
        await reconcile(
            make_connector(), ReconcileRequest(users=[DesiredUser("u", cleared(name), rid)])
        )
    )["u"]
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.UPDATE)
    account = held(base_url, "Users", rid)
    for attribute in ("phoneNumbers", "emails", "displayName", "title"):
        assert attribute not in account, account
    assert "givenName" not in (account.get("name") or {})

    target.log.clear()
    again = (
        await reconcile(
            make_connector(), ReconcileRequest(users=[DesiredUser("u", cleared(name), rid)])
        )
    )["u"]
    assert (again.state, again.action, target.writes()) == (EntityState.SUCCESS, Action.NONE, 0)


async def test_a_renamed_group_is_renamed_at_the_target(
    make_connector: MakeConnector, base_url: str
) -> None:
    old, new = unique("Group"), unique("Renamed")
    made = (await reconcile(make_connector(), ReconcileRequest(groups=[DesiredGroup("g", old)])))[
        "g"
    ]
    renamed = DesiredGroup("g", new, target_id=made.target_id)
    planned = await reconcile(make_connector(), ReconcileRequest(groups=[renamed], dry_run=True))
    assert planned["g"].action is Action.UPDATE
    assert [(d.attribute, d.source_value, d.target_value) for d in planned["g"].differences] == [
        ("displayName", new, old)
    ]
    assert held(base_url, "Groups", made.target_id or "")["displayName"] == old
    outcome = (await reconcile(make_connector(), ReconcileRequest(groups=[renamed])))["g"]
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.UPDATE)
    assert outcome.target_id == made.target_id
    assert held(base_url, "Groups", made.target_id or "")["displayName"] == new


async def _accounts(make_connector: MakeConnector, count: int) -> list[str]:
    users = [DesiredUser(f"u{i}", {"userName": unique("m"), "active": True}) for i in range(count)]
    outcomes = await reconcile(make_connector(), ReconcileRequest(users=users))
    return [outcomes[u.key].target_id or "" for u in users]


def _group(
    name: str, ids: list[str], target_id: str | None, managed: tuple[str, ...]
) -> DesiredGroup:
    refs = tuple(MemberRef(f"k-{i}", i) for i in ids)
    return DesiredGroup("g", name, refs, target_id, managed_members=managed)


def _members(base_url: str, rid: str) -> set[str]:
    return {m["value"] for m in held(base_url, "Groups", rid).get("members", [])}


async def test_merge_removes_the_managed_members_who_left_and_keeps_the_others(
    make_connector: MakeConnector, base_url: str
) -> None:
    a, b, other = await _accounts(make_connector, 3)
    name = unique("Team")
    made = (
        await reconcile(make_connector(), ReconcileRequest(groups=[_group(name, [a, b], None, ())]))
    )["g"]
    rid = made.target_id or ""
    assert set(made.managed_members or ()) == {a, b}
    dead = "0000dead"  # an account that no longer exists, put there by an earlier sync
    patch(
        base_url,
        "Groups",
        rid,
        {"op": "add", "path": "members", "value": [{"value": other}, {"value": dead}]},
    )

    left = _group(name, [a], rid, (a, b, dead))
    outcome = (await reconcile(make_connector(), ReconcileRequest(groups=[left])))["g"]
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.UPDATE)
    assert _members(base_url, rid) == {a, other}  # b and the dead id gone; other's member kept
    assert outcome.managed_members == (a,)

    exact = await reconcile(
        make_connector(group_membership="overwrite"),
        ReconcileRequest(groups=[_group(name, [a], rid, (a,))]),
    )
    assert exact["g"].state is EntityState.SUCCESS
    assert _members(base_url, rid) == {a}


async def test_a_group_with_a_member_without_account_is_partial(
    make_connector: MakeConnector,
) -> None:
    (a,) = await _accounts(make_connector, 1)
    group = DesiredGroup("g", unique("Team"), (MemberRef("m0", a), MemberRef("m1", None)))
    outcome = (await reconcile(make_connector(), ReconcileRequest(groups=[group])))["g"]
    assert outcome.state is EntityState.PARTIAL and "no account" in (outcome.reason or "")


async def test_a_create_answered_without_a_resource_is_looked_up(
    make_connector: MakeConnector, proxy: LostAnswers, base_url: str
) -> None:
    connector = make_connector(base_url=f"{proxy.url}/v2")
    # The target created the account but answered 201 with an empty body and no Location.
    proxy.losses.append(Loss("POST", "/Users", mode="answer", status=201, body=b""))
    name = unique()
    outcome = (
        await reconcile(
            connector,
            ReconcileRequest(users=[DesiredUser("u", {"userName": name, "active": True})]),
        )
    )["u"]
    (account,) = accounts_named(base_url, name)
    assert (outcome.state, outcome.target_id) == (EntityState.SUCCESS, account["id"])

    # The target answered 201 with a non-SCIM body and created nothing: no evidence, FAILED.
    proxy.losses.append(Loss("POST", "/Users", mode="answer", forward=False, body=b"ok"))
    lost = unique()
    outcome = (
        await reconcile(
            connector,
            ReconcileRequest(
                users=[DesiredUser("v", {"userName": lost, "active": True}, "0000stale")]
            ),
        )
    )["v"]
    assert outcome.state is EntityState.FAILED and outcome.target_id is None
    assert "HTTP 201 without a SCIM resource" in (outcome.reason or "")
    assert "no account" in (outcome.reason or "")
    assert accounts_named(base_url, lost) == []


async def test_a_location_on_another_origin_is_never_fetched(
    make_connector: MakeConnector, proxy: LostAnswers, base_url: str, server: str, target: Control
) -> None:
    target.bearer_tokens = {"t0ken"}
    connector = make_connector(base_url=f"{proxy.url}/v2", auth="bearer", token="t0ken")
    elsewhere = {"Location": f"{server}/elsewhere/Users/x"}  # another port: another origin
    found, missing = unique(), unique()
    proxy.losses += [
        Loss("POST", "/Users", mode="answer", headers=elsewhere, body_contains=found),
        Loss(
            "POST", "/Users", mode="answer", forward=False, headers=elsewhere, body_contains=missing
        ),
    ]
    outcomes = await reconcile(
        connector,
        ReconcileRequest(
            users=[
                DesiredUser("found", {"userName": found, "active": True}),
                DesiredUser("missing", {"userName": missing, "active": True}),
            ]
        ),
    )
    assert not [p for _m, p in target.log if "/elsewhere" in p]
    target.bearer_tokens = set()
    (account,) = accounts_named(base_url, found)
    assert (outcomes["found"].state, outcomes["found"].target_id) == (
        EntityState.SUCCESS,
        account["id"],
    )
    assert outcomes["missing"].state is EntityState.FAILED
    assert "another origin" in (outcomes["missing"].reason or "")
    assert accounts_named(base_url, missing) == []


async def test_a_failed_create_keeps_no_old_target_id(make_connector: MakeConnector) -> None:
    desired = DesiredUser("u", {"userName": REJECTED, "active": True}, target_id="0000gone")
    outcome = (await reconcile(make_connector(), ReconcileRequest(users=[desired])))["u"]
    assert (outcome.state, outcome.action, outcome.target_id) == (
        EntityState.FAILED,
        Action.CREATE,
        None,
    )


@pytest.mark.parametrize("filtering", [True, False], ids=["filter", "listing"])
async def test_a_create_whose_answer_was_lost_adopts_the_account(
    make_connector: MakeConnector,
    proxy: LostAnswers,
    base_url: str,
    target: Control,
    filtering: bool,
) -> None:
    target.filter = filtering  # without filters the connector lists the users into a snapshot
    connector = make_connector(base_url=f"{proxy.url}/v2", max_retries=2)
    warm = unique()  # a first batch loads the run's snapshot (listing mode) before the loss
    await reconcile(
        connector, ReconcileRequest(users=[DesiredUser("w", {"userName": warm, "active": True})])
    )
    proxy.losses.append(Loss("POST", "/Users", mode="drop"))
    name = unique()
    outcome = (
        await reconcile(
            connector,
            ReconcileRequest(
                users=[DesiredUser("u", {"userName": name, "active": True, "title": "Lead"})]
            ),
        )
    )["u"]
    assert ("POST", "/v2/Users", "dropped") in proxy.log
    (account,) = accounts_named(
        base_url, name
    )  # created once, by the attempt whose answer was lost
    assert (outcome.state, outcome.target_id) == (EntityState.SUCCESS, account["id"])
    assert account["title"] == "Lead"


@pytest.mark.parametrize("retry_answer", ["etag", "strict-400"])
async def test_a_group_update_whose_lost_first_attempt_was_applied_is_success(
    make_connector: MakeConnector, proxy: LostAnswers, base_url: str, retry_answer: str
) -> None:
    a, b = await _accounts(make_connector, 2)
    name = unique("Team")
    made = (
        await reconcile(make_connector(), ReconcileRequest(groups=[_group(name, [a, b], None, ())]))
    )["g"]
    rid = made.target_id or ""
    proxy.losses.append(Loss("PATCH", "/Groups", mode="drop"))
    if retry_answer == "strict-400":
        # A target without ETags that refuses to remove a member no longer there.
        body = b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"noTarget","detail":"no such member"}'
        proxy.losses.append(
            Loss(
                "PATCH",
                "/Groups",
                mode="answer",
                forward=False,
                status=400,
                body=body,
                headers={"Content-Type": "application/scim+json"},
            )
        )
    # With ETags the retry carries the old If-Match and scim2-server answers 412.
    connector = make_connector(base_url=f"{proxy.url}/v2", max_retries=2)
    outcome = (
        await reconcile(connector, ReconcileRequest(groups=[_group(name, [a], rid, (a, b))]))
    )["g"]
    assert ("PATCH", f"/v2/Groups/{rid}", "dropped") in proxy.log
    assert _members(base_url, rid) == {a}
    assert outcome.state is EntityState.SUCCESS, outcome.reason
    assert outcome.managed_members == (a,)


async def test_a_group_never_gets_a_member_whose_account_is_gone(
    make_connector: MakeConnector, base_url: str
) -> None:
    a, gone = await _accounts(make_connector, 2)
    name = unique("Team")
    made = (
        await reconcile(
            make_connector(), ReconcileRequest(groups=[_group(name, [a, gone], None, ())])
        )
    )["g"]
    rid = made.target_id or ""
    delete_account(base_url, gone)  # scim2-server keeps the dead id in the group
    assert _members(base_url, rid) == {a, gone}

    # The engine still knows the old id: the connector checks it and drops the dead member.
    outcome = (
        await reconcile(
            make_connector(), ReconcileRequest(groups=[_group(name, [a, gone], rid, (a, gone))])
        )
    )["g"]
    assert outcome.state is EntityState.PARTIAL and "no account" in (outcome.reason or "")
    assert _members(base_url, rid) == {a}
    assert outcome.managed_members == (a,)

    fresh = unique("Fresh")  # a new group is created without the dead id
    created = (
        await reconcile(
            make_connector(), ReconcileRequest(groups=[_group(fresh, [a, gone], None, ())])
        )
    )["g"]
    assert created.state is EntityState.PARTIAL
    assert _members(base_url, created.target_id or "") == {a}


async def test_a_user_update_whose_lost_first_attempt_was_applied_is_success(
    make_connector: MakeConnector, proxy: LostAnswers, base_url: str
) -> None:
    name = unique()
    made = await reconcile(
        make_connector(),
        ReconcileRequest(users=[DesiredUser("u", {"userName": name, "active": True, **FULL})]),
    )
    rid = made["u"].target_id or ""
    body = b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"noTarget","detail":"nothing to remove"}'
    proxy.losses += [
        Loss("PATCH", "/Users", mode="drop"),
        Loss("PATCH", "/Users", mode="answer", forward=False, status=400, body=body),
    ]
    connector = make_connector(base_url=f"{proxy.url}/v2", max_retries=2)
    outcome = (
        await reconcile(connector, ReconcileRequest(users=[DesiredUser("u", cleared(name), rid)]))
    )["u"]
    assert ("PATCH", f"/v2/Users/{rid}", "dropped") in proxy.log
    assert ("PATCH", f"/v2/Users/{rid}", "answered") in proxy.log
    assert "phoneNumbers" not in held(base_url, "Users", rid)
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.UPDATE), outcome.reason
