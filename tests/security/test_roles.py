"""Every mutation and subscription under each role and without credentials.

The matrix is built from the schema, so a mutation added without a role check (or without a
row in ``REQUIRED``) fails here.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
)

from gql.schema import schema
from gql.security.roles import Principal, Role
from tests.security.support import ROLES, SecureServer, gid

REQUIRED: dict[str, str] = {
    "fullResync": "operator",
    "setRuleEnabled": "operator",
    "createDirectoryUser": "operator",
    "updateDirectoryUser": "operator",
    "deleteDirectoryUser": "operator",
    "createDirectoryGroup": "operator",
    "updateDirectoryGroup": "operator",
    "deleteDirectoryGroup": "operator",
    "previewFullResync": "operator",
    "provisionOnDemand": "operator",
    "releaseHeldOperations": "operator",
    "discardHeldOperations": "operator",
    "testProvisioningConnection": "admin",
    "createRule": "admin",
    "updateRule": "admin",
    "deleteRule": "admin",
    "createProvisioningConnection": "admin",
    "updateProvisioningConnection": "admin",
    "deleteProvisioningConnection": "admin",
    "createWebhookSubscription": "admin",
    "updateWebhookSubscription": "admin",
    "deleteWebhookSubscription": "admin",
}
SUBSCRIPTIONS_REQUIRED: dict[str, str] = {"syncRunProgress": "viewer"}
GRAPHQL = schema._schema
MUTATIONS = sorted(GRAPHQL.mutation_type.fields) if GRAPHQL.mutation_type else []


def sample(type_: GraphQLInputType, name: str) -> Any:
    """A value of ``type_`` naming nothing that exists (ids point at missing objects)."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type, name)
    if isinstance(type_, GraphQLList):
        return []
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            field_name: sample(field.type, field_name)
            for field_name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        }
    assert isinstance(type_, GraphQLScalarType)
    return {
        "ID": gid("Rule", 987654),
        "String": f"probe-{name}",
        "Int": 1,
        "Boolean": True,
        "JSON": {},
    }.get(type_.name, "x")


def call(field_name: str) -> tuple[str, dict[str, Any]]:
    assert GRAPHQL.mutation_type is not None
    field = GRAPHQL.mutation_type.fields[field_name]
    params = ", ".join(f"${n}: {a.type}" for n, a in field.args.items())
    args = ", ".join(f"{n}: ${n}" for n in field.args)
    query = (
        f"mutation{f'({params})' if params else ''} {{ r: {field_name}"
        f"{f'({args})' if args else ''} {{ __typename ... on Error {{ code message }} }} }}"
    )
    return query, {
        n: sample(a.type, n) for n, a in field.args.items() if isinstance(a.type, GraphQLNonNull)
    }


def written(server: SecureServer) -> dict[str, int]:
    tables = (
        "rule",
        "provisioning_connection",
        "directory_user",
        "directory_group",
        "group_membership",
        "audit_event",
        "sync_run",
        "api_token",
        "webhook_subscription",
    )
    return {t: server.query_db(f"SELECT count(*) FROM {t}")[0][0] for t in tables}


def test_every_mutation_has_a_required_role() -> None:
    assert set(MUTATIONS) == set(REQUIRED), "add the new mutation to REQUIRED (and check its role)"
    assert GRAPHQL.subscription_type is not None
    assert set(GRAPHQL.subscription_type.fields) == set(SUBSCRIPTIONS_REQUIRED)


@pytest.mark.parametrize("field_name", MUTATIONS)
def test_every_mutation_answers_forbidden_error_in_its_union(field_name: str) -> None:
    assert GRAPHQL.mutation_type is not None
    result = get_named_type(GRAPHQL.mutation_type.fields[field_name].type)
    assert isinstance(result, GraphQLUnionType)
    assert "ForbiddenError" in {t.name for t in result.types}


