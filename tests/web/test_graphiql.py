"""GraphiQL works with only loopback reachable: every asset comes from provisync itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.support.api import Api
from tests.web.conftest import screenshot

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def test_graphiql_renders_and_runs_a_query_offline(console_api: Api, page: Any) -> None:
    blocked: list[str] = []

    def only_loopback(route: Any) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    served: list[str] = []
    page.on("response", lambda r: served.append(f"{r.status} {r.url}"))
    page.goto(console_api.base_url + "/graphql")
    editor = page.locator(".graphiql-container .graphiql-query-editor")
    expect(editor).to_be_visible(timeout=20000)
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".graphiql-response")
    expect(result).to_contain_text('"rules"', timeout=20000)
    expect(result).to_contain_text('"edges"')
    screenshot(page, "graphiql-offline.png")
    assert not blocked, f"GraphiQL asked for outside resources: {blocked}"
    vendored = [s for s in served if "/console/vendor/" in s]
    assert len(vendored) >= 6 and all(s.startswith("200 ") for s in vendored), served


def test_graphiql_assets_carry_their_licences(console_api: Api) -> None:
    for folder in ("react", "react-dom", "graphiql", "plugin-explorer"):
        licence = console_api.http.get(f"/console/vendor/{folder}/LICENSE")
        assert licence.status_code == 200 and "MIT" in licence.text, folder
    readme = console_api.http.get("/console/vendor/README.md").text
    assert "graphiql | 3.8.3" in readme and "react | 18.2.0" in readme


def test_favicon_is_served(console_api: Api) -> None:
    response = console_api.http.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in response.content
