"""The console page in a real browser (headless Chromium) against a running provisync."""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import expect

from tests.security.support import secure_server
from tests.support.api import Api
from tests.support.scenario import (
    create_connection,
    create_rule,
    create_user,
    full_resync,
    rule_view,
    states,
)
from tests.web.conftest import screenshot, seed_console, set_connection_settings

COUNT_FIELDS = ("impacted", "success", "unsynced", "partialSynced", "failed")

# Records every text the run's progress shows, as the page renders it.
RECORD_PROGRESS = """() => {
  window.__progress = [];
  new MutationObserver(() => {
    const node = document.querySelector('[data-testid="run-progress"]');
    const text = node ? node.textContent : null;
    if (text && window.__progress[window.__progress.length - 1] !== text) window.__progress.push(text);
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


def open_rule(page: Any, api: Api, rule_id: str) -> Any:
    page.goto(api.base_url + "/")
    page.locator(f'#rules tbody tr[data-rule-id="{rule_id}"]').click()
    panel = page.locator(f'#details[data-rule-id="{rule_id}"][data-state="ready"]')
    expect(panel).to_be_visible()
    return panel


def expect_counts(panel: Any, kind: str, counts: dict[str, Any]) -> None:
    section = panel.locator(f'section[data-summary="{kind}"]')
    for field in COUNT_FIELDS:
        expect(section.locator(f'[data-count="{field}"]')).to_have_text(str(counts[field]))


def test_rules_list_and_panel_show_what_the_api_returns(console_api: Api, page: Any) -> None:
    scenario = seed_console(console_api)
    page.goto(console_api.base_url + "/")
    rows = page.locator("#rules tbody tr[data-rule-id]")
    expect(rows).to_have_count(2)
    row = page.locator(f'#rules tbody tr[data-rule-id="{scenario.rule_id}"]')
    expect(row.locator('[data-col="name"]')).to_have_text("Directory to Acme")
    expect(row.locator('[data-col="status"]')).to_have_text("Active")
    expect(row.locator('[data-col="direction"]')).to_have_text("Outbound")
    expect(row.locator('[data-col="source"]')).to_have_text("Directory (directory)")
    expect(row.locator('[data-col="target"]')).to_have_text("Acme memory")
    disabled_row = page.locator(f'#rules tbody tr[data-rule-id="{scenario.disabled_rule_id}"]')
    expect(disabled_row.locator('[data-col="status"]')).to_have_text("Inactive")

    api_rule = rule_view(console_api, scenario.rule_id)
    users = api_rule["summary"]["users"]
    assert (users["impacted"], users["success"], users["failed"]) == (8, 7, 1)
    panel = open_rule(page, console_api, scenario.rule_id)
    expect(panel.locator('[data-field="status"]')).to_have_text("Active")
    expect(panel.locator('[data-field="direction"]')).to_have_text("Outbound")
    expect(panel.locator('[data-field="source"]')).to_have_text("Directory (directory)")
    expect(panel.locator('[data-field="target"]')).to_have_text("Acme memory")
    expect(panel.locator('[data-field="lastSync"] time')).to_have_attribute(
        "datetime", api_rule["lastSync"]
    )
    expect_counts(panel, "users", users)
    expect_counts(panel, "groups", api_rule["summary"]["groups"])
    # The memory connector writes back, so the write-back failures show (as a number).
    expect(
        panel.locator('section[data-summary="users"] [data-count="writeBackFailures"]')
    ).to_have_text(str(users["writeBackFailures"]))
    expect(
        panel.locator('section[data-summary="groups"] [data-count="writeBackFailures"]')
    ).to_have_count(0)
    expect(panel.locator('section[data-summary="users"] [data-segment="failed"]')).to_have_count(1)

    failed = states(console_api, scenario.rule_id, state="FAILED")
    assert [s["displayName"] for s in failed] == ["Bad Apple"]
    entity = panel.locator('[data-testid="not-in-sync"] li[data-state="FAILED"]')
    expect(entity).to_have_count(1)
    expect(entity).to_contain_text("Bad Apple")
    expect(entity.locator('[data-testid="reason"]')).to_have_text(failed[0]["reason"])

    # One audit view: the summary's button filters it to users, then hides it.
    audit = panel.locator('[data-testid="audit"]')
    panel.locator('button[data-action="audit-users"]').click()
    expect(audit.locator("select[name=kind]")).to_have_value("USER")
    expect(audit.locator("table.audit tbody tr").first).to_be_visible()
    expect(panel.locator("table.audit")).to_have_count(1)
    expect(panel.locator('button[data-action="audit-users"]')).to_have_text("Hide")
    panel.locator('button[data-action="audit-users"]').click()
    expect(audit.locator("table.audit")).to_be_hidden()
    expect(audit.locator('button[data-action="audit-toggle"]')).to_have_text("Show")
    audit.locator('button[data-action="audit-toggle"]').click()
    expect(audit.locator("table.audit")).to_be_visible()
    path = screenshot(page, "console-rule.png")
    assert path.exists()


def test_a_disabled_rule_shows_a_message_not_a_blank_panel(console_api: Api, page: Any) -> None:
    scenario = seed_console(console_api, users=2)
    assert rule_view(console_api, scenario.disabled_rule_id)["summary"] is None
    panel = open_rule(page, console_api, scenario.disabled_rule_id)
    expect(panel.locator('[data-testid="disabled-message"]')).to_contain_text(
        "This rule is disabled"
    )
    expect(panel.locator("section[data-summary]")).to_have_count(0)
    expect(panel.locator('button[data-action="resync"]')).to_be_disabled()
    screenshot(page, "console-disabled-rule.png")

    # Enabling it from the message shows its summary (the page uses setRuleEnabled).
    panel.locator('button[data-action="enable"]').click()
    expect(panel.locator('section[data-summary="users"]')).to_be_visible()
    assert rule_view(console_api, scenario.disabled_rule_id)["enabled"] is True


def test_full_resync_follows_progress_live_and_refreshes_the_numbers(
    console_api: Api, page: Any
) -> None:
    scenario = seed_console(console_api)
    # From now on the target accepts everyone, slowly: each batch of two takes 0.4s.
    set_connection_settings(
        console_api, scenario.connection_id, {"store": scenario.store, "delay": 0.4}
    )
    panel = open_rule(page, console_api, scenario.rule_id)
    expect_counts(panel, "users", rule_view(console_api, scenario.rule_id)["summary"]["users"])
    expect(panel.locator('section[data-summary="users"] [data-count="failed"]')).to_have_text("1")
    page.evaluate(RECORD_PROGRESS)

    panel.locator('button[data-action="resync"]').click()
    expect(panel.locator('[data-testid="run-status"]')).to_have_text("SUCCEEDED", timeout=30_000)
    expect(panel.locator('section[data-summary="users"] [data-count="failed"]')).to_have_text("0")
    assert "null" not in panel.locator('[data-testid="run"]').inner_text()

    after = rule_view(console_api, scenario.rule_id)["summary"]["users"]
    assert (after["impacted"], after["success"], after["failed"]) == (8, 8, 0)
    expect_counts(panel, "users", after)
    expect(panel.locator('[data-testid="not-in-sync"]')).to_contain_text("in sync")
    progress = page.evaluate("window.__progress")
    assert progress[-1] == "8 / 8", progress
    processed = [int(text.split(" / ")[0]) for text in progress if " / " in text]
    assert processed == sorted(processed), progress
    assert any(0 < p < 8 for p in processed), f"no intermediate progress was shown: {progress}"
    screenshot(page, "console-after-resync.png")


def test_api_errors_are_shown_in_the_panel(console_api: Api, page: Any) -> None:
    scenario = seed_console(console_api, users=1)
    # A malformed id: the API answers with a top-level GraphQL error.
    page.goto(console_api.base_url + "/#/rules/not-a-global-id")
    expect(page.locator('#details [data-testid="panel-error"]')).to_be_visible()

    # A typed error: the rule is deleted while its panel is open, then resynced.
    panel = open_rule(page, console_api, scenario.rule_id)
    console_api(
        "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: false) { __typename } }",
        {"id": scenario.rule_id},
    )
    deleted = console_api(
        "mutation($id: ID!) { deleteRule(id: $id) { __typename ... on Error { code } } }",
        {"id": scenario.rule_id},
    )["deleteRule"]
    assert deleted["__typename"] == "DeletePayload", deleted
    panel.locator('button[data-action="resync"]').click()
    alert = panel.locator('[data-testid="panel-error"]')
    expect(alert).to_contain_text("NOT_FOUND")


def test_with_authentication_on_the_console_asks_for_a_token_and_sends_it(
    database_url: str, page: Any
) -> None:
    with secure_server(database_url, batch_size=2) as server:
        scenario = seed_console(server.client("admin"), users=1)
        token = server.tokens["operator"]
        authorizations: list[str | None] = []
        inits: list[dict[str, Any]] = []
        page.on(
            "request",
            lambda request: (
                authorizations.append(request.headers.get("authorization"))
                if request.url.endswith("/graphql")
                else None
            ),
        )

        def on_websocket(ws: Any) -> None:
            def sent(payload: Any) -> None:
                message = json.loads(payload)
                if message.get("type") == "connection_init":
                    inits.append(message)

            ws.on("framesent", sent)

        page.on("websocket", on_websocket)
        page.goto(server.base_url + "/")
        # Without a token the server answers 401, and the page says what to do.
        expect(page.locator('[data-testid="banner-error"]')).to_contain_text("enter an API token")
        page.fill("#token", token)
        page.click("#token-form button[type=submit]")
        assert page.evaluate("localStorage.getItem('provisyncToken')") == token
        page.locator(f'#rules tbody tr[data-rule-id="{scenario.rule_id}"]').click()
        panel = page.locator(f'#details[data-rule-id="{scenario.rule_id}"][data-state="ready"]')
        expect(panel).to_be_visible()
        panel.locator('button[data-action="resync"]').click()
        expect(panel.locator('[data-testid="run-status"]')).to_have_text("SUCCEEDED")
        assert f"Bearer {token}" in authorizations
        assert inits and inits[0]["payload"] == {"Authorization": f"Bearer {token}"}
        assert token not in "".join(server.seen)


def test_held_operations_are_shown_and_released_from_the_panel(console_api: Api, page: Any) -> None:
    for i in range(5):
        create_user(console_api, f"held{i}", department="Sales" if i == 0 else "Ops")
    connection = create_connection(console_api, name="Held memory")
    rule = create_rule(
        console_api, connection, name="Protected", enabled=True, deletionProtection={"maxCount": 1}
    )
    console_api.wait_idle(rule["id"])
    console_api(
        'mutation($id: ID!) { updateRule(input: {id: $id, userFilter: "department eq \\"Sales\\""}) { __typename } }',
        {"id": rule["id"]},
    )
    full_resync(console_api, rule["id"])
    console_api.wait_idle(rule["id"])

    panel = open_rule(page, console_api, rule["id"])
    held = panel.locator('[data-testid="held-operations"]')
    expect(held).to_contain_text("Held by deletion protection (4)")
    expect(held.locator("tbody tr")).to_have_count(4)
    expect(held).to_contain_text("limit (1)")
    screenshot(page, "console-held-operations.png")
    held.locator('button[data-action="release"]').click()
    expect(panel.locator('[data-testid="run-status"]')).to_have_text("SUCCEEDED")
    expect(page.locator('[data-testid="held-operations"]')).to_have_count(0)
    expect(page.locator('section[data-summary="users"] [data-count="impacted"]')).to_have_text("1")
    assert rule_view(console_api, rule["id"])["summary"]["users"]["impacted"] == 1


def test_a_quarantined_rule_says_so(console_api: Api, page: Any) -> None:
    create_user(console_api, "q0")
    connection = create_connection(console_api, name="Down memory", mode="unreachable")
    rule = create_rule(console_api, connection, name="Down", enabled=True)
    console_api.wait_idle(rule["id"])
    for i in (1, 2):  # each directory change starts a run that fails as a whole
        create_user(console_api, f"q{i}")
        time.sleep(0.5)
        console_api.wait_idle(rule["id"])
    view = console_api(
        "query($id: ID!) { rule(id: $id) { quarantine { failedRuns } } }", {"id": rule["id"]}
    )["rule"]
    assert view["quarantine"] == {"failedRuns": 3}
    panel = open_rule(page, console_api, rule["id"])
    message = panel.locator('[data-testid="quarantine-message"]')
    expect(message).to_contain_text("Quarantined after 3 failed runs in a row")
    expect(message).to_contain_text("next attempt")
