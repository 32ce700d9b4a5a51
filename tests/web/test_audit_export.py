"""``GET /audit/export`` over real HTTP: 100,000 events stream as CSV and JSONL with bounded
memory and parse back to the same events; bad parameters and strangers are refused."""

from __future__ import annotations

import base64
import csv
import gc
import json
import time
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from provisync.store.models import utcnow
from tests.security.support import SecureServer, gid, secure_server
from tests.support.audit import BASE, seed_events, seeded_event
from tests.support.scenario import create_connection, create_rule

COUNT = 100_000
MEMORY_BOUND = 50 * 1024 * 1024
"""More than a streaming export needs by far, less than loading the seeded events (the
messages alone are about 50 MB): the control test below shows an export that loads
everything goes over it."""


def expected_record(i: int, rule_gid: str) -> dict[str, Any]:
    event = seeded_event(i, None)
    return {
        "record": "audit",
        "time": (BASE + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
        "ruleId": rule_gid,
        "runId": gid("SyncRun", event["run_id"]),
        "entityKind": "USER",
        "entityKey": event["entity_key"],
        "entityName": event["entity_name"],
        "operation": "UPDATE",
        "outcome": "SUCCESS",
        "message": event["message"],
        "actor": "seed",
    }


@pytest.fixture
def seeded(database_url: str, request: pytest.FixtureRequest) -> Iterator[tuple[SecureServer, str]]:
    batch_size = getattr(request, "param", 1000)
    # Retention off: the seeded events are from 2025, older than its default 90 days.
    with secure_server(
        database_url, export_batch_size=batch_size, audit_retention_days=0
    ) as server:
        admin = server.client("admin")
        rule = create_rule(admin, create_connection(admin), name="Exported")["id"]
        pk = int(base64.b64decode(rule).decode().removeprefix("Rule:"))
        seed_events(database_url, [seeded_event(i, pk) for i in range(COUNT)])
        yield server, rule


def _window(rule: str, fmt: str) -> dict[str, str]:
    until = (BASE + timedelta(minutes=COUNT)).isoformat()
    return {"rule": rule, "since": "2025-01-01", "until": until, "format": fmt}


def _stream_and_check(server: SecureServer, rule: str, fmt: str) -> tuple[int, int]:
    """Export, checking each row against what was seeded as it arrives (nothing is kept).

    :return: (rows, peak bytes allocated in this process above the start, server included).
    """
    client = httpx.Client(base_url=server.base_url, timeout=120)
    headers = {"authorization": f"Bearer {server.tokens['viewer']}"}
    # One small export first, so imports and caches are not counted below.
    warm = client.get(
        "/audit/export",
        params={**_window(rule, fmt), "until": "2025-01-01T00:05:00Z"},
        headers=headers,
    )
    assert warm.status_code == 200, warm.text
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    rows = 0
    try:
        with client.stream(
            "GET", "/audit/export", params=_window(rule, fmt), headers=headers
        ) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["x-provisync-export-rows"] == str(COUNT)
            assert "attachment" in response.headers["content-disposition"]
            lines = response.iter_lines()
            if fmt == "csv":
                assert response.headers["content-type"].startswith("text/csv")
                records: Iterator[dict[str, Any]] = csv.DictReader(lines)
            else:
                assert response.headers["content-type"] == "application/x-ndjson"
                records = (json.loads(line) for line in lines if line)
            for record in records:
                if fmt == "csv":
                    record = {k: v for k, v in record.items() if v != ""}
                assert record.pop("id").startswith("QXVkaXRFdmVudDo")  # AuditEvent:...
                expected = expected_record(rows, rule)
                if fmt == "jsonl":
                    record = {k: v for k, v in record.items() if v is not None}
                assert record == expected, (rows, record)
                rows += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        client.close()
    print(f"export of {rows} rows as {fmt}: peak memory growth {(peak - start) / 1e6:.1f} MB")
    return rows, peak - start


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_100k_events_stream_with_bounded_memory_and_parse_back(
    seeded: tuple[SecureServer, str], fmt: str
) -> None:
    server, rule = seeded
    rows, growth = _stream_and_check(server, rule, fmt)
    assert rows == COUNT
    assert growth < MEMORY_BOUND, f"the export grew memory by {growth / 1e6:.0f} MB"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seeded", [COUNT * 2], indirect=True)
def test_the_memory_bound_catches_an_export_that_loads_everything(
    seeded: tuple[SecureServer, str],
) -> None:
    server, rule = seeded
    rows, growth = _stream_and_check(server, rule, "csv")  # one batch: every row at once
    assert rows == COUNT
    assert growth > MEMORY_BOUND, f"only {growth / 1e6:.0f} MB: the bound would not notice"


def test_parameters_roles_and_entity_states(database_url: str) -> None:
    with secure_server(database_url, audit_retention_days=0) as server:
        admin = server.client("admin")
        rule = create_rule(admin, create_connection(admin), name="Small", enabled=True)["id"]
        admin.wait_idle(rule)
        admin(
            """mutation { createDirectoryUser(input: {userName: "ann.export"}) { __typename } }"""
        )
        # The push starts after a debounce, so wait_idle alone can return before it: wait for
        # what it records (the CREATE event, written with the state), then for the run's end.
        deadline = time.monotonic() + 30
        while not admin(
            'query($id: ID!) { rule(id: $id) { auditLog(operation: "CREATE") { totalCount } } }',
            {"id": rule},
        )["rule"]["auditLog"]["totalCount"]:
            assert time.monotonic() < deadline, "the new user was not pushed"
            time.sleep(0.05)
        admin.wait_idle(rule)
        old = seeded_event(1, None) | {"rule_id": 1, "created_at": utcnow() - timedelta(days=400)}
        seed_events(database_url, [old])
        http = httpx.Client(base_url=server.base_url)
        viewer = {"authorization": f"Bearer {server.tokens['viewer']}"}

        stranger = http.get("/audit/export", params={"rule": rule})
        assert stranger.status_code == 401 and "audit" not in stranger.text.lower()
        forged = http.get("/audit/export", headers={"authorization": "Bearer psy_forged"})
        assert forged.status_code == 401
        bad = {
            "format=xml": "format",
            "since=yesterday": "since",
            "since=2026-02-01&until=2026-01-01": "before until",
            "rule=nope": "rule",
            "include=everything": "include",
            "colour=red": "unknown parameter 'colour'",
            "format=csv&format=jsonl": "more than once",
        }
        for query, why in bad.items():
            response = http.get(f"/audit/export?{query}", headers=viewer)
            assert response.status_code == 400, (query, response.text)
            assert why in response.json()["error"]["message"], (query, response.text)
        missing = http.get("/audit/export", params={"rule": gid("Rule", 999)}, headers=viewer)
        assert missing.status_code == 404

        response = http.get(
            "/audit/export",
            params={"rule": rule, "format": "jsonl", "include": "states"},
            headers=viewer,
        )
        assert response.status_code == 200
        records = [json.loads(line) for line in response.text.splitlines()]
        events = [r for r in records if r["record"] == "audit"]
        states = [r for r in records if r["record"] == "state"]
        assert {"CREATE_RULE", "CREATE"} <= {e["operation"] for e in events}, events
        assert all(e["ruleId"] == rule for e in events)
        assert [s["entityKey"] for s in states] and all(s["ruleId"] == rule for s in states)
        assert {s["state"] for s in states} == {"SUCCESS"}
        assert records.index(events[-1]) < records.index(states[0])  # events, then states
        # Without a rule: every rule's events and the admin events; since/until cut by time.
        everything = http.get("/audit/export", params={"format": "jsonl"}, headers=viewer).text
        assert any(
            (json.loads(line)["message"] or "").startswith("event 1:")
            for line in everything.splitlines()
        )
        recent = http.get(
            "/audit/export",
            params={"format": "jsonl", "since": (utcnow() - timedelta(days=1)).isoformat()},
            headers=viewer,
        ).text
        assert recent and not any(
            (json.loads(line)["message"] or "").startswith("event 1:")
            for line in recent.splitlines()
        )
        csv_text = http.get("/audit/export", params={"rule": rule}, headers=viewer).text
        assert csv_text.splitlines()[0].startswith("record,id,time,ruleId,runId")
        http.close()
