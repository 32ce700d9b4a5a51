"""Requests per second of ``provisync serve`` under uvicorn on loopback, measured with wrk.

The database is seeded with 20 rules and their states. Three queries: the console's main
query (20 rules with their summaries), the same without summaries, and ``{ __typename }``,
the framework's ceiling; and the plain rules query again with an API token (the token is
looked up on every request). Last line: JSON with rules_summary_rps, rules_plain_rps,
typename_rps, rules_plain_token_rps, summary_overhead_ratio (with summaries over without;
goal >= 0.8) and token_overhead_ratio (with a token over without).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.seed import seed  # noqa: E402

RULES_SUMMARY = """{ rules(first: 20) { totalCount edges { node { id name status direction lastSync
  source { name } target { name }
  summary { lastSync users { impacted success unsynced partialSynced failed writeBackFailures }
            groups { impacted success unsynced partialSynced failed } } } } } }"""
RULES_PLAIN = """{ rules(first: 20) { totalCount edges { node { id name status direction lastSync
  source { name } target { name } } } } }"""
TYPENAME = "{ __typename }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, query: str, seconds: int, connections: int, token: str | None = None) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        body = json.dumps({"query": query}).replace("\\", "\\\\").replace('"', '\\"')
        script.write(
            f'wrk.method = "POST"\nwrk.body = "{body}"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        if token:
            script.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


async def _token(database_url: str) -> str:
    """A viewer token in the benchmark's database (the store is migrated first)."""
    from provisync.security.tokens import create_token
    from provisync.store.db import Database, upgrade_async

    await upgrade_async(database_url)
    db = Database(database_url)
    try:
        return await create_token(db, name="bench", role="viewer", actor="bench")
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s per query instead of 10")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    seconds = 3 if args.quick else 10
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        seed(path, [(f"rule {i}", 5_000) for i in range(20)])
        token = asyncio.run(_token(f"sqlite+aiosqlite:///{path}"))
        port = free_port()
        env = {
            **os.environ,
            "PROVISYNC_DATABASE_URL": f"sqlite+aiosqlite:///{path}",
            "PROVISYNC_SCHEDULER_TICK": "3600",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "provisync.api.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            cwd=ROOT,
        )
        url = f"http://127.0.0.1:{port}/graphql"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            check = httpx.post(url, json={"query": RULES_SUMMARY}).json()
            assert not check.get("errors") and len(check["data"]["rules"]["edges"]) == 20, check
            assert (
                check["data"]["rules"]["edges"][0]["node"]["summary"]["users"]["impacted"] == 5_000
            )
            figures = {}
            for name, query, bearer in (
                ("typename_rps", TYPENAME, None),
                ("rules_plain_rps", RULES_PLAIN, None),
                ("rules_summary_rps", RULES_SUMMARY, None),
                ("rules_plain_token_rps", RULES_PLAIN, token),
            ):
                wrk(url, query, 1, args.connections, bearer)  # warm up
                figures[name] = wrk(url, query, seconds, args.connections, bearer)
                print(f"{name}: {figures[name]:.1f} requests/s")
        finally:
            server.terminate()
            server.wait(timeout=10)
    ratio = figures["rules_summary_rps"] / figures["rules_plain_rps"]
    token_ratio = figures["rules_plain_token_rps"] / figures["rules_plain_rps"]
    print(f"summary overhead ratio (with / without summaries): {ratio:.2f} (goal >= 0.8)")
    print(f"token overhead ratio (with / without an API token): {token_ratio:.2f}")
    print(
        json.dumps(
            {
                **{k: round(v, 1) for k, v in figures.items()},
                "summary_overhead_ratio": round(ratio, 3),
                "token_overhead_ratio": round(token_ratio, 3),
                "seconds_per_query": seconds,
                "connections": args.connections,
            }
        )
    )


if __name__ == "__main__":
    main()
