"""Dry-run reconciles (previews): the plan of a real reconcile, and not one write sent."""

from __future__ import annotations

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


def user(key: str, name: str, **attributes: object) -> DesiredUser:
    return DesiredUser(key, {"userName": name, "active": True, "title": "Engineer", **attributes})


async def test_a_dry_run_plans_every_action_and_sends_no_write(
    make_connector: MakeConnector, target: Control
) -> None:
    names = {k: unique(k) for k in ("keep", "change", "disable", "delete", "new1", "new2")}
    existing = [user(k, names[k]) for k in ("keep", "change", "disable", "delete")]
    made = await reconcile(make_connector(), ReconcileRequest(users=existing))
    ids = {k: made[k].target_id for k in made}
    team = unique("Team")
    created = await reconcile(
        make_connector(),
        ReconcileRequest(groups=[DesiredGroup("g", team, (MemberRef("keep", ids["keep"]),))]),
    )
    before = target.writes()

    planned = await reconcile(
        make_connector(use_bulk=True),  # two creates: a real reconcile would send a /Bulk
        ReconcileRequest(
            users=[
                user("keep", names["keep"]),
                user("change", names["change"], title="Manager"),
                user("new1", names["new1"]),
                user("new2", names["new2"]),
            ],
            removals=[
                Removal(EntityKind.USER, "disable", ids["disable"], DeprovisionAction.DISABLE),
                Removal(EntityKind.USER, "delete", ids["delete"], DeprovisionAction.DELETE),
            ],
            dry_run=True,
        ),
    )
    members = (MemberRef("keep", ids["keep"]), MemberRef("change", ids["change"]))
    planned_group = await reconcile(
        make_connector(),
        ReconcileRequest(
            groups=[DesiredGroup("g", team, members, target_id=created["g"].target_id)],
            dry_run=True,
        ),
    )

    assert {k: o.action for k, o in planned.items()} == {
        "keep": Action.NONE,
        "change": Action.UPDATE,
        "new1": Action.CREATE,
        "new2": Action.CREATE,
        "disable": Action.DISABLE,
        "delete": Action.DELETE,
    }
    assert all(o.state is EntityState.SUCCESS for o in planned.values())
    change = planned["change"]
    assert [(d.attribute, d.source_value, d.target_value) for d in change.differences] == [
        ("title", "Manager", "Engineer")
    ]
    assert change.target_id == ids["change"]
    membership = planned_group["g"]
    assert membership.action is Action.UPDATE
    assert [(d.attribute, d.source_value, d.target_value) for d in membership.differences] == [
        ("members", "2 members", "1 members")
    ]
    assert target.writes() == before, target.methods()
    # The real reconcile afterwards finds the target as it was: the preview changed nothing.
    real = await reconcile(make_connector(), ReconcileRequest(users=[user("new1", names["new1"])]))
    assert real["new1"].action is Action.CREATE and real["new1"].target_id
