"""A provisync server for tests: real uvicorn on a free port, a fresh database, a GraphQL client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from provisync.api.app import create_app
from provisync.settings import Settings
from tests.support.servers import serve_asgi

RUN_FIELDS = "id status kind error progress { processed total } outcomes { outcome count }"


class Api:
    """A GraphQL client over HTTP for one running server."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code < 500, response.text
        return response.json()  # type: ignore[no-any-return]

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    def wait_run(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self(
                "query($id: ID!) { node(id: $id) { ... on SyncRun { " + RUN_FIELDS + " } } }",
                {"id": run_id},
            )["node"]
            if run["status"] in ("SUCCEEDED", "FAILED"):
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
            time.sleep(0.05)

    def wait_idle(self, rule_id: str, timeout: float = 30) -> None:
        """Wait until the rule has no queued or running run."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self(
                "query($id: ID!) { rule(id: $id) { runs(first: 20) { edges { node { status } } } } }",
                {"id": rule_id},
            )
            statuses = [e["node"]["status"] for e in runs["rule"]["runs"]["edges"]]
            if not any(s in ("QUEUED", "RUNNING") for s in statuses):
                return
            assert time.monotonic() < deadline, "rule runs did not settle"
            time.sleep(0.05)


@contextmanager
def running_api(database_url: str, **overrides: Any) -> Iterator[Api]:
    settings = Settings(
        database_url=database_url,
        extra_plugins=["tests.plugins.memory_connector"],
        connector_timeout=overrides.pop("connector_timeout", 3.0),
        outbound_debounce=overrides.pop("outbound_debounce", 0.05),
        scheduler_tick=overrides.pop("scheduler_tick", 0.2),
        **overrides,
    )
    with serve_asgi(create_app(settings)) as base_url:
        api = Api(base_url)
        try:
            yield api
        finally:
            api.http.close()
