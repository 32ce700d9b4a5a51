"""Users against a PATCH-and-filter scim2-server: create, update, disable, delete, matching."""

from __future__ import annotations

from typing import Any

import httpx2

from provisync_sdk import (
    Action,
    DeprovisionAction,
    DesiredUser,
    EntityKind,
    EntityState,
    ReconcileRequest,
    Removal,
)
from tests.connectors.scim.conftest import REJECTED, MakeConnector, reconcile, unique
from tests.connectors.scim.target import Control


def person(user_name: str, **extra: Any) -> dict[str, Any]:
    first, _, last = user_name.partition(".")
    return {
        "userName": user_name,
        "givenName": first.title(),
        "familyName": last.title(),
        "displayName": f"{first.title()} {last.title()}",
        "email": f"{user_name}@example.com",
        "phone": "+1 555 0100",
        "title": "Engineer",
        "department": "R&D",
        "employeeId": "E-1",
        "active": True,
        **extra,
    }


def fetch(base_url: str, user_id: str) -> dict[str, Any]:
    response = httpx2.get(f"{base_url}/Users/{user_id}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_create_then_unchanged_resync_sends_no_writes(
    make_connector: MakeConnector, target: Control, base_url: str
) -> None:
    users = [DesiredUser(key=f"k{i}", attributes=person(unique())) for i in range(5)]
    request = ReconcileRequest(users=users)
    first = await reconcile(make_connector(), request)
    assert {o.state for o in first.values()} == {EntityState.SUCCESS}
    assert {o.action for o in first.values()} == {Action.CREATE}
    held = fetch(base_url, first["k0"].target_id or "")
    assert held["name"]["givenName"] == users[0].attributes["givenName"]
    assert held["emails"][0] == {
        "value": users[0].attributes["email"],
        "type": "work",
        "primary": True,
    }
    extension = held["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    assert extension == {"department": "R&D", "employeeNumber": "E-1"}

    target.log.clear()
    again = await reconcile(make_connector(), request)
    assert {o.state for o in again.values()} == {EntityState.SUCCESS}
    assert {o.action for o in again.values()} == {Action.NONE}
    assert [o.target_id for o in again.values()] == [o.target_id for o in first.values()]
    assert target.writes() == 0
    # one filter request for the batch, not one GET per user
    users_gets = [p for m, p in target.log if m == "GET" and p.endswith("/Users")]
    assert len(users_gets) == 1
    assert not [p for m, p in target.log if "/Users/" in p]


async def test_update_changes_only_what_differs(
    make_connector: MakeConnector, target: Control, base_url: str
) -> None:
    name = unique()
    await reconcile(make_connector(), ReconcileRequest(users=[DesiredUser("u", person(name))]))
    changed = person(name, title="Manager", department="Sales", phone=None)
    target.log.clear()
    outcome = (
        await reconcile(make_connector(), ReconcileRequest(users=[DesiredUser("u", changed)]))
    )["u"]
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.UPDATE)
    assert target.methods()["PATCH"] == 1 and target.methods()["PUT"] == 0
    held = fetch(base_url, outcome.target_id or "")
    assert held["title"] == "Manager"
    assert (
        held["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] == "Sales"
    )
    assert "phoneNumbers" not in held


async def test_update_turned_off_gives_partial_with_differences(
    make_connector: MakeConnector,
) -> None:
    name = unique()
    await reconcile(make_connector(), ReconcileRequest(users=[DesiredUser("u", person(name))]))
    changed = person(name, title="Director")
    request = ReconcileRequest(users=[DesiredUser("u", changed)])
    outcome = (await reconcile(make_connector(update_enabled=False), request))["u"]
    assert outcome.state is EntityState.PARTIAL
    assert [(d.attribute, d.source_value, d.target_value) for d in outcome.differences] == [
        ("title", "Director", "Engineer")
    ]
    assert outcome.target_id


async def test_create_turned_off_gives_unsynced(
    make_connector: MakeConnector, target: Control
) -> None:
    request = ReconcileRequest(users=[DesiredUser("u", person(unique()))])
    outcome = (await reconcile(make_connector(create_enabled=False), request))["u"]
    assert outcome.state is EntityState.UNSYNCED and outcome.target_id is None
    assert target.writes() == 0


async def test_disable_and_delete_removals(
    make_connector: MakeConnector, target: Control, base_url: str
) -> None:
    a, b = person(unique()), person(unique())
    created = await reconcile(
        make_connector(), ReconcileRequest(users=[DesiredUser("a", a), DesiredUser("b", b)])
    )
    removals = [
        Removal(EntityKind.USER, "a", created["a"].target_id, DeprovisionAction.DISABLE),
        Removal(EntityKind.USER, "b", created["b"].target_id, DeprovisionAction.DELETE),
    ]
    outcomes = await reconcile(make_connector(), ReconcileRequest(removals=removals))
    assert (outcomes["a"].state, outcomes["a"].action, outcomes["a"].removed) == (
        EntityState.SUCCESS,
        Action.DISABLE,
        True,
    )
    assert (outcomes["b"].state, outcomes["b"].action, outcomes["b"].removed) == (
        EntityState.SUCCESS,
        Action.DELETE,
        True,
    )
    assert fetch(base_url, created["a"].target_id or "")["active"] is False
    assert httpx2.get(f"{base_url}/Users/{created['b'].target_id}").status_code == 404
    # disabling again is a no-op, and a NOTHING removal touches nothing
    target.log.clear()
    again = [
        Removal(EntityKind.USER, "a", created["a"].target_id, DeprovisionAction.DISABLE),
        Removal(EntityKind.USER, "b", created["b"].target_id, DeprovisionAction.NOTHING),
    ]
    outcomes = await reconcile(make_connector(), ReconcileRequest(removals=again))
    assert all(o.removed and o.state is EntityState.SUCCESS for o in outcomes.values())
    assert target.writes() == 0


async def test_desired_inactive_user_is_disabled(
    make_connector: MakeConnector, base_url: str
) -> None:
    name = unique()
    await reconcile(make_connector(), ReconcileRequest(users=[DesiredUser("u", person(name))]))
    request = ReconcileRequest(users=[DesiredUser("u", person(name, active=False))])
    blocked = (await reconcile(make_connector(disable_enabled=False), request))["u"]
    assert blocked.state is EntityState.PARTIAL
    assert blocked.differences[0].attribute == "active"
    outcome = (await reconcile(make_connector(), request))["u"]
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.DISABLE)
    assert fetch(base_url, outcome.target_id or "")["active"] is False


