"""A full outbound resync in the scale-out mode with 1, 2 and 4 ``provisync worker`` processes.

For each worker count: a fresh PostgreSQL database (``provisync db upgrade``), 20,000 directory
users (``--quick``: 2,000), a fresh scim2-server in its own process, one API replica in queue
mode (uvicorn) that creates the rule, then the workers; the time is from the workers' start to
the run's end. Where the time goes: the CPU seconds of the SCIM server, of the workers and of
PostgreSQL's backends over the run, read from /proc, and the SCIM requests by kind. The resyncs
are split into chunks (``--chunk-size``, 2000), and one more round, one worker with the resync
not split (the default setting), is the baseline. ``--target-delay`` makes the target answer
each request after a delay, as a SaaS across a network would. Last line: JSON with
seconds_by_workers, speedup_2 and speedup_4 (relative to one worker, split), the unsplit
baseline, and the CPU split.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("PROVISYNC_BENCH_DATABASE", "postgresql://postgres@127.0.0.1:5432/test")
TICKS = os.sysconf("SC_CLK_TCK")
KEY = Fernet.generate_key().decode()  # every process of one round shares it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def wait_http(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


def gql(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables}).json()
    assert not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


def one_round(users: int, workers: int, chunk_size: int, delay: float) -> dict[str, Any]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{SERVER.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PROVISYNC_")},
        "PROVISYNC_DATABASE_URL": url,
        "PROVISYNC_EXECUTION": "queue",
        "PROVISYNC_SECRET_KEY": KEY,
        "PROVISYNC_RESYNC_CHUNK_SIZE": str(chunk_size),
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [sys.executable, "-m", "provisync.cli", "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO directory_user (user_name, given_name, family_name, email, "
                    "active, created_at, updated_at) VALUES (%s, %s, 'Bench', %s, true, now(), now())",
                    [(f"u{i:06d}", f"U{i}", f"u{i:06d}@example.com") for i in range(users)],
                )
            conn.commit()
        scim_port, api_port = free_port(), free_port()
        scim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "--app-dir",
                "bench",
                "scim_bench_target:build",
                "--port",
                str(scim_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env={**os.environ, "BENCH_TARGET_DELAY": str(delay)},
        )
        processes.append(scim)
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "provisync.api.app:create_app",
                "--port",
                str(api_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        processes.append(api)
        base = f"http://127.0.0.1:{api_port}"
        wait_http(f"http://127.0.0.1:{scim_port}/v2/ServiceProviderConfig", scim, "scim2-server")
        wait_http(f"{base}/healthz", api, "the API")
        connection = gql(
            base,
            """mutation($i: CreateProvisioningConnectionInput!) { createProvisioningConnection(input: $i) {
                 ... on ProvisioningConnection { id } } }""",
            {
                "i": {
                    "name": "bench",
                    "connectorType": "scim",
                    "settings": {"base_url": f"http://127.0.0.1:{scim_port}/v2"},
                }
            },
        )["createProvisioningConnection"]["id"]
        rule = gql(
            base,
            """mutation($i: CreateRuleInput!) { createRule(input: $i) { ... on Rule { id } } }""",
            {
                "i": {
                    "name": "bench",
                    "connectionId": connection,
                    "direction": "OUTBOUND",
                    "enabled": True,
                }
            },
        )["createRule"]["id"]
        pool = [
            subprocess.Popen(
                [sys.executable, "-m", "provisync.cli", "worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        processes += pool
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            while (
                conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0] < workers
            ):
                time.sleep(0.1)  # the workers are up before the clock starts
        pg_before = cpu_seconds(postgres_pids())
        scim_before = cpu_seconds([scim.pid])
        workers_before = cpu_seconds([p.pid for p in pool])
        started = time.monotonic()
        gql(
            base,
            "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
            {"id": rule},
        )
        run = gql(
            base,
            "query($id: ID!) { rule(id: $id) { runs(first: 1) { edges { node { id } } } } }",
            {"id": rule},
        )["rule"]["runs"]["edges"][0]["node"]["id"]
        while True:
            node = gql(
                base,
                "query($id: ID!) { node(id: $id) { ... on SyncRun { status error } } }",
                {"id": run},
            )["node"]
            if node["status"] in ("SUCCEEDED", "FAILED"):
                break
            time.sleep(0.2)
        seconds = time.monotonic() - started
        assert node["status"] == "SUCCEEDED", node
        requests = httpx.get(f"http://127.0.0.1:{scim_port}/bench/requests").json()
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            chunks, pushers = conn.execute(
                "SELECT count(*), count(DISTINCT split_part(owner, ':', 2)) FROM run_chunk"
            ).fetchone()
        return {
            "seconds": seconds,
            "chunks": chunks,
            "worker_processes_that_pushed_chunks": pushers,
            "target_requests": requests,
            "cpu_scim_server": cpu_seconds([scim.pid]) - scim_before,
            "cpu_workers": cpu_seconds([p.pid for p in pool]) - workers_before,
            "cpu_postgres": cpu_seconds(postgres_pids()) - pg_before,
        }
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def describe(label: str, figures: dict[str, Any]) -> None:
    print(
        f"{label}: {figures['seconds']:.1f} s; CPU s: scim2-server "
        f"{figures['cpu_scim_server']:.1f}, workers {figures['cpu_workers']:.1f}, "
        f"postgres {figures['cpu_postgres']:.1f}; {figures['chunks']} chunks, pushed by "
        f"{figures['worker_processes_that_pushed_chunks']} worker process(es)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 users instead of 20,000")
    parser.add_argument("--users", type=int, help="directory users (default 20,000)")
    parser.add_argument(
        "--chunk-size",
        type=int,
        help="users per chunk of the split resyncs (default 2000; --quick: 200)",
    )
    parser.add_argument(
        "--target-delay",
        type=float,
        default=0.0,
        help="seconds the SCIM target waits before each answer (a SaaS across a network)",
    )
    args = parser.parse_args()
    users = args.users or (2_000 if args.quick else 20_000)
    chunk_size = args.chunk_size or (200 if args.quick else 2000)
    # The baseline: one worker, the resync not split (the default setting).
    unsplit = one_round(users, 1, 0, args.target_delay)
    describe("1 worker, not split", unsplit)
    rounds = {}
    for workers in (1, 2, 4):
        rounds[workers] = one_round(users, workers, chunk_size, args.target_delay)
        describe(f"{workers} worker(s), split", rounds[workers])
    one = rounds[1]["seconds"]
    print(
        json.dumps(
            {
                "users": users,
                "chunk_size": chunk_size,
                "target_delay_s": args.target_delay,
                "unsplit_1_worker_s": round(unsplit["seconds"], 2),
                "seconds_by_workers": {w: round(r["seconds"], 2) for w, r in rounds.items()},
                "speedup_2": round(one / rounds[2]["seconds"], 2),
                "speedup_4": round(one / rounds[4]["seconds"], 2),
                "split_to_unsplit_by_workers": {
                    w: round(unsplit["seconds"] / r["seconds"], 2) for w, r in rounds.items()
                },
                "chunks": rounds[1]["chunks"],
                "pushing_processes_by_workers": {
                    w: r["worker_processes_that_pushed_chunks"] for w, r in rounds.items()
                },
                "cpu_seconds_by_workers": {
                    w: {k: round(v, 1) for k, v in r.items() if k.startswith("cpu")}
                    for w, r in {"unsplit_1": unsplit, **rounds}.items()
                },
                "target_requests_by_workers": {
                    w: r["target_requests"] for w, r in {"unsplit_1": unsplit, **rounds}.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