@pytest.mark.parametrize("field_name", MUTATIONS)
def test_mutation_under_each_role(server: SecureServer, field_name: str) -> None:
    query, variables = call(field_name)
    anonymous = httpx.post(
        f"{server.base_url}/graphql", json={"query": query, "variables": variables}
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    needed = Role[REQUIRED[field_name].upper()]
    for role in ROLES:
        api = server.client(role)
        before = written(server)
        result = api(query, variables)["r"]
        if Role[role.upper()] < needed:
            assert result == {
                "__typename": "ForbiddenError",
                "code": "FORBIDDEN",
                "message": f"this needs the {needed.name.lower()} role",
            }, (field_name, role, result)
            assert written(server) == before, f"{field_name} as {role} wrote something"
        else:
            assert result["__typename"] != "ForbiddenError", (field_name, role, result)


def test_forbidden_reveals_nothing_about_existence(server: SecureServer) -> None:
    viewer = server.client("viewer")
    admin = server.client("admin")
    conn = admin(
        """mutation { r: createProvisioningConnection(input: {name: "exists", connectorType: "memory",
             settings: {store: "exists"}}) { __typename ... on ProvisioningConnection { id } } }"""
    )["r"]["id"]
    query = "mutation($id: ID!) { r: deleteProvisioningConnection(id: $id) { __typename ... on Error { code message } } }"
    present = viewer(query, {"id": conn})["r"]
    missing = viewer(query, {"id": gid("ProvisioningConnection", 99999)})["r"]
    malformed = viewer(query, {"id": gid("Nope", 1)})["r"]
    assert present == missing == malformed
    assert present["__typename"] == "ForbiddenError"


def test_viewer_reads_everything(server: SecureServer) -> None:
    viewer = server.client("viewer")
    data = viewer("""{ rules { totalCount } provisioningConnections { totalCount edges { node { name secretsSet } } }
                       directoryUsers { totalCount } directoryGroups { totalCount } connectorTypes { name } }""")
    assert data["rules"]["totalCount"] >= 0


def test_admin_actions_are_audited_with_the_actor(server: SecureServer) -> None:
    admin = server.client("admin")
    operator = server.client("operator")
    conn = admin(
        """mutation { r: createProvisioningConnection(input: {name: "audited", connectorType: "memory",
             settings: {store: "audited"}}) { __typename ... on ProvisioningConnection { id } } }"""
    )["r"]["id"]
    rule = admin(
        """mutation($c: ID!) { r: createRule(input: {name: "audited", connectionId: $c, direction: OUTBOUND}) {
             __typename ... on Rule { id } } }""",
        {"c": conn},
    )["r"]["id"]
    operator(
        "mutation($r: ID!) { r: setRuleEnabled(ruleId: $r, enabled: true) { __typename } }",
        {"r": rule},
    )
    operator("mutation($r: ID!) { r: fullResync(ruleId: $r) { __typename } }", {"r": rule})
    operator(
        "mutation($r: ID!) { r: setRuleEnabled(ruleId: $r, enabled: false) { __typename } }",
        {"r": rule},
    )
    rows = server.query_db("SELECT operation, actor FROM audit_event WHERE entity_key IS NULL")
    seen = {(op, actor) for op, actor in rows}
    assert ("CREATE_CONNECTION", "token:admin-token") in seen
    assert ("CREATE_RULE", "token:admin-token") in seen
    assert ("ENABLE_RULE", "token:operator-token") in seen
    assert ("DISABLE_RULE", "token:operator-token") in seen
    assert ("FULL_RESYNC", "token:operator-token") in seen
    assert ("CREATE_TOKEN", "test") in seen


# subscriptions ------------------------------------------------------------------------------


async def _ws(base_url: str, payload: dict[str, Any] | None, run_id: str) -> list[dict[str, Any]]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    messages: list[dict[str, Any]] = []
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await ws.send(json.dumps(init))
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        except websockets.ConnectionClosed as closed:
            return [{"type": "closed", "code": closed.rcvd.code if closed.rcvd else None}]
        messages.append(first)
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription($id: ID!) { syncRunProgress(runId: $id) { id status } }",
                        "variables": {"id": run_id},
                    },
                }
            )
        )
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            messages.append(message)
            if message["type"] in ("complete", "error"):
                return messages


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"Authorization": "Bearer psy_not-a-token"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
    ],
)
def test_unauthenticated_websocket_is_refused_at_connection_init(
    server: SecureServer, payload: dict[str, Any] | None
) -> None:
    messages = asyncio.run(_ws(server.base_url, payload, gid("SyncRun", 1)))
    assert messages == [{"type": "closed", "code": 4403}]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_follow_a_run(server: SecureServer, role: str) -> None:
    payload = {"Authorization": f"Bearer {server.tokens[role]}"}
    messages = asyncio.run(_ws(server.base_url, payload, gid("SyncRun", 424242)))
    assert messages[0]["type"] == "connection_ack"
    errors = [
        error
        for m in messages[1:]
        if m["type"] in ("error", "next")
        for error in (m["payload"] if m["type"] == "error" else m["payload"].get("errors") or [])
    ]
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"], messages


def test_subscription_checks_the_role_before_looking_up(module_database_url: str) -> None:
    """A caller without a role (no transport lets one through) is refused before any lookup."""
    from gql.context import Context
    from gql.services import Services
    from tests.security.support import make_settings

    async def run() -> Any:
        services = Services.build(make_settings(module_database_url))
        try:
            context = Context(services=services, principal=Principal("nobody", None))
            result = await schema.subscribe(
                "subscription($id: ID!) { syncRunProgress(runId: $id) { id } }",
                variable_values={"id": gid("SyncRun", 1)},
                context_value=context,
            )
            if hasattr(result, "__aiter__"):
                return [item async for item in result]
            return [result]
        finally:
            await services.db.dispose()

    results = asyncio.run(run())
    errors = [e for r in results for e in (r.errors or [])]
    assert errors and errors[0].extensions["code"] == "FORBIDDEN"
    assert Role.VIEWER  # every real role may subscribe; only a role-less caller is refused
