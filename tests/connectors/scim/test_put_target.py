"""A target that supports neither PATCH nor filtering: PUT, and paged listing instead."""

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


async def test_put_only_target(
    make_connector: MakeConnector, target: Control, base_url: str
) -> None:
    target.patch = False
    target.filter = False
    name = unique()
    attrs = {"userName": name, "title": "Engineer", "email": f"{name}@example.com", "active": True}
    first = (await reconcile(make_connector(), ReconcileRequest(users=[DesiredUser("u", attrs)])))[
        "u"
    ]
    assert (first.state, first.action) == (EntityState.SUCCESS, Action.CREATE)
    assert make_connector is not None

    target.log.clear()
    changed = {**attrs, "title": "Manager"}
    connector = make_connector()
    outcome = (await reconcile(connector, ReconcileRequest(users=[DesiredUser("u", changed)])))["u"]
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.UPDATE)
    methods = target.methods()
    assert methods["PUT"] == 1 and methods["PATCH"] == 0
    assert not any("filter=" in p for _, p in target.log)
    held = httpx2.get(f"{base_url}/Users/{outcome.target_id}").json()
    assert held["title"] == "Manager" and held["emails"][0]["value"] == attrs["email"]

    test = await connector.test_connection()
    assert test.details["patch"] == "false" and test.details["filter"] == "false"

    members = (MemberRef("m", outcome.target_id),)
    grp = DesiredGroup("g", unique("Group"), members)
    g = (await reconcile(connector, ReconcileRequest(groups=[grp])))["g"]
    assert g.state is EntityState.SUCCESS

    removal = Removal(EntityKind.USER, "u", outcome.target_id, DeprovisionAction.DISABLE)
    removed = (await reconcile(connector, ReconcileRequest(removals=[removal])))["u"]
    assert (removed.state, removed.action, removed.removed) == (
        EntityState.SUCCESS,
        Action.DISABLE,
        True,
    )
    assert httpx2.get(f"{base_url}/Users/{outcome.target_id}").json()["active"] is False
    assert target.methods()["PATCH"] == 0
