"""The console against `provisync demo` (a subprocess): real SCIM and Workday data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.processes import clean_env, provisync_process, wait_until
from tests.support.servers import free_port
from tests.web.conftest import screenshot

RULES = """{ rules { edges { node { id name enabled
  summary { users { impacted success unsynced partialSynced failed writeBackFailures }
            groups { impacted success unsynced partialSynced failed } }
  runs(first: 5) { edges { node { status } } } } } } }"""
NAMES = ("Workday → Directory", "Directory → Acme SaaS", "Directory → Staging")
FIELDS = ("impacted", "success", "unsynced", "partialSynced", "failed")


def demo_rules(base: str) -> dict[str, Any]:
    body = httpx.post(f"{base}/graphql", json={"query": RULES}, timeout=10).json()
    assert not body.get("errors"), body
    return {e["node"]["name"]: e["node"] for e in body["data"]["rules"]["edges"]}


def settled(rules: dict[str, Any]) -> bool:
    if set(rules) != set(NAMES):
        return False
    busy = any(
        run["node"]["status"] in ("QUEUED", "RUNNING")
        for rule in rules.values()
        for run in rule["runs"]["edges"]
    )
    seeded = all(
        rules[n]["summary"] and rules[n]["summary"]["users"]["impacted"] for n in NAMES[:2]
    )
    return seeded and not busy


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with provisync_process(["demo", "--port", str(port)], clean_env()) as process:
        wait_until(process, lambda: settled(demo_rules(base)), 120, "the demo did not seed")
        yield base


def expect_counts(section: Any, counts: dict[str, Any]) -> None:
    for field in FIELDS:
        expect(section.locator(f'[data-count="{field}"]')).to_have_text(str(counts[field]))


def test_console_shows_the_demo_rules_as_the_api_does(demo: str, page: Any) -> None:
    rules = demo_rules(demo)
    page.goto(demo + "/")
    expect(page.locator("#rules tbody tr[data-rule-id]")).to_have_count(3)
    for name in NAMES:
        row = page.locator(f'#rules tbody tr[data-rule-id="{rules[name]["id"]}"]')
        expect(row.locator('[data-col="name"]')).to_have_text(name)

    workday = rules["Workday → Directory"]
    page.locator(f'#rules tbody tr[data-rule-id="{workday["id"]}"]').click()
    panel = page.locator(f'#details[data-rule-id="{workday["id"]}"][data-state="ready"]')
    users = panel.locator('section[data-summary="users"]')
    expect_counts(users, workday["summary"]["users"])
    expect(users.locator('[data-count="writeBackFailures"]')).to_have_text(
        str(workday["summary"]["users"]["writeBackFailures"])
    )
    assert workday["summary"]["users"]["writeBackFailures"] == 2
    # Workday syncs users only: no empty group summary. The two write-back failures are listed
    # with what was written back and Workday's fault.
    expect(panel.locator('section[data-summary="groups"]')).to_have_count(0)
    failures = panel.locator('[data-testid="write-back-failure"]')
    expect(failures).to_have_count(2)
    expect(panel.locator('[data-testid="write-back-failures"] h3')).to_have_text(
        "Write-back failures (2)"
    )
    expect(failures.filter(has_text="phone = 555-0199")).to_have_count(1)
    expect(failures.filter(has_text="@new.acme.example")).to_have_count(1)
    for i in range(2):
        expect(failures.nth(i).locator('[data-testid="reason"]')).not_to_be_empty()
    screenshot(page, "console-demo-workday.png")

    scim = rules["Directory → Acme SaaS"]
    page.locator(f'#rules tbody tr[data-rule-id="{scim["id"]}"]').click()
    panel = page.locator(f'#details[data-rule-id="{scim["id"]}"][data-state="ready"]')
    expect_counts(panel.locator('section[data-summary="users"]'), scim["summary"]["users"])
    expect_counts(panel.locator('section[data-summary="groups"]'), scim["summary"]["groups"])
    # The seeded failure is found in the audit log: filtered, it is the one row besides the
    # retry queue's (each failed attempt is one, so their number grows while the demo runs).
    audit = panel.locator('[data-testid="audit"]')
    audit.locator("select[name=outcome]").select_option("FAILED")
    failed = audit.locator("table.audit tbody tr")
    expect(failed.filter(has_not_text="RETRY_SCHEDULED")).to_have_count(1)
    expect(failed.filter(has_not_text="RETRY_SCHEDULED")).to_contain_text("HTTP 400")
    expect(failed.filter(has_text="RETRY_SCHEDULED").first).to_contain_text("HTTP 400")
    expect(failed.filter(has_not=page.locator(".outcome-failed"))).to_have_count(0)
    audit.locator("select[name=outcome]").select_option("")
    # The seeded problems: one account the target refuses, one that differs (with the attribute).
    expect(panel.locator('li[data-state="FAILED"] [data-testid="reason"]')).to_contain_text(
        "HTTP 400"
    )
    expect(panel.locator('li[data-state="PARTIAL"] table.differences')).to_contain_text("title")
    screenshot(page, "console-demo.png")

    panel.locator('button[data-action="resync"]').click()
    expect(panel.locator('[data-testid="run-status"]')).to_have_text("SUCCEEDED", timeout=60_000)
    expect(panel.locator('[data-testid="run-progress"]')).to_contain_text(" / ")
    after = demo_rules(demo)["Directory → Acme SaaS"]["summary"]
    expect_counts(panel.locator('section[data-summary="users"]'), after["users"])

    staging = rules["Directory → Staging"]
    page.locator(f'#rules tbody tr[data-rule-id="{staging["id"]}"]').click()
    expect(page.locator('#details [data-testid="disabled-message"]')).to_be_visible()


def test_the_demo_console_at_three_widths(demo: str, browser: Any) -> None:
    rules = demo_rules(demo)
    for width in (1400, 800, 400):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            for name, shot in (("Directory → Acme SaaS", "scim"), ("Workday → Directory", "workday")):
                page.goto(f"{demo}/#/rules/{rules[name]['id']}")
                panel = page.locator(f'#details[data-rule-id="{rules[name]["id"]}"]')
                expect(panel).to_have_attribute("data-state", "ready")
                expect(page.locator('[data-testid="audit"] table.audit')).to_be_visible()
                # Long Workday faults (XPaths) wrap inside the panel; nothing overflows.
                overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
                assert overflow <= 0, (width, name, overflow)
                screenshot(page, f"console-demo-{shot}-{width}.png")
        finally:
            context.close()
