"""Issue 13, item 12: ids are never reused, and a deleted group leaves no rule naming it."""

from __future__ import annotations

import base64
import sqlite3
import time
from pathlib import Path

from gql.store.db import upgrade
from tests.plugins.memory_connector import TARGETS
from tests.support.api import Api
from tests.support.scenario import (
    create_connection,
    create_group,
    create_rule,
    create_user,
    rule_view,
)

DELETE = {
    "DirectoryUser": "deleteDirectoryUser",
    "DirectoryGroup": "deleteDirectoryGroup",
    "ProvisioningConnection": "deleteProvisioningConnection",
}


def pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":", 1)[1])


def delete(api: Api, type_name: str, global_id: str) -> None:
    field = DELETE[type_name]
    result = api(
        f"mutation($id: ID!) {{ {field}(id: $id) {{ __typename ... on Error {{ message }} }} }}",
        {"id": global_id},
    )[field]
    assert result["__typename"] == "DeletePayload", result


def test_a_deleted_objects_id_is_never_given_to_the_next_one(api: Api) -> None:
    first, last = create_user(api, "first"), create_user(api, "last")
    delete(api, "DirectoryUser", last)
    assert pk(create_user(api, "next")) > pk(last)

    group = create_group(api, "Temporary", [first])
    delete(api, "DirectoryGroup", group)
    assert pk(create_group(api, "Replacement", [])) > pk(group)

    conn = create_connection(api)
    delete(api, "ProvisioningConnection", conn)
    again = create_connection(api)
    assert pk(again) > pk(conn)
    # The old global id names nothing now, not the new object.
    node = api("query($id: ID!) { node(id: $id) { id } }", {"id": conn})["node"]
    assert node is None


def test_deleting_a_group_takes_it_out_of_the_rules_that_named_it(api: Api) -> None:
    store = f"groups-{time.monotonic_ns()}"
    conn = create_connection(api, store=store)
    member = create_user(api, "member")
    kept = create_group(api, "Kept", [member])
    doomed = create_group(api, "Doomed", [member])
    rule = create_rule(api, conn, enabled=True, groupIds=[kept, doomed])
    assert rule["__typename"] == "Rule", rule
    api.wait_idle(rule["id"])
    assert rule_view(api, rule["id"])["summary"]["groups"]["success"] == 2

    delete(api, "DirectoryGroup", doomed)
    newcomer = create_group(api, "Unrelated", [member])
    assert pk(newcomer) != pk(doomed)
    query = """query($id: ID!) { rule(id: $id) { groupIds
      summary { groups { impacted success } }
      auditLog(first: 30) { edges { node { operation message actor } } } } }"""
    deadline = time.monotonic() + 10
    while (view := api(query, {"id": rule["id"]})["rule"])["summary"]["groups"]["impacted"] != 1:
        assert time.monotonic() < deadline, view
        time.sleep(0.05)
    assert view["groupIds"] == [kept]
    assert view["summary"]["groups"] == {"impacted": 1, "success": 1}
    updates = [
        e["node"]
        for e in view["auditLog"]["edges"]
        if e["node"]["operation"] == "UPDATE_RULE" and "Doomed" in (e["node"]["message"] or "")
    ]
    assert len(updates) == 1 and "deleted" in updates[0]["message"]
    # The group's copy at the target was deprovisioned (disabled, the rule's default).
    assert TARGETS[store][f"g-{pk(doomed)}"].get("active") is False
    assert TARGETS[store][f"g-{pk(kept)}"].get("active", True) is True


def test_the_migration_keeps_rows_and_ends_id_reuse_in_an_existing_sqlite_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "before.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0005")
    with sqlite3.connect(path) as db:
        for name in ("a", "b", "c"):
            db.execute(
                "INSERT INTO directory_user (user_name, active, created_at, updated_at)"
                " VALUES (?, 1, '2026-01-01', '2026-01-01')",
                (name,),
            )
        db.execute(
            "INSERT INTO directory_group (display_name, created_at, updated_at)"
            " VALUES ('g', '2026-01-01', '2026-01-01')"
        )
        db.execute("INSERT INTO group_membership (group_id, user_id) VALUES (1, 2)")
    upgrade(url)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys=ON")
        # The rows, and the memberships that point at them, came through the table rebuild.
        assert db.execute("SELECT group_id, user_id FROM group_membership").fetchall() == [(1, 2)]
        db.execute("DELETE FROM directory_user WHERE id = 3")
        db.execute(
            "INSERT INTO directory_user (user_name, active, created_at, updated_at)"
            " VALUES ('d', 1, '2026-01-01', '2026-01-01')"
        )
        assert db.execute("SELECT id FROM directory_user WHERE user_name = 'd'").fetchone() == (4,)
