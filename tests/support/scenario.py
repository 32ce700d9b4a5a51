"""GraphQL building blocks for scenarios: connections, rules, users, and invariant checks."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.api import RUN_FIELDS, Api

SUMMARY = """
  id name enabled status direction lastSync lastRunError
  source { name kind } target { name kind }
  summary { lastSync
    users { impacted success unsynced partialSynced failed writeBackFailures }
    groups { impacted success unsynced partialSynced failed writeBackFailures } }
"""


def create_connection(api: Api, connector_type: str = "memory", **settings: Any) -> str:
    secrets = settings.pop("secrets", {})
    name = settings.pop("name", f"conn-{uuid.uuid4().hex[:8]}")
    if connector_type == "memory":
        settings.setdefault("store", uuid.uuid4().hex)
    data = api(
        """mutation($input: CreateProvisioningConnectionInput!) {
             createProvisioningConnection(input: $input) {
               __typename ... on ProvisioningConnection { id } ... on Error { message code } } }""",
        {
            "input": {
                "name": name,
                "connectorType": connector_type,
                "settings": settings,
                "secrets": secrets,
            }
        },
    )["createProvisioningConnection"]
    assert data["__typename"] == "ProvisioningConnection", data
    return str(data["id"])


def create_user(api: Api, user_name: str, **fields: Any) -> str:
    data = api(
        """mutation($input: DirectoryUserInput!) { createDirectoryUser(input: $input) {
             __typename ... on DirectoryUser { id } ... on Error { message code } } }""",
        {"input": {"userName": user_name, **fields}},
    )["createDirectoryUser"]
    assert data["__typename"] == "DirectoryUser", data
    return str(data["id"])


def create_group(api: Api, name: str, member_ids: list[str]) -> str:
    data = api(
        """mutation($input: DirectoryGroupInput!) { createDirectoryGroup(input: $input) {
             __typename ... on DirectoryGroup { id } ... on Error { message code } } }""",
        {"input": {"displayName": name, "memberIds": member_ids}},
    )["createDirectoryGroup"]
    assert data["__typename"] == "DirectoryGroup", data
    return str(data["id"])


def create_rule(api: Api, connection_id: str, **fields: Any) -> dict[str, Any]:
    payload = {
        "name": fields.pop("name", "rule"),
        "connectionId": connection_id,
        "direction": fields.pop("direction", "OUTBOUND"),
        **fields,
    }
    return api(
        """mutation($input: CreateRuleInput!) { createRule(input: $input) {
             __typename ... on Rule { id enabled } ... on Error { message code }
             ... on ValidationError { fields { field message } } } }""",
        {"input": payload},
    )["createRule"]


def full_resync(api: Api, rule_id: str) -> dict[str, Any]:
    return api(
        "mutation($id: ID!) { fullResync(ruleId: $id) { __typename ... on SyncRun { "
        + RUN_FIELDS
        + " } ... on Error { message code } } }",
        {"id": rule_id},
    )["fullResync"]


def rule_view(api: Api, rule_id: str) -> dict[str, Any]:
    return api("query($id: ID!) { rule(id: $id) { " + SUMMARY + " } }", {"id": rule_id})["rule"]


def states(api: Api, rule_id: str, **filters: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        data = api(
            """query($id: ID!, $kind: EntityKind, $state: EntitySyncState, $after: String) {
                 rule(id: $id) { entityStates(kind: $kind, state: $state, first: 100, after: $after) {
                   totalCount pageInfo { hasNextPage endCursor }
                   edges { node { id kind entityKey displayName state lastAction reason targetId
                     differences { attribute sourceValue targetValue } writeBack { ok reason }
                     retry { attempts } } } } } }""",
            {
                "id": rule_id,
                "kind": filters.get("kind"),
                "state": filters.get("state"),
                "after": after,
            },
        )["rule"]["entityStates"]
        out += [e["node"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return out
        after = data["pageInfo"]["endCursor"]


def assert_invariants(api: Api, rule_id: str) -> dict[str, Any]:
    """DESIGN.md's invariants, checked through the API only."""
    rule = rule_view(api, rule_id)
    if not rule["enabled"]:
        assert rule["summary"] is None and rule["status"] == "INACTIVE"
        return rule
    assert rule["status"] == ("FAILED" if rule["lastRunError"] else "ACTIVE")
    for kind, key in (("USER", "users"), ("GROUP", "groups")):
        s = rule["summary"][key]
        assert s["impacted"] == s["success"] + s["unsynced"] + s["partialSynced"] + s["failed"], s
        listed = states(api, rule_id, kind=kind)
        assert len(listed) == s["impacted"], (kind, s, len(listed))
        for state in ("SUCCESS", "UNSYNCED", "PARTIAL", "FAILED"):
            field = {
                "SUCCESS": "success",
                "UNSYNCED": "unsynced",
                "PARTIAL": "partialSynced",
                "FAILED": "failed",
            }[state]
            assert sum(1 for n in listed if n["state"] == state) == s[field], (kind, state, s)
        for node in listed:
            if node["state"] in ("FAILED", "PARTIAL"):
                assert node["reason"] or node["differences"], node
            if node["state"] == "PARTIAL":
                assert node["differences"], node
    return rule
