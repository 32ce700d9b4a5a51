"""The truth check for a running provisync: stored states over GraphQL, the target over HTTP.

:func:`stored_entities` reads a rule's entity states and the directory's desired values (users
with every managed attribute, groups with their in-scope members) from the API;
:class:`ScimReader` reads a SCIM target directly (never through the proxy under test);
:func:`assert_rule_truth` runs :func:`provisync_sdk.testing.truth.check_truth` and fails with
the list of disagreements.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from typing import Any

import httpx

from provisync_scim.mapping import MANAGED, member_ids, read
from provisync_sdk import EntityKind, EntityState
from provisync_sdk.testing.truth import (
    StoredEntity,
    TargetAccount,
    TruthReport,
    assert_truth,
    check_truth,
)
from tests.support.api import Api
from tests.support.scenario import rule_view, states

FIELDS = "userName givenName familyName displayName email phone title department employeeId active"
TALLY_FIELDS = {
    EntityState.SUCCESS: "success",
    EntityState.UNSYNCED: "unsynced",
    EntityState.PARTIAL: "partialSynced",
    EntityState.FAILED: "failed",
}


class ScimReader:
    """Reads every user and group of a SCIM target, page by page, over HTTP."""

    def __init__(self, base_url: str, attributes: Sequence[str] = MANAGED) -> None:
        self.base_url = base_url.rstrip("/")
        self.attributes = tuple(attributes)

    async def _all(self, endpoint: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            start = 1
            while True:
                page = (
                    await client.get(endpoint, params={"startIndex": start, "count": 1000})
                ).json()
                resources = page.get("Resources") or []
                out += resources
                start += len(resources)
                if not resources or start > int(page.get("totalResults") or 0):
                    return out

    async def users(self) -> list[TargetAccount]:
        return [
            TargetAccount(
                id=str(r["id"]),
                name=str(r.get("userName") or ""),
                attributes={a: read(r, a) for a in self.attributes},
            )
            for r in await self._all("/Users")
        ]

    async def groups(self) -> list[TargetAccount]:
        return [
            TargetAccount(
                id=str(r["id"]),
                name=str(r.get("displayName") or ""),
                members=frozenset(member_ids(r)),
            )
            for r in await self._all("/Groups")
        ]


def raw_id(global_id: str) -> str:
    """The database id inside a Relay global id (``DirectoryUser:12`` -> ``12``)."""
    return base64.b64decode(global_id).decode().split(":", 1)[1]


def _pages(api: Api, field: str, node: str, group: str | None = None) -> list[dict[str, Any]]:
    """Every node of a top-level connection, or of a group's ``members`` when ``group``."""
    out: list[dict[str, Any]] = []
    after = None
    page = f"(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {node} }} }} }}"
    while True:
        if group is None:
            data = api(f"query($after: String) {{ {field}{page} }}", {"after": after})[field]
        else:
            data = api(
                f"query($id: ID!, $after: String) {{ node(id: $id) {{ ... on DirectoryGroup {{ {field}{page} }} }} }}",
                {"id": group, "after": after},
            )["node"][field]
        out += [e["node"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return out
        after = data["pageInfo"]["endCursor"]


def stored_entities(
    api: Api, rule_id: str, attributes: Sequence[str] = MANAGED
) -> tuple[list[StoredEntity], dict[EntityKind, dict[str, str]]]:
    """The rule's stored states, with the directory's desired values (default mappings), and
    the entities the directory says are impacted (users only when the rule has no filter)."""
    users = {raw_id(u["id"]): u for u in _pages(api, "directoryUsers", "id " + FIELDS)}
    groups = {raw_id(g["id"]): g for g in _pages(api, "directoryGroups", "id displayName")}
    rule = api("query($id: ID!) { rule(id: $id) { userFilter groupIds } }", {"id": rule_id})["rule"]
    impacted: dict[EntityKind, dict[str, str]] = {
        EntityKind.GROUP: {
            raw_id(g): groups[raw_id(g)]["displayName"]
            for g in rule["groupIds"]
            if raw_id(g) in groups
        }
    }
    if not rule["userFilter"]:
        impacted[EntityKind.USER] = {key: u["userName"] for key, u in users.items()}
    rows = states(api, rule_id)
    in_scope = set(impacted.get(EntityKind.USER) or {}) or {
        r["entityKey"] for r in rows if r["kind"] == "USER"
    }
    out = []
    for row in rows:
        kind = EntityKind(row["kind"])
        key = str(row["entityKey"])
        common: dict[str, Any] = {
            "kind": kind,
            "key": key,
            "state": EntityState(row["state"]),
            "reason": row["reason"],
            "target_id": row["targetId"],
            "queued": row.get("retry") is not None,
        }
        if kind is EntityKind.USER:
            user = users.get(key, {})
            out.append(
                StoredEntity(
                    name=str(user.get("userName") or row["displayName"]),
                    desired={a: user.get(a) for a in attributes},
                    **common,
                )
            )
        else:
            group = groups.get(key, {})
            listed = _pages(api, "members", "id", group["id"]) if group else []
            members = {raw_id(m["id"]) for m in listed}
            out.append(
                StoredEntity(
                    name=str(group.get("displayName") or row["displayName"]),
                    members=frozenset(members & in_scope),
                    **common,
                )
            )
    return out, impacted


def tallies(api: Api, rule_id: str) -> dict[EntityKind, dict[EntityState, int]]:
    summary = rule_view(api, rule_id)["summary"]
    return {
        kind: {state: summary[part][name] for state, name in TALLY_FIELDS.items()}
        for kind, part in ((EntityKind.USER, "users"), (EntityKind.GROUP, "groups"))
    }


def rule_truth(api: Api, rule_id: str, target: ScimReader) -> TruthReport:
    """Read both sides and compare them."""
    stored, impacted = stored_entities(api, rule_id, target.attributes)
    counts = tallies(api, rule_id)

    async def read_target() -> tuple[list[TargetAccount], list[TargetAccount]]:
        return await target.users(), await target.groups()

    users, groups = asyncio.run(read_target())
    return check_truth(stored, users, groups, tallies=counts, impacted=impacted)


def assert_rule_truth(api: Api, rule_id: str, target: ScimReader) -> TruthReport:
    """Fail with every disagreement listed unless the rule's states are the truth."""
    report = rule_truth(api, rule_id, target)
    assert_truth(report)
    return report
