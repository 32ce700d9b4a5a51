"""Targets declare what they accept: the SCIM connector writes the enterprise extension and a
custom schema extension that scim2-server declares in /Schemas, and the host refuses mappings
onto attributes the target does not have. Over HTTP end to end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from provisync.demo.scim_target import build_scim_target_app
from tests.gql.test_mappings import ENTERPRISE, expression, field, target_users
from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user, states
from tests.support.servers import serve_asgi

BADGE = "urn:example:params:scim:schemas:extension:badge:2.0:User"
BADGE_SCHEMA = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
    "id": BADGE,
    "name": "Badge",
    "description": "Building badges",
    "meta": {"resourceType": "Schema", "location": f"/v2/Schemas/{BADGE}"},
    "attributes": [
        {"name": "badgeId", "type": "string", "multiValued": False, "required": False,
         "mutability": "readWrite", "returned": "default", "uniqueness": "none"},
        {"name": "clearance", "type": "integer", "multiValued": False, "required": False,
         "mutability": "readWrite", "returned": "default", "uniqueness": "none"},
    ],
}  # fmt: skip
UPDATE_USER = """mutation($id: ID!, $input: DirectoryUserInput!) {
  updateDirectoryUser(id: $id, input: $input) { __typename } }"""
MAPPINGS = [
    field("userName"),
    field("active"),
    field("costCenter", "ext.costCenter"),
    {"target": "organization", "source": "CONSTANT", "value": "Acme"},
    expression("division", "upper(department)"),
    expression(f"{BADGE}:badgeId", 'coalesce(ext.badge, "none")'),
    field(f"{BADGE}:clearance", "ext.level"),
]


@pytest.fixture
def badge_scim() -> Iterator[str]:
    with serve_asgi(build_scim_target_app(user_extensions=[BADGE_SCHEMA])) as url:
        yield f"{url}/v2"


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_enterprise_and_custom_attributes_round_trip(api: Api, badge_scim: str) -> None:
    conn = create_connection(api, "scim", base_url=badge_scim)
    ada = create_user(
        api,
        "ada",
        department="Research",
        extensionAttributes={"costCenter": "CC-1", "badge": "B-7", "level": 3},
    )
    rule = create_rule(api, conn, name="extensions", enabled=True, mappings=MAPPINGS)
    assert rule["__typename"] == "Rule", rule
    api.wait_idle(rule["id"])
    account = target_users(badge_scim)["ada"]
    assert account[ENTERPRISE] == {
        "costCenter": "CC-1",
        "organization": "Acme",
        "division": "RESEARCH",
    }
    assert account[BADGE] == {"badgeId": "B-7", "clearance": 3}
    assert set(account["schemas"]) >= {ENTERPRISE, BADGE}

    api(
        UPDATE_USER,
        {
            "id": ada,
            "input": {
                "department": "Sales",
                "extensionAttributes": {"costCenter": None, "badge": None, "level": 4},
            },
        },
    )
    wait_for(lambda: target_users(badge_scim)["ada"][BADGE].get("badgeId") == "none")
    api.wait_idle(rule["id"])
    account = target_users(badge_scim)["ada"]
    assert account[ENTERPRISE] == {"organization": "Acme", "division": "SALES"}
    assert account[BADGE] == {"badgeId": "none", "clearance": 4}
    assert [s["state"] for s in states(api, rule["id"])] == ["SUCCESS"]


def test_mappings_onto_attributes_the_target_lacks_are_refused(
    api: Api, badge_scim: str, scim_base: str
) -> None:
    conn = create_connection(api, "scim", base_url=badge_scim)
    refused = create_rule(
        api, conn, name="typo", mappings=[field("userName"), field(f"{BADGE}:badgeNo", "email")]
    )
    assert refused["__typename"] == "ValidationError", refused
    (problem,) = refused["fields"]
    assert problem["field"] == "mappings[1].target"
    assert "the target's schema has no attribute" in problem["message"]
    assert f"{BADGE}:badgeId" in problem["message"]

    plain = create_connection(api, "scim", base_url=scim_base)  # serves no badge extension
    refused = create_rule(api, plain, name="no badge", mappings=[field(f"{BADGE}:badgeId", "email")])
    assert refused["__typename"] == "ValidationError", refused

    memory = create_connection(api, "memory")
    refused = create_rule(api, memory, name="memory", mappings=[field("costCenter", "email")])
    assert refused["__typename"] == "ValidationError"
    assert "does not accept 'costCenter'" in refused["fields"][0]["message"]

    types = api("{ connectorTypes { name targetAttributes { name } customTargetPattern } }")
    scim = next(t for t in types["connectorTypes"] if t["name"] == "scim")
    assert {t["name"] for t in scim["targetAttributes"]} == {"costCenter", "organization", "division"}
    assert scim["customTargetPattern"].startswith("(urn:")