async def test_match_by_email(make_connector: MakeConnector, target: Control) -> None:
    name = unique()
    created = await reconcile(
        make_connector(), ReconcileRequest(users=[DesiredUser("u", person(name))])
    )
    # the directory renamed the user but kept the mailbox: email matching finds the account
    renamed = person(unique(), email=f"{name}@example.com")
    connector = make_connector(matching_attribute="email")
    outcome = (await reconcile(connector, ReconcileRequest(users=[DesiredUser("u", renamed)])))["u"]
    assert outcome.target_id == created["u"].target_id
    assert (outcome.state, outcome.action) == (EntityState.SUCCESS, Action.UPDATE)
    filters = [p for m, p in target.log if m == "GET" and p.endswith("/Users")]
    assert filters


async def test_target_id_hint_is_verified(make_connector: MakeConnector) -> None:
    name = unique()
    created = (
        await reconcile(make_connector(), ReconcileRequest(users=[DesiredUser("u", person(name))]))
    )["u"]
    renamed = person(unique())
    hinted = DesiredUser("u", renamed, target_id=created.target_id)
    outcome = (await reconcile(make_connector(), ReconcileRequest(users=[hinted])))["u"]
    assert (outcome.action, outcome.target_id) == (Action.UPDATE, created.target_id)
    stale = DesiredUser("v", person(unique()), target_id="no-such-id")
    outcome = (await reconcile(make_connector(), ReconcileRequest(users=[stale])))["v"]
    assert outcome.action is Action.CREATE and outcome.target_id != "no-such-id"


async def test_target_rejects_one_user(make_connector: MakeConnector) -> None:
    users = [DesiredUser("bad", person(REJECTED))]
    users += [DesiredUser(f"ok{i}", person(unique())) for i in range(3)]
    outcomes = await reconcile(make_connector(), ReconcileRequest(users=users))
    bad = outcomes.pop("bad")
    assert bad.state is EntityState.FAILED and bad.target_id is None
    assert "HTTP 400" in (bad.reason or "") and "invalidValue" in (bad.reason or "")
    assert "reserved" in (bad.reason or "")
    assert {o.state for o in outcomes.values()} == {EntityState.SUCCESS}


async def test_large_batch_lists_once_instead_of_filtering(
    make_connector: MakeConnector, target: Control
) -> None:
    users = [DesiredUser(f"k{i}", person(unique("bulk"))) for i in range(120)]
    request = ReconcileRequest(users=users)
    await reconcile(make_connector(), request)
    target.log.clear()
    connector = make_connector(filter_chunk=10, page_size=500)
    outcomes = await reconcile(connector, request)
    assert {o.action for o in outcomes.values()} == {Action.NONE}
    assert target.writes() == 0
    gets = [p for m, p in target.log if m == "GET" and p.endswith("/Users")]
    # a count, then the whole (small) collection in pages: fewer than the 12 filters needed
    assert 2 <= len(gets) < 12


async def test_connection_reports_features(make_connector: MakeConnector) -> None:
    result = await make_connector().test_connection()
    assert result.ok
    assert result.details["patch"] == "true" and result.details["filter"] == "true"
    assert result.details["etag"] == "true" and result.details["bulk"] == "true"


async def test_bulk_creates_report_each_user_and_the_rejected_one_fails_alone(
    make_connector: MakeConnector,
) -> None:
    from provisync.demo.scim_target import build_scim_target_app
    from tests.support.servers import serve_asgi

    app = build_scim_target_app(reject_user_names={"reserved.name"})
    with serve_asgi(app) as url:
        names = [unique("bulk") for _ in range(5)] + ["reserved.name"]
        connector: Any = make_connector(base_url=f"{url}/v2", use_bulk=True)
        request = ReconcileRequest(
            users=[DesiredUser(key=n, attributes={"userName": n, "active": True}) for n in names]
        )
        outcomes = {o.key: o for o in await connector.reconcile(request)}
        assert outcomes["reserved.name"].state is EntityState.FAILED
        assert "invalidValue" in (outcomes["reserved.name"].reason or "")
        created = [outcomes[n] for n in names[:-1]]
        assert all(o.state is EntityState.SUCCESS and o.target_id for o in created)
        assert connector.http.requests["POST bulk"] == 1, connector.http.requests  # type: ignore[attr-defined]
        assert connector.http.requests["POST create"] == 0  # type: ignore[attr-defined]
        again = await make_connector(base_url=f"{url}/v2").reconcile(request)
        assert {o.key: o.target_id for o in again if o.key != "reserved.name"} == {
            o.key: o.target_id for o in created
        }
