"""The console's rule panel lists the rule's retry queue (issue 13, item 9)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user, states
from tests.web.conftest import screenshot
from tests.web.test_console import open_rule


def test_the_rule_panel_lists_the_entities_waiting_for_a_retry(console_api: Api, page: Any) -> None:
    create_user(console_api, "fine")
    create_user(console_api, "refused", displayName="Refused Person")
    connection = create_connection(console_api, name="Refusing memory", fail_users=["refused"])
    rule = create_rule(console_api, connection, name="Retrying", enabled=True)
    console_api.wait_idle(rule["id"])
    failed = states(console_api, rule["id"], state="FAILED")
    assert [s["displayName"] for s in failed] == ["Refused Person"]

    panel = open_rule(page, console_api, rule["id"])
    queue = panel.locator('[data-testid="retry-queue"]')
    expect(queue).to_contain_text("Retry queue (1)")
    expect(queue.locator("tbody tr")).to_have_count(1)
    row = queue.locator("tbody tr")
    expect(row).to_contain_text("Refused Person")
    expect(row).to_contain_text("Push to the target")
    # One or two failed attempts (the push of the new user may have run before the resync).
    queued = console_api(
        "query($id: ID!) { rule(id: $id) { retryQueue { edges { node { attempts } } } } }",
        {"id": rule["id"]},
    )["rule"]["retryQueue"]["edges"][0]["node"]
    assert queued["attempts"] >= 1
    expect(row.locator('[data-field="attempts"]')).to_have_text(str(queued["attempts"]))
    expect(row).to_contain_text("HTTP 400")
    screenshot(page, "console-retry-queue.png")
