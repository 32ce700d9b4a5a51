"""updateRule(..., dryRun: true) over HTTP against scim2-server: a change that narrows the
scope reports exactly the disables the real change then makes, saves nothing, and is
judged by deletion protection."""

from __future__ import annotations

from typing import Any

from tests.gql.test_mappings import expression, field, target_users
from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user, full_resync

UPDATE = """mutation($input: UpdateRuleInput!) { updateRule(input: $input) {
  __typename
  ... on Rule { id userFilter }
  ... on RuleChangePreview {
    run { id status kind }
    counts { action count }
    held
    first { action items { entityKey displayName action state reason
                           differences { attribute sourceValue targetValue } } }
  }
  ... on ValidationError { message fields { field message } } } }"""


def update(api: Api, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = api(UPDATE, {"input": fields})["updateRule"]
    return result


def counts(preview: dict[str, Any]) -> dict[str, int]:
    return {c["action"]: c["count"] for c in preview["counts"]}


def first(preview: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return next((f["items"] for f in preview["first"] if f["action"] == action), [])


def test_a_dry_run_reports_exactly_the_disables_the_change_makes(
    api: Api, scim_base: str
) -> None:
    conn = create_connection(api, "scim", base_url=scim_base)
    for name, department in (("e1", "Eng"), ("e2", "Eng"), ("e3", "Eng"), ("s1", "Sales"),
                             ("s2", "Sales")):  # fmt: skip
        create_user(api, name, department=department, title="Staff")
    rule = create_rule(api, conn, name="everyone", enabled=True)["id"]
    api.wait_idle(rule)
    assert all(u["active"] for u in target_users(scim_base).values())

    narrowed = update(api, id=rule, userFilter='department eq "Eng"', dryRun=True)
    assert narrowed["__typename"] == "RuleChangePreview", narrowed
    assert narrowed["run"]["kind"] == "PREVIEW" and narrowed["run"]["status"] == "SUCCEEDED"
    assert counts(narrowed) == {"DISABLE": 2, "NONE": 3}
    assert narrowed["held"] == 0
    would_disable = {i["displayName"] for i in first(narrowed, "DISABLE")}
    assert would_disable == {"s1", "s2"}
    # Nothing saved, nothing written.
    view = api("query($id: ID!) { rule(id: $id) { userFilter } }", {"id": rule})["rule"]
    assert view["userFilter"] is None
    assert all(u["active"] for u in target_users(scim_base).values())

    # With a mapping change too: the updates it would make, with their differences.
    remapped = update(
        api, id=rule, dryRun=True,
        mappings=[field("userName"), field("active"), expression("title", "upper(title)")],
    )  # fmt: skip
    assert counts(remapped) == {"UPDATE": 5}
    diff = first(remapped, "UPDATE")[0]["differences"]
    assert diff == [{"attribute": "title", "sourceValue": "STAFF", "targetValue": "Staff"}]

    # Deletion protection judges the change: it would hold both disables.
    guarded = update(
        api, id=rule, userFilter='department eq "Eng"', deletionProtection={"maxCount": 1},
        dryRun=True,
    )  # fmt: skip
    assert guarded["held"] == 2
    assert all(i["reason"].startswith("would be held by deletion protection")
               for i in first(guarded, "DISABLE"))  # fmt: skip

    # The real change then disables exactly those.
    saved = update(api, id=rule, userFilter='department eq "Eng"')
    assert saved["__typename"] == "Rule" and saved["userFilter"] == 'department eq "Eng"'
    run = full_resync(api, rule)
    assert run["__typename"] == "SyncRun", run
    assert api.wait_run(run["id"])["status"] == "SUCCEEDED"
    disabled = {name for name, u in target_users(scim_base).items() if not u["active"]}
    assert disabled == would_disable


def test_a_dry_run_with_invalid_changes_is_refused(api: Api, scim_base: str) -> None:
    conn = create_connection(api, "scim", base_url=scim_base)
    rule = create_rule(api, conn, name="r")["id"]
    refused = update(api, id=rule, userFilter="department eq", dryRun=True)
    assert refused["__typename"] == "ValidationError"
    assert "userFilter" in {f["field"] for f in refused["fields"]}
    runs = api("query($id: ID!) { rule(id: $id) { runs(first: 5) { totalCount } } }", {"id": rule})
    assert runs["rule"]["runs"]["totalCount"] == 0  # refused before any preview ran
