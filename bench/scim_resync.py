"""Outbound SCIM resyncs against scim2-server on loopback, served by a separate process.

10,000 users in 100 groups (``--quick``: 1,000 in 10): (1) the first full resync (all
creates), (2) a resync with nothing changed, (3) a resync with 1% of users changed. Baselines
from the same run: listing all users page by page (the floor for reading the target) and the
first sync done one request at a time (a filter GET then a POST per user, on a fresh server).
The connector is called directly, in batches of 500 users like the engine. Last line: JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provisync_scim.connector import ScimConnector  # noqa: E402
from provisync_scim.settings import ScimSettings  # noqa: E402
from provisync_sdk import (  # noqa: E402
    ConnectorContext,
    DesiredGroup,
    DesiredUser,
    EntityState,
    MemberRef,
    ReconcileRequest,
)

BATCH = 500
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """A fresh scim2-server (in-memory) under uvicorn in its own process."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "provisync.demo.scim_target:build_scim_target_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"http://127.0.0.1:{port}/v2"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("scim2-server did not start")


def people(count: int, groups: int, version: int = 0, changed: int = 0) -> list[DesiredUser]:
    users = []
    for i in range(count):
        title = f"Title {i % 7}" + (" (new)" if i < changed else "")
        users.append(
            DesiredUser(
                key=str(i),
                attributes={
                    "userName": f"user{i:05d}",
                    "givenName": f"Given{i}",
                    "familyName": f"Family{i}",
                    "displayName": f"Given{i} Family{i}",
                    "email": f"user{i:05d}@bench.example",
                    "title": title,
                    "department": f"Department {i % groups}",
                    "employeeId": f"E{i:05d}",
                    "active": True,
                },
            )
        )
    return users


async def full_sync(
    base_url: str, users: list[DesiredUser], groups: int, **settings: Any
) -> tuple[float, Counter[str], dict[str, int]]:
    """Users in batches, then the groups with the members' target ids, like the engine."""
    connector = ScimConnector(
        ScimSettings(base_url=base_url, **settings), ConnectorContext("bench", "bench", 30)
    )
    states: Counter[str] = Counter()
    ids: dict[str, str] = {}
    started = time.perf_counter()
    try:
        for at in range(0, len(users), BATCH):
            outcomes = await connector.reconcile(ReconcileRequest(users=users[at : at + BATCH]))
            for outcome in outcomes:
                states[outcome.state.value] += 1
                if outcome.target_id:
                    ids[outcome.key] = outcome.target_id
        desired_groups = [
            DesiredGroup(
                key=f"g{g}",
                display_name=f"Group {g:03d}",
                members=tuple(MemberRef(u.key, ids.get(u.key)) for u in users[g::groups]),
            )
            for g in range(groups)
        ]
        outcomes = await connector.reconcile(ReconcileRequest(groups=desired_groups))
        for outcome in outcomes:
            states[f"group {outcome.state.value}"] += 1
        elapsed = time.perf_counter() - started
    finally:
        await connector.aclose()
    return elapsed, connector.http.requests, dict(states)


async def list_floor(base_url: str) -> tuple[float, int]:
    """Every user, page by page, nothing else: the floor for reading the target."""
    started = time.perf_counter()
    pages = 0
    async with httpx2.AsyncClient(timeout=30) as client:
        start = 1
        while True:
            body = (
                await client.get(f"{base_url}/Users", params={"startIndex": start, "count": 1000})
            ).json()
            pages += 1
            got = len(body.get("Resources") or [])
            start += got
            if not got or start > body["totalResults"]:
                break
    return time.perf_counter() - started, pages


async def one_at_a_time(base_url: str, users: list[DesiredUser]) -> tuple[float, int]:
    """The naive first sync: per user, a filter GET then a POST, one request at a time."""
    from provisync_scim.mapping import user_payload

    started = time.perf_counter()
    sent = 0
    async with httpx2.AsyncClient(timeout=30) as client:
        for user in users:
            name = user.attributes["userName"]
            await client.get(f"{base_url}/Users", params={"filter": f'userName eq "{name}"'})
            await client.post(f"{base_url}/Users", json=user_payload(user.attributes))
            sent += 2
    return time.perf_counter() - started, sent


def writes(counts: Counter[str]) -> int:
    return sum(n for label, n in counts.items() if label.split()[0] in WRITES)


def show(title: str, elapsed: float, counts: Counter[str], states: dict[str, int]) -> None:
    kinds = ", ".join(f"{label}={n}" for label, n in sorted(counts.items()))
    print(f"{title}: {elapsed:.2f}s; requests: {kinds}; states: {states}")


async def run(quick: bool) -> dict[str, Any]:
    count, groups = (1000, 10) if quick else (10_000, 100)
    changed = count // 100
    users = people(count, groups)
    server, base_url = start_server()
    baseline_server, baseline_url = start_server()
    try:
        first, first_counts, first_states = await full_sync(base_url, users, groups)
        show("(1) first full resync", first, first_counts, first_states)
        unchanged, unchanged_counts, unchanged_states = await full_sync(base_url, users, groups)
        show("(2) resync, nothing changed", unchanged, unchanged_counts, unchanged_states)
        some = people(count, groups, changed=changed)
        delta, delta_counts, delta_states = await full_sync(base_url, some, groups)
        show(f"(3) resync, {changed} users changed", delta, delta_counts, delta_states)
        floor, pages = await list_floor(base_url)
        print(f"floor: listing {count} users in {pages} pages took {floor:.2f}s")
        naive, naive_sent = await one_at_a_time(baseline_url, users)
        print(f"baseline: first sync one request at a time: {naive:.2f}s, {naive_sent} requests")
    finally:
        for process in (server, baseline_server):
            process.terminate()
            process.wait(10)
    assert first_states.get(EntityState.SUCCESS.value) == count
    return {
        "unchanged_to_floor": round(unchanged / floor, 3),
        "unchanged_writes": writes(unchanged_counts),
        "first_sync_speedup": round(naive / first, 3),
        "users": count,
        "groups": groups,
        "first_sync_s": round(first, 3),
        "unchanged_s": round(unchanged, 3),
        "changed_1pct_s": round(delta, 3),
        "changed_1pct_writes": writes(delta_counts),
        "floor_list_s": round(floor, 3),
        "one_at_a_time_s": round(naive, 3),
        "first_sync_requests": sum(first_counts.values()),
        "unchanged_requests": sum(unchanged_counts.values()),
        "changed_1pct_requests": sum(delta_counts.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 users; under a minute")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.quick))))


if __name__ == "__main__":
    main()
