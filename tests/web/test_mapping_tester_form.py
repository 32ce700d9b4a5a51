"""The rule panel's mapping tester in a real browser: per target the value or the error."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user
from tests.web.conftest import screenshot
from tests.web.test_console import open_rule

MAPPINGS = [
    {"target": "userName", "source": "FIELD", "value": "userName"},
    {"target": "displayName", "source": "EXPRESSION", "value": 'join(" ", [givenName, familyName])'},
    {"target": "title", "source": "EXPRESSION", "value": 'upper(ext.role) + "!"'},
]


def test_the_mapping_tester_shows_values_and_errors(console_api: Api, page: Any) -> None:
    user = create_user(console_api, "grace", givenName="Grace", familyName="Hopper",
                       extensionAttributes={"role": "admiral"})  # fmt: skip
    connection = create_connection(console_api, name="Tester memory")
    rule = create_rule(console_api, connection, name="Mapped", mappings=MAPPINGS)
    assert rule["__typename"] == "Rule", rule
    panel = open_rule(page, console_api, rule["id"])
    tester = panel.locator('[data-testid="mapping-tester"]')
    tester.locator('[name="user"]').fill(user)
    tester.locator('[data-action="test-mappings"]').click()
    results = panel.locator('[data-testid="mapping-results"]')
    expect(results.locator('tr[data-target="displayName"] [data-col="value"]')).to_have_text(
        "Grace Hopper"
    )
    expect(results.locator('tr[data-target="title"] [data-col="value"]')).to_have_text("ADMIRAL!")
    expect(results.locator('tr[data-target="active"] [data-col="value"]')).to_have_text("true")

    tester.locator('[name="user"]').fill("")
    tester.locator('[name="sample"]').fill('{"givenName": "Zoë", "ext": {}}')
    tester.locator('[data-action="test-mappings"]').click()
    expect(results.locator('tr[data-target="displayName"] [data-col="value"]')).to_have_text("Zoë")
    title = results.locator('tr[data-target="title"] [data-col="value"]')
    expect(title).to_contain_text("error:")
    expect(title).to_contain_text("null")
    screenshot(page, "mapping-tester.png")
