"""Extension attributes: set through the directory mutations, read in GraphQL, used by a
scope filter against scim2-server, and imported from the Workday simulator over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from provisync_workday.simulator import SimulatedTenant, build_simulator_app
from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user, full_resync
from tests.support.servers import serve_asgi

USER_FIELDS = "id userName extensionAttributes"
UPDATE = """mutation($id: ID!, $input: DirectoryUserInput!) { updateDirectoryUser(id: $id, input: $input) {
  __typename ... on DirectoryUser { id extensionAttributes }
  ... on ValidationError { message fields { field message } } } }"""


def user(api: Api, user_id: str) -> dict[str, Any]:
    node: dict[str, Any] = api(
        "query($id: ID!) { node(id: $id) { ... on DirectoryUser { " + USER_FIELDS + " } } }",
        {"id": user_id},
    )["node"]
    return node


def test_extension_attributes_are_set_merged_removed_and_validated(api: Api) -> None:
    ada = create_user(api, "ada", extensionAttributes={"costCenter": "C-100", "site": "Berlin"})
    assert user(api, ada)["extensionAttributes"] == {"costCenter": "C-100", "site": "Berlin"}
    changed = api(UPDATE, {"id": ada, "input": {"extensionAttributes": {"site": None, "level": 3}}})
    assert changed["updateDirectoryUser"]["extensionAttributes"] == {
        "costCenter": "C-100",
        "level": 3,
    }
    refused = api(
        UPDATE,
        {"id": ada, "input": {"title": "Boss", "extensionAttributes": {"bad name": "x", "ok": {}}}},
    )["updateDirectoryUser"]
    assert refused["__typename"] == "ValidationError"
    fields = {f["field"] for f in refused["fields"]}
    assert fields == {"extensionAttributes.bad name", "extensionAttributes.ok"}
    stored = api(
        "query($id: ID!) { node(id: $id) { ... on DirectoryUser { title extensionAttributes } } }",
        {"id": ada},
    )["node"]
    assert stored == {"title": None, "extensionAttributes": {"costCenter": "C-100", "level": 3}}

    group = api(
        """mutation { createDirectoryGroup(input: {displayName: "Ops",
             extensionAttributes: {site: "Paris"}}) {
             ... on DirectoryGroup { id extensionAttributes } } }"""
    )["createDirectoryGroup"]
    assert group["extensionAttributes"] == {"site": "Paris"}


def test_scope_filter_reads_extension_attributes(api: Api, scim_base: str) -> None:
    conn = create_connection(api, "scim", base_url=scim_base)
    create_user(api, "in-a", extensionAttributes={"costCenter": "C-100"})
    create_user(api, "out-b", extensionAttributes={"costCenter": "C-200"})
    create_user(api, "out-c")
    rule = create_rule(
        api, conn, name="C-100 only", userFilter='ext.costCenter eq "C-100"', enabled=True
    )
    assert rule["__typename"] == "Rule", rule
    api.wait_idle(rule["id"])
    names = {
        u["userName"]
        for u in httpx.get(f"{scim_base}/Users", params={"count": 100}).json().get("Resources", [])
    }
    assert names == {"in-a"}
    bad = create_rule(api, conn, name="bad", userFilter="ext.a.b eq 1")
    assert bad["__typename"] == "ValidationError"


USER, PASSWORD = "isu_provisync", "Workday-secret-1"


def test_workday_extension_fields_are_imported_updated_and_cleared(api: Api) -> None:
    tenant = SimulatedTenant("acme", {USER: PASSWORD})
    boss = tenant.hire("Bo", "Ss", user_name="boss", hire_date=date(2020, 1, 1))
    worker = tenant.hire(
        "Ann",
        "Lee",
        user_name="ann",
        hire_date=date(2021, 3, 4),
        manager_id=boss.employee_id,
        location="Berlin",
        cost_center="CC-7",
        worker_type="Contractor",
    )
    with serve_asgi(build_simulator_app(tenant)) as url:
        fields = {
            "site": "location",
            "costCenter": "costCenter",
            "hired": "hireDate",
            "kind": "workerType",
            "managerId": "managerId",
        }
        conn = create_connection(
            api,
            "workday",
            base_url=url,
            tenant="acme",
            username=USER,
            extension_fields=fields,
            secrets={"password": PASSWORD},
        )
        rule = create_rule(api, conn, name="from Workday", direction="INBOUND", enabled=True)
        api.wait_idle(rule["id"])
        assert rule["__typename"] == "Rule", rule

        def imported() -> dict[str, Any]:
            run = full_resync(api, rule["id"])
            assert api.wait_run(run["id"])["status"] == "SUCCEEDED"
            users = api("{ directoryUsers(first: 50) { edges { node { userName extensionAttributes } } } }")
            return {
                e["node"]["userName"]: e["node"]["extensionAttributes"]
                for e in users["directoryUsers"]["edges"]
            }

        assert imported()["ann"] == {
            "site": "Berlin",
            "costCenter": "CC-7",
            "hired": "2021-03-04",
            "kind": "Contractor",
            "managerId": boss.employee_id,
        }
        tenant.change(worker.wid, location="Paris", cost_center=None)
        assert imported()["ann"] == {
            "site": "Paris",
            "hired": "2021-03-04",
            "kind": "Contractor",
            "managerId": boss.employee_id,
        }
        refused = api(
            """mutation($i: CreateProvisioningConnectionInput!) { createProvisioningConnection(input: $i) {
                 __typename ... on Error { message } } }""",
            {
                "i": {
                    "name": "bad fields",
                    "connectorType": "workday",
                    "settings": {
                        "base_url": url,
                        "tenant": "acme",
                        "username": USER,
                        "extension_fields": {"site": "wd:Employment_Data[["},
                    },
                    "secrets": {"password": PASSWORD},
                }
            },
        )["createProvisioningConnection"]
        assert refused["__typename"] == "ValidationError", refused
