"""Audit export: 1,000,000 audit events streamed by ``GET /audit/export`` as CSV and JSONL.

A real ``provisync serve`` process on a loopback port, a SQLite file seeded in bulk. For each
format: wall time, rows/s, and the server process's peak resident memory during the export
(VmHWM, reset before each export; goal under 200 MB). The baseline is reading the same rows
in keyset batches straight from SQLite in this process, with no encoding and no HTTP: the
ratio says what the export adds to the read. ``--quick``: 100,000 events.
Last line: JSON with the figures.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gql.store.db import upgrade
from tests.support.servers import free_port


def seed(path: Path, count: int) -> None:
    upgrade(f"sqlite+aiosqlite:///{path}")
    base = datetime(2025, 1, 1, tzinfo=UTC)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO provisioning_connection (name, connector_type, settings, secrets, created_at, updated_at) VALUES ('bench', 'scim', '{}', '{}', ?, ?)",
            (base, base),
        )
        db.execute(
            "INSERT INTO rule (name, enabled, direction, connection_id, group_ids, attribute_mappings, deprovision_action, poll_interval_seconds, failure_streak, created_at, updated_at) VALUES ('bench', 0, 'OUTBOUND', 1, '[]', '{}', 'DISABLE', 900, 0, ?, ?)",
            (base, base),
        )
        chunk = 50_000
        for start in range(0, count, chunk):
            rows = [
                (
                    1,
                    i // 500 + 1,
                    "USER",
                    f"user-{i:07d}",
                    f"User {i}",
                    "UPDATE",
                    "SUCCESS",
                    f"updated: title, department, manager (HTTP 200 from the target, event {i})",
                    "system",
                    (base + timedelta(seconds=i)).isoformat(sep=" "),
                )
                for i in range(start, min(start + chunk, count))
            ]
            db.executemany(
                "INSERT INTO audit_event (rule_id, run_id, kind, entity_key, entity_name, operation, outcome, message, actor, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        db.commit()


def read_baseline(path: Path, batch: int = 1000) -> float:
    """Seconds to read every event in keyset batches, as the export does, and nothing else."""
    started = time.perf_counter()
    with sqlite3.connect(path) as db:
        after = 0
        while True:
            rows = db.execute(
                "SELECT id, created_at, rule_id, run_id, kind, entity_key, entity_name, operation, outcome, message, actor FROM audit_event WHERE rule_id = 1 AND id > ? ORDER BY id LIMIT ?",
                (after, batch),
            ).fetchall()
            if not rows:
                break
            after = rows[-1][0]
    return time.perf_counter() - started


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def export(base_url: str, pid: int, fmt: str) -> dict[str, float]:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
    before = memory_kb(pid, "VmRSS")
    rows = size = 0
    started = time.perf_counter()
    with httpx.stream(
        "GET", f"{base_url}/audit/export", params={"rule": "UnVsZTox", "format": fmt}, timeout=None
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            rows += chunk.count(b"\n")
            size += len(chunk)
    elapsed = time.perf_counter() - started
    rows -= 1 if fmt == "csv" else 0
    peak = memory_kb(pid, "VmHWM")
    return {
        f"{fmt}_seconds": elapsed,
        f"{fmt}_rows": rows,
        f"{fmt}_rows_per_second": rows / elapsed,
        f"{fmt}_megabytes": size / 1e6,
        f"{fmt}_peak_rss_mb": peak / 1024,
        f"{fmt}_rss_growth_mb": (peak - before) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 events instead of 1,000,000")
    args = parser.parse_args()
    count = 100_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.db"
        started = time.perf_counter()
        seed(path, count)
        print(f"seeded {count:,} audit events in {time.perf_counter() - started:.1f}s")
        baseline = read_baseline(path)
        print(f"baseline: reading them in batches of 1,000: {baseline:.2f}s")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVISYNC_")}
        env |= {
            # Off: the seeded events are from 2025, past the default 90 days.
            "PROVISYNC_AUDIT_RETENTION_DAYS": "0",
            "PROVISYNC_DATABASE_URL": f"sqlite+aiosqlite:///{path}",
            "PROVISYNC_SECRET_KEY": Fernet.generate_key().decode(),
            "PROVISYNC_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "gql.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base_url}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
            figures: dict[str, float] = {"events": count, "baseline_read_seconds": baseline}
            for fmt in ("csv", "jsonl"):
                found = export(base_url, server.pid, fmt)
                assert found[f"{fmt}_rows"] == count, found
                figures |= found
                figures[f"{fmt}_to_read"] = found[f"{fmt}_seconds"] / baseline
                print(
                    f"{fmt:5}: {found[f'{fmt}_seconds']:.2f}s, {found[f'{fmt}_rows_per_second']:,.0f} rows/s, "
                    f"{found[f'{fmt}_megabytes']:.0f} MB, server peak RSS {found[f'{fmt}_peak_rss_mb']:.0f} MB "
                    f"(+{found[f'{fmt}_rss_growth_mb']:.1f} MB; goal under 200 MB), "
                    f"{figures[f'{fmt}_to_read']:.1f}x the bare read"
                )
        finally:
            server.terminate()
            server.wait(timeout=20)
    import json

    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
