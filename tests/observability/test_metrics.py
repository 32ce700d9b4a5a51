"""/metrics in Prometheus format: runs, durations, failures, per-rule states, GraphQL latency."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gql.app import create_app
from gql.settings import Settings
from tests.support.api import Api, running_api
from tests.support.scenario import create_connection, create_rule, create_user, rule_view

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: Api) -> Samples:
    response = api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@dataclass
class Seeded:
    api: Api
    rule_id: str
    down_rule_id: str


@pytest.fixture
def seeded(database_url: str) -> Iterator[Seeded]:
    with running_api(database_url) as api:
        for i in range(5):
            create_user(api, f"m{i}")
        create_user(api, "m.bad")
        ok = create_rule(
            api,
            create_connection(api, fail_users=["m.bad"]),
            name="Metrics rule",
            enabled=True,
        )
        down = create_rule(
            api, create_connection(api, mode="unreachable"), name="Down rule", enabled=True
        )
        api.wait_idle(ok["id"])
        api.wait_idle(down["id"])
        yield Seeded(api, ok["id"], down["id"])


def runs_of(api: Api, rule_id: str) -> list[dict[str, Any]]:
    return [
        edge["node"]
        for edge in api(
            "query($id: ID!) { rule(id: $id) { runs(first: 50) { edges { node {"
            " kind status outcomes { outcome count } } } } } }",
            {"id": rule_id},
        )["rule"]["runs"]["edges"]
    ]


def test_runs_failures_and_connector_errors_are_counted(seeded: Seeded) -> None:
    samples = scrape(seeded.api)
    # Every run the API lists is counted once, by kind and final status, with its duration.
    # (Creating users just before the rule may or may not add an incremental run.)
    runs = runs_of(seeded.api, seeded.rule_id) + runs_of(seeded.api, seeded.down_rule_id)
    by_kind_status = Counter((run["kind"], run["status"]) for run in runs)
    assert by_kind_status[("FULL", "SUCCEEDED")] == 1 and by_kind_status[("FULL", "FAILED")] == 1
    for (kind, status), count in by_kind_status.items():
        assert value(samples, "provisync_sync_runs_total", kind=kind, status=status) == count
        assert (
            value(samples, "provisync_sync_run_duration_seconds_count", kind=kind, status=status)
            == count
        )
    assert (
        value(samples, "provisync_run_failures_total", kind="FULL", code="TARGET_UNREACHABLE") == 1
    )
    # The memory target rejects m.bad with "HTTP 400: ..." in every run that pushes it. (A push
    # of the down rule records its users FAILED too, but that is its run's failure, counted once.)
    failed_outcomes = sum(
        o["count"]
        for run in runs_of(seeded.api, seeded.rule_id)
        for o in run["outcomes"]
        if o["outcome"] == "FAILED"
    )
    assert failed_outcomes >= 1
    assert (
        value(samples, "provisync_connector_errors_total", scope="entity", status="400")
        == failed_outcomes
    )


def test_entities_by_state_per_rule_are_read_at_scrape_time(seeded: Seeded) -> None:
    samples = scrape(seeded.api)
    labels = {"rule": "Metrics rule", "rule_id": seeded.rule_id, "kind": "USER"}
    assert value(samples, "provisync_rule_entities", **labels, state="success") == 5
    assert value(samples, "provisync_rule_entities", **labels, state="failed") == 1
    assert value(samples, "provisync_rule_entities", **labels, state="partial") == 0
    assert (
        value(
            samples,
            "provisync_rule_write_back_failures",
            rule="Metrics rule",
            rule_id=seeded.rule_id,
        )
        == 0
    )
    # A new user is pushed within the debounce; once the API counts it, so does the next scrape.
    create_user(seeded.api, "m.late")
    deadline = time.monotonic() + 30
    while rule_view(seeded.api, seeded.rule_id)["summary"]["users"]["success"] != 6:
        assert time.monotonic() < deadline, "the new user was never pushed"
        time.sleep(0.05)
    assert value(scrape(seeded.api), "provisync_rule_entities", **labels, state="success") == 6


def test_graphql_request_latency_is_observed(seeded: Seeded) -> None:
    before = (
        value(
            scrape(seeded.api),
            "provisync_graphql_request_duration_seconds_count",
            method="POST",
            status="200",
        )
        or 0
    )
    for _ in range(3):
        seeded.api("{ __typename }")
    after = value(
        scrape(seeded.api),
        "provisync_graphql_request_duration_seconds_count",
        method="POST",
        status="200",
    )
    assert after == before + 3


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    first = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"))
    second = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"))
    assert first.state.metrics.registry is not second.state.metrics.registry
    first.state.metrics.runs.labels("FULL", "SUCCEEDED").inc()
    assert (
        second.state.metrics.registry.get_sample_value(
            "provisync_sync_runs_total", {"kind": "FULL", "status": "SUCCEEDED"}
        )
        is None
    )
