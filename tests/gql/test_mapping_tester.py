"""testAttributeMappings over HTTP: per target attribute the value or the error; its answer is
what a resync writes to scim2-server, and it writes nothing itself."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gql.test_mappings import ENTERPRISE, MAPPINGS, expression, field, target_users
from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user

TESTER = """query($rule: ID, $mappings: [AttributeMappingInput!], $user: ID, $sample: JSON) {
  testAttributeMappings(ruleId: $rule, mappings: $mappings, userId: $user,
                        sampleAttributes: $sample) {
    __typename
    ... on AttributeMappingTest { results { target source applies mapping value error inputs } }
    ... on ValidationError { message fields { field message } }
    ... on NotFoundError { message } } }"""


def ask_tester(api: Api, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = api(TESTER, variables)["testAttributeMappings"]
    return result


def by_target(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert result["__typename"] == "AttributeMappingTest", result
    return {r["target"]: r for r in result["results"]}


def test_the_testers_answer_is_what_a_resync_writes(api: Api, scim_base: str) -> None:
    conn = create_connection(api, "scim", base_url=scim_base)
    rule = create_rule(api, conn, name="not yet", mappings=MAPPINGS)
    ada = create_user(
        api,
        "ada",
        givenName="Ada",
        familyName="Lovelace",
        email="ada@example.com",
        department="Sales",
        extensionAttributes={"hireDate": "2020-12-24"},
    )
    answer = by_target(ask_tester(api, rule=rule["id"], user=ada))
    assert target_users(scim_base) == {}  # the tester touched no target
    assert answer["displayName"]["value"] == "Ada Lovelace"
    assert answer["displayName"]["inputs"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert answer["employeeId"]["inputs"] == {"ext.hireDate": "2020-12-24"}
    assert answer["title"]["applies"] == "ON_CREATE"

    enabled = api(
        "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
        {"id": rule["id"]},
    )
    assert enabled["setRuleEnabled"]["__typename"] == "Rule"
    api.wait_idle(rule["id"])
    written = target_users(scim_base)["ada"]
    assert written["displayName"] == answer["displayName"]["value"]
    assert written["name"] == {
        "givenName": answer["givenName"]["value"],
        "familyName": answer["familyName"]["value"],
    }
    assert written["emails"][0]["value"] == answer["email"]["value"]
    assert written["title"] == answer["title"]["value"]
    assert written[ENTERPRISE] == {
        "department": answer["department"]["value"],
        "employeeNumber": answer["employeeId"]["value"],
    }
    assert written["userName"] == answer["userName"]["value"]
    assert written["active"] is answer["active"]["value"] is True


def test_inline_mappings_and_sample_attributes_give_values_and_errors(api: Api) -> None:
    mappings = [
        expression("displayName", 'join(" ", [givenName, familyName])'),
        expression("title", 'givenName + " " + title'),
        expression("department", 'lookup({"Sales": "S-01"}, department, "X-99")'),
        expression("employeeId", 'formatDate(ext.hired, "%d/%m/%Y")'),
        field("userName"),
    ]
    sample = {"givenName": "Zoë", "department": "Sales", "ext": {"hired": "2021-03-04"}}
    answer = by_target(ask_tester(api, mappings=mappings, sample=sample))
    assert answer["displayName"]["value"] == "Zoë"
    assert answer["title"]["value"] is None
    assert "null" in answer["title"]["error"]
    assert answer["department"]["value"] == "S-01"
    assert answer["employeeId"]["value"] == "04/03/2021"
    assert answer["userName"] == {
        "target": "userName",
        "source": "FIELD",
        "applies": "ALWAYS",
        "mapping": "userName",
        "value": None,
        "error": None,
        "inputs": {"userName": None},
    }
    assert answer["active"]["value"] is True

    refused = ask_tester(api, mappings=[expression("title", "upper(title")], sample=sample)
    assert refused["__typename"] == "ValidationError"
    assert refused["fields"][0]["field"] == "mappings[0].value"
    assert "at 1:12" in refused["fields"][0]["message"]
    unknown = ask_tester(api, mappings=mappings, sample={"nick": "z"})
    assert unknown["__typename"] == "ValidationError"
    both = ask_tester(api, mappings=mappings)
    assert both["__typename"] == "ValidationError"


def test_a_rules_connector_judges_inline_mappings(api: Api, scim_base: str) -> None:
    conn = create_connection(api, "memory")
    rule = create_rule(api, conn, name="memory")
    user = create_user(api, "kim", givenName="Kim")
    refused = ask_tester(api, rule=rule["id"], mappings=[field("costCenter", "givenName")], user=user)
    assert refused["__typename"] == "ValidationError"
    assert "does not accept 'costCenter'" in refused["fields"][0]["message"]
    answer = by_target(ask_tester(api, rule=rule["id"], user=user))
    assert answer["givenName"]["value"] == "Kim"
    missing = ask_tester(api, rule=rule["id"], user="RGlyZWN0b3J5VXNlcjo5OTk=")
    assert missing["__typename"] == "NotFoundError"
    assert httpx.get(f"{scim_base}/Users").json()["totalResults"] == 0
