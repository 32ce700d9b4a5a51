"""Groups: matched by displayName, created when missing, membership merged or overwritten."""

from __future__ import annotations

import httpx2

from provisync_sdk import (
    Action,
    DeprovisionAction,
    DesiredGroup,
    DesiredUser,
    EntityKind,
    EntityState,
    MemberRef,
    ReconcileRequest,
    Removal,
)
from tests.connectors.scim.conftest import MakeConnector, reconcile, unique
from tests.connectors.scim.target import Control


async def _users(make_connector: MakeConnector, count: int) -> list[str]:
    users = [
        DesiredUser(f"u{i}", {"userName": unique("member"), "active": True}) for i in range(count)
    ]
    outcomes = await reconcile(make_connector(), ReconcileRequest(users=users))
    return [outcomes[u.key].target_id or "" for u in users]


def members_of(base_url: str, group_id: str) -> set[str]:
    body = httpx2.get(f"{base_url}/Groups/{group_id}").json()
    return {m["value"] for m in body.get("members", [])}


def group(name: str, ids: list[str], target_id: str | None = None) -> DesiredGroup:
    refs = tuple(MemberRef(key=f"m{i}", target_id=t) for i, t in enumerate(ids))
    return DesiredGroup(key="g", display_name=name, members=refs, target_id=target_id)


async def test_merge_adds_missing_members_only(
    make_connector: MakeConnector, base_url: str, target: Control
) -> None:
    a, b, c = await _users(make_connector, 3)
    name = unique("Group")
    created = (await reconcile(make_connector(), ReconcileRequest(groups=[group(name, [a, b])])))[
        "g"
    ]
    assert (created.state, created.action) == (EntityState.SUCCESS, Action.CREATE)
    assert members_of(base_url, created.target_id or "") == {a, b}

    outcome = (await reconcile(make_connector(), ReconcileRequest(groups=[group(name, [b, c])])))[
        "g"
    ]
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.UPDATE)
    assert outcome.target_id == created.target_id
    assert members_of(base_url, created.target_id or "") == {a, b, c}

    target.log.clear()
    again = (await reconcile(make_connector(), ReconcileRequest(groups=[group(name, [b, c])])))["g"]
    assert again.action is Action.NONE and target.writes() == 0


async def test_overwrite_sets_the_exact_membership(
    make_connector: MakeConnector, base_url: str
) -> None:
    a, b, c = await _users(make_connector, 3)
    name = unique("Group")
    await reconcile(make_connector(), ReconcileRequest(groups=[group(name, [a, b])]))
    connector = make_connector(group_membership="overwrite")
    outcome = (await reconcile(connector, ReconcileRequest(groups=[group(name, [b, c])])))["g"]
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.UPDATE)
    assert members_of(base_url, outcome.target_id or "") == {b, c}


async def test_member_without_account_makes_group_partial(make_connector: MakeConnector) -> None:
    (a,) = await _users(make_connector, 1)
    desired = DesiredGroup(
        key="g",
        display_name=unique("Group"),
        members=(MemberRef("m0", a), MemberRef("m1", None)),
    )
    outcome = (await reconcile(make_connector(), ReconcileRequest(groups=[desired])))["g"]
    assert outcome.state is EntityState.PARTIAL and "no account" in (outcome.reason or "")
    assert outcome.target_id


async def test_group_delete_removal(make_connector: MakeConnector, base_url: str) -> None:
    created = (
        await reconcile(make_connector(), ReconcileRequest(groups=[group(unique("Group"), [])]))
    )["g"]
    removal = Removal(EntityKind.GROUP, "g", created.target_id, DeprovisionAction.DELETE)
    outcome = (await reconcile(make_connector(), ReconcileRequest(removals=[removal])))["g"]
    assert (outcome.state, outcome.action, outcome.removed) == (
        EntityState.SUCCESS,
        Action.DELETE,
        True,
    )
    assert httpx2.get(f"{base_url}/Groups/{created.target_id}").status_code == 404
