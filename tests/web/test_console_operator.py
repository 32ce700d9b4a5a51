"""Issue 18 in the browser: the audit view, live panel, tokens and roles, unknown rules,
time zones, and a layout that fits 1400, 800 and 400 px (screenshots in test-artifacts/)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.security.support import secure_server
from tests.support.api import Api
from tests.support.scenario import create_user, rule_view
from tests.web.conftest import Scenario, screenshot, seed_console

WIDTHS = (1400, 800, 400)


@pytest.fixture
def seeded(console_api: Api) -> Scenario:
    return seed_console(console_api, users=30)


def open_panel(page: Any, base: str, rule_id: str) -> Any:
    page.goto(f"{base}/#/rules/{rule_id}")
    panel = page.locator(f'#details[data-rule-id="{rule_id}"][data-state="ready"]')
    expect(panel).to_be_visible()
    return panel


def test_the_audit_view_pages_and_filters(console_api: Api, seeded: Scenario, page: Any) -> None:
    panel = open_panel(page, console_api.base_url, seeded.rule_id)
    audit = panel.locator('[data-testid="audit"]')
    rows = audit.locator("table.audit tbody tr")
    expect(rows).to_have_count(25)
    total = console_api(
        "query($id: ID!) { rule(id: $id) { auditLog { totalCount } } }", {"id": seeded.rule_id}
    )["rule"]["auditLog"]["totalCount"]
    assert total > 25
    expect(audit.locator("h3")).to_have_text(f"Audit log (25 of {total})")
    audit.locator('button[data-action="audit-more"]').click()
    expect(rows).to_have_count(min(total, 50))

    # The refused push failed, and the retry queue says so each time it schedules an attempt
    # (one, or two when an incremental push raced the first full resync).
    audit.locator("select[name=outcome]").select_option("FAILED")
    checks = rows.filter(has_not_text="RETRY_SCHEDULED")
    expect(checks).to_have_count(1)
    expect(checks.first).to_contain_text("Bad Apple")
    expect(checks.first.locator("td").nth(1)).to_have_text("CHECK")
    expect(rows.filter(has_not=page.locator(".outcome-failed"))).to_have_count(0)
    expect(rows.filter(has_not_text="Bad Apple")).to_have_count(0)
    expect(audit.locator('button[data-action="audit-more"]')).to_be_hidden()
    audit.locator("select[name=operation]").select_option("RETRY_SCHEDULED")
    expect(rows.filter(has_not_text="RETRY_SCHEDULED")).to_have_count(0)
    expect(rows.first).to_contain_text("failed (HTTP 400")
    audit.locator("select[name=operation]").select_option("")
    audit.locator("select[name=outcome]").select_option("")
    audit.locator("input[name=search]").fill("web17")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Web17")
    audit.locator("input[name=search]").fill("")
    audit.locator("select[name=kind]").select_option("GROUP")
    expect(audit).to_contain_text("No audit event matches these filters.")
    screenshot(page, "console-audit-filtered.png")


def test_the_panel_follows_its_rule_live(console_api: Api, seeded: Scenario, page: Any) -> None:
    page.add_init_script("window.PROVISYNC_LIVE_MS = 300")
    panel = open_panel(page, console_api.base_url, seeded.rule_id)
    impacted = panel.locator('section[data-summary="users"] [data-count="impacted"]')
    before = rule_view(console_api, seeded.rule_id)["summary"]["users"]["impacted"]
    expect(impacted).to_have_text(str(before))
    create_user(console_api, "live.one")  # pushed to the target by an incremental run
    after = before + 1
    deadline = time.monotonic() + 20
    while rule_view(console_api, seeded.rule_id)["summary"]["users"]["impacted"] != after:
        assert time.monotonic() < deadline, "the new user was not pushed"
        time.sleep(0.1)
    # Nobody clicks Refresh: the open panel reads its rule again by itself.
    expect(impacted).to_have_text(str(after), timeout=15_000)
    row = page.locator(f'#rules tbody tr[data-rule-id="{seeded.rule_id}"] [data-col="users"]')
    expect(row).to_contain_text(f"/ {after}", timeout=15_000)


def test_tokens_and_roles(database_url: str, page: Any) -> None:
    with secure_server(database_url, batch_size=2) as server:
        scenario = seed_console(server.client("admin"), users=1)
        page.goto(server.base_url + "/")
        banner = page.locator('[data-testid="banner-error"]')
        expect(banner).to_contain_text("enter an API token above")
        page.fill("#token", "bogus")
        page.click("#token-form button[type=submit]")
        expect(banner).to_contain_text("refused the token you entered")
        # No rule count beside "The rules could not be loaded".
        expect(page.locator("#rules tbody")).to_contain_text("could not be loaded")
        expect(page.locator("#rule-count")).to_have_text("")

        page.fill("#token", server.tokens["viewer"])
        page.click("#token-form button[type=submit]")
        expect(page.locator('[data-testid="viewer"]')).to_have_text("token:viewer-token · viewer")
        expect(page.locator("#rule-count")).to_have_text("2 rules")
        panel = open_panel(page, server.base_url, scenario.rule_id)
        resync = panel.locator('button[data-action="resync"]')
        expect(resync).to_be_disabled()
        expect(resync).to_have_attribute("title", re.compile("role may not"))
        # Were it clicked anyway, the API's own refusal is what the page shows.
        resync.evaluate("button => { button.disabled = false; }")
        resync.click()
        alert = panel.locator('[data-testid="panel-error"]')
        expect(alert).to_contain_text("Full resync refused (FORBIDDEN)")
        expect(alert).to_contain_text("this needs the operator role")
        panel = open_panel(page, server.base_url, scenario.disabled_rule_id)
        expect(panel.locator('button[data-action="enable"]')).to_be_disabled()

        page.fill("#token", server.tokens["operator"])
        page.click("#token-form button[type=submit]")
        expect(page.locator('[data-testid="viewer"]')).to_contain_text("operator")
        panel = open_panel(page, server.base_url, scenario.rule_id)
        expect(panel.locator('button[data-action="resync"]')).to_be_enabled()


def test_an_unknown_rule_in_the_url_says_no_such_rule(
    console_api: Api, seeded: Scenario, page: Any
) -> None:
    for wanted in ("doesnotexist", "UnVsZTo5OTk5"):  # not an id at all; Rule:9999
        page.goto(f"{console_api.base_url}/#/rules/{wanted}")
        problem = page.locator('#details[data-state="error"] [data-testid="panel-error"]')
        expect(problem).to_contain_text("No such rule")
        expect(problem).not_to_contain_text("GlobalID")


@pytest.fixture
def tokyo(browser: Any) -> Iterator[Any]:
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-US")
    try:
        yield context.new_page()
    finally:
        context.close()


def test_times_name_their_zone(console_api: Api, seeded: Scenario, tokyo: Any) -> None:
    panel = open_panel(tokyo, console_api.base_url, seeded.rule_id)
    expect(panel.locator('[data-field="lastSync"] time')).to_contain_text("GMT+9")
    expect(panel.locator("table.audit tbody tr").first.locator("time")).to_contain_text("GMT+9")


LAYOUT = """() => {
  const doc = document.documentElement;
  const header = document.querySelector('header.top').getBoundingClientRect();
  const token = document.querySelector('#token').getBoundingClientRect();
  const headers = [...document.querySelectorAll('#rules thead th')].map((th) => th.getBoundingClientRect().height);
  const names = [...document.querySelectorAll('#rules td[data-col="name"] a')].map((a) => a.getClientRects().length);
  return {
    overflow: doc.scrollWidth - window.innerWidth,
    tokenInside: token.left >= header.left && token.right <= header.right + 0.5
      && token.top >= header.top && token.bottom <= header.bottom + 0.5,
    headerLines: Math.max(...headers) / Math.min(...headers),
    nameLines: Math.max(...names),
  };
}"""


def test_layout_is_readable_at_three_widths(
    console_api: Api, seeded: Scenario, browser: Any
) -> None:
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        missing: list[str] = []

        def not_found(response: Any, seen: list[str] = missing) -> None:
            if response.status == 404:
                seen.append(response.url)

        page.on("response", not_found)
        try:
            page.goto(console_api.base_url + "/")
            expect(page.locator("#rules tbody tr[data-rule-id]")).to_have_count(2)
            page.wait_for_load_state("networkidle")
            layout = page.evaluate(LAYOUT)
            assert layout["overflow"] <= 0, (width, layout)
            assert layout["tokenInside"], (width, layout)
            if width >= 800:
                # Short headers and rule names stay on one line when there is room.
                assert layout["headerLines"] < 1.5 and layout["nameLines"] == 1, (width, layout)
            screenshot(page, f"console-list-{width}.png")
            panel = open_panel(page, console_api.base_url, seeded.rule_id)
            expect(panel.locator('[data-testid="audit"] table.audit')).to_be_visible()
            assert page.evaluate(LAYOUT)["overflow"] <= 0, width
            screenshot(page, f"console-rule-{width}.png")
            assert not missing, missing  # /favicon.ico too
        finally:
            context.close()
