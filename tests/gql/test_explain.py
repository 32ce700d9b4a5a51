"""explainEntity over HTTP against scim2-server: a user in each state and each skip reason,
read-only (no account, state or audit event changes)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from provisync.demo.scim_target import build_scim_target_app, seed_existing_account
from tests.gql.test_mappings import expression, field, target_users
from tests.support.api import Api
from tests.support.scenario import create_connection, create_group, create_rule, create_user
from tests.support.servers import serve_asgi

EXPLAIN = """query($rule: ID!, $user: ID, $group: ID) {
  explainEntity(ruleId: $rule, userId: $user, groupId: $group) {
    __typename
    ... on EntityExplanation {
      kind entityKey displayName exists action why notes
      scope { filter inScope clauses { clause attribute value result } }
      mapping { target value error inputs }
      match { attempts { attribute value } targetId }
      comparison { attribute sourceValue targetValue }
      lastRun { state action reason targetId trail }
    }
    ... on Error { message code } } }"""
UPDATE_USER = """mutation($id: ID!, $input: DirectoryUserInput!) {
  updateDirectoryUser(id: $id, input: $input) { __typename } }"""
AUDIT = "query($id: ID!) { rule(id: $id) { auditLog(first: 1) { totalCount } } }"


def explain(api: Api, rule: str, **entity: str) -> dict[str, Any]:
    found: dict[str, Any] = api(EXPLAIN, {"rule": rule, **entity})["explainEntity"]
    assert found["__typename"] == "EntityExplanation", found
    return found


def audit_count(api: Api, rule: str) -> int:
    return int(api(AUDIT, {"id": rule})["rule"]["auditLog"]["totalCount"])


def test_explain_a_user_in_each_state_and_each_skip_reason(api: Api) -> None:
    target = build_scim_target_app(reject_user_names={"reserved"})
    with serve_asgi(target) as url:
        base = f"{url}/v2"
        conn = create_connection(api, "scim", base_url=base)
        ada = create_user(api, "ada", department="Eng", title="Engineer")
        bob = create_user(api, "bob", department="Sales")
        carol = create_user(api, "carol", department="Eng")
        reserved = create_user(api, "reserved", department="Eng")
        group = create_group(api, "Engineers", [ada, carol])
        rule = create_rule(
            api, conn, name="Eng to SCIM", enabled=True, userFilter='department eq "Eng"',
            groupIds=[group], deletionProtection={"maxCount": 0},
        )["id"]  # fmt: skip
        api.wait_idle(rule)

        # SUCCESS: the target holds every desired value.
        found = explain(api, rule, user=ada)
        assert found["action"] == "NONE", found
        assert found["why"] == "the target already holds every desired value"
        assert found["scope"] == {
            "filter": 'department eq "Eng"',
            "inScope": True,
            "clauses": [
                {"clause": 'department eq "Eng"', "attribute": "department", "value": "Eng",
                 "result": True}
            ],
        }  # fmt: skip
        assert found["lastRun"]["state"] == "SUCCESS"
        account_id = target_users(base)["ada"]["id"]
        assert found["match"] == {
            "attempts": [{"attribute": "userName", "value": "ada"}],
            "targetId": account_id,
        }
        assert found["lastRun"]["trail"][:2] == ["in scope", f"account {account_id} at the target"]
        mapped = {m["target"]: m for m in found["mapping"]}
        assert mapped["title"]["value"] == "Engineer"
        assert mapped["title"]["inputs"] == {"title": "Engineer"}

        # Changed at the target: the next sync would update, and says what from what.
        httpx.patch(
            f"{base}/Users/{account_id}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "Intern"}],
            },
        ).raise_for_status()
        before = audit_count(api, rule)
        found = explain(api, rule, user=ada)
        assert found["action"] == "UPDATE"
        assert found["comparison"] == [
            {"attribute": "title", "sourceValue": "Engineer", "targetValue": "Intern"}
        ]
        assert target_users(base)["ada"]["title"] == "Intern"  # explained, not written
        assert audit_count(api, rule) == before

        # FAILED: the target refused the account; the next sync would try to create it again.
        found = explain(api, rule, user=reserved)
        assert found["lastRun"]["state"] == "FAILED"
        assert "refused" in found["lastRun"]["reason"]
        assert found["action"] == "CREATE"

        # Out of scope, never provisioned.
        found = explain(api, rule, user=bob)
        assert found["action"] == "SKIP"
        assert found["why"] == "skipped: out of scope (the rule never provisioned it)"
        assert found["scope"]["clauses"][0]["value"] == "Sales"
        assert found["scope"]["clauses"][0]["result"] is False
        assert found["lastRun"] is None

        # Left the scope while deletion protection holds every disable.
        api(UPDATE_USER, {"id": carol, "input": {"department": "Ops"}})
        api.wait_idle(rule)
        run = api("mutation($id: ID!) { fullResync(ruleId: $id) { __typename ... on SyncRun { id } } }",
                  {"id": rule})["fullResync"]  # fmt: skip
        assert run["__typename"] == "SyncRun", run
        api.wait_run(run["id"])
        found = explain(api, rule, user=carol)
        assert found["action"] == "HOLD", found
        assert found["why"].startswith("held: deletion protection")
        assert target_users(base)["carol"]["active"] is True

        # A group of the rule.
        found = explain(api, rule, group=group)
        assert found["kind"] == "GROUP"
        assert found["lastRun"]["state"] == "SUCCESS"
        assert found["action"] in ("NONE", "UPDATE")


def test_explain_partial_unsynced_create_disabled_and_failed_mapping(api: Api) -> None:
    target = build_scim_target_app()
    asyncio.run(seed_existing_account(target, "legacy", title="Contractor"))  # type: ignore[arg-type]
    with serve_asgi(target) as url:
        base = f"{url}/v2"
        conn = create_connection(
            api, "scim", base_url=base, create_enabled=False, update_enabled=False
        )
        legacy = create_user(api, "legacy", title="Engineer")
        newbie = create_user(api, "newbie", title="Engineer")
        rule = create_rule(api, conn, name="careful", enabled=True)["id"]
        api.wait_idle(rule)

        found = explain(api, rule, user=legacy)
        assert found["lastRun"]["state"] == "PARTIAL"
        assert "differs: title" in found["lastRun"]["trail"]
        assert {"attribute": "title", "sourceValue": "Engineer", "targetValue": "Contractor"} in (
            found["comparison"]
        )

        found = explain(api, rule, user=newbie)
        assert found["lastRun"]["state"] == "UNSYNCED"
        assert found["why"].startswith("skipped: create disabled")
        assert set(target_users(base)) == {"legacy"}

        strict = create_rule(
            api, conn, name="strict",
            mappings=[field("userName"), expression("displayName", 'givenName + "!"')],
        )["id"]  # fmt: skip
        found = explain(api, strict, user=newbie)
        assert found["action"] == "FAIL"
        assert found["why"].startswith("mapping failed: displayName:")
        assert "the rule is disabled: nothing runs until it is enabled" in found["notes"]

        refused = api(EXPLAIN, {"rule": rule, "user": newbie, "group": newbie})["explainEntity"]
        assert refused["__typename"] == "ValidationError"
