"""Headless Chromium (Debian's package) driven by Playwright, and a console scenario.

Nothing here downloads a browser: Playwright is pointed at the system Chromium. When it is
missing the tests fail (CI installs it in .ci/run); they never skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api, running_api
from tests.support.scenario import create_connection, create_rule, create_user

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str:
    found = os.environ.get("PROVISYNC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail(
            f"Chromium is not installed (looked for {found}): the console tests need Debian's "
            "'chromium' package (apt-get install -y chromium; .ci/run installs it). "
            "Never 'playwright install': nothing may download a browser.",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the 'playwright' package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def console_api(database_url: str) -> Iterator[Api]:
    # Batches of two make a full resync report progress in several steps.
    with running_api(database_url, batch_size=2) as api:
        yield api


@dataclass
class Scenario:
    rule_id: str
    disabled_rule_id: str
    connection_id: str
    store: str


def seed_console(api: Api, users: int = 7) -> Scenario:
    """An enabled outbound rule with one user the target rejects, and a disabled rule."""
    for i in range(users):
        create_user(api, f"web{i}", givenName=f"Web{i}", familyName="User", email=f"web{i}@x.test")
    create_user(api, "web.bad", displayName="Bad Apple")
    store = uuid.uuid4().hex
    connection = create_connection(api, store=store, fail_users=["web.bad"], name="Acme memory")
    rule = create_rule(api, connection, name="Directory to Acme", enabled=True)
    api.wait_idle(rule["id"])
    other = create_connection(api, name="Staging memory")
    disabled = create_rule(api, other, name="Directory to Staging", enabled=False)
    return Scenario(rule["id"], disabled["id"], connection, store)


def set_connection_settings(api: Api, connection_id: str, settings: dict[str, Any]) -> None:
    result = api(
        """mutation($input: UpdateProvisioningConnectionInput!) {
             updateProvisioningConnection(input: $input) { __typename ... on Error { message } } }""",
        {"input": {"id": connection_id, "settings": settings}},
    )["updateProvisioningConnection"]
    assert result["__typename"] == "ProvisioningConnection", result


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path
