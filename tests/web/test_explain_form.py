"""The rule panel's "Why?" form in a real browser: explainEntity for a user."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user
from tests.web.conftest import screenshot
from tests.web.test_console import open_rule


def test_the_panel_explains_a_user(console_api: Api, page: Any) -> None:
    create_user(console_api, "in1", department="Eng")
    outside = create_user(console_api, "out1", department="Sales")
    connection = create_connection(console_api, name="Explained memory")
    rule = create_rule(console_api, connection, name="Eng only", enabled=True,
                       userFilter='department eq "Eng"')  # fmt: skip
    console_api.wait_idle(rule["id"])
    panel = open_rule(page, console_api, rule["id"])
    form = panel.locator('[data-testid="explain-form"]')
    form.locator('[name="entity"]').fill(outside)
    form.locator('[data-action="explain"]').click()
    action = panel.locator('[data-testid="explain-action"]')
    expect(action).to_contain_text("SKIP")
    expect(action).to_contain_text("skipped: out of scope")
    scope = panel.locator('[data-testid="explain-scope"]')
    expect(scope).to_contain_text('department eq "Eng"')
    expect(scope).to_contain_text("Sales")
    expect(scope).to_contain_text("false")
    screenshot(page, "explain.png")
