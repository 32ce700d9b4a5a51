"""Workday import benchmark: a full inbound import of a large simulated tenant.

The simulator runs in its own process (uvicorn) on loopback. From the same run it measures
the floor, paging through Get_Workers with raw HTTP posts and no parsing into records; the
connector's full read alone (records built, then dropped); and the import: a full resync of
an inbound rule by the sync engine into a fresh SQLite directory (users, states, tallies and
audit events written), with this process's peak RSS. Last line: one JSON object.

    python bench/workday_import.py [--quick] [--workers N] [--page-size N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time

import httpx2
from pydantic import SecretStr

from provisync_sdk import ConnectorContext, EntityKind
from provisync_sdk.manager import ConnectorRegistry
from provisync_workday.reader import get_workers_request, parse_page
from provisync_workday.settings import WorkdaySettings
from provisync_workday.soap import envelope

USER, PASSWORD = "isu_bench", "bench-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_simulator(workers: int, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "provisync_workday.simulator",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--user",
            USER,
            "--password",
            PASSWORD,
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("simulator exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("simulator did not start")


async def floor(settings: WorkdaySettings) -> tuple[float, int]:
    """Raw posts of every page; only page 1 is parsed (for the page count and As_Of)."""
    started = time.perf_counter()
    total_bytes = 0
    async with httpx2.AsyncClient(timeout=120) as client:

        async def post(page: int, as_of: str | None) -> bytes:
            request = get_workers_request(settings, page, settings.page_size, as_of, None)
            response = await client.post(
                settings.endpoint,
                content=envelope(settings, request),
                headers={"Content-Type": "text/xml; charset=utf-8"},
            )
            response.raise_for_status()
            return response.content

        first = await post(1, None)
        info = parse_page(first)
        total_bytes += len(first)
        for page in range(2, info.pages + 1):
            total_bytes += len(await post(page, info.as_of))
    return time.perf_counter() - started, total_bytes


async def connector_read(settings: WorkdaySettings) -> tuple[float, int, int]:
    registry = ConnectorRegistry.discover()
    model = registry.validate_settings(
        "workday", settings.model_dump(exclude={"password"}), {"password": PASSWORD}
    )
    connector = registry.create("workday", model, ConnectorContext("bench", "bench"))
    records = failures = 0
    started = time.perf_counter()
    try:
        async for page in connector.read(EntityKind.USER):
            records += len(page.records)
            failures += len(page.failures)
    finally:
        await connector.aclose()
    return time.perf_counter() - started, records, failures


async def engine_import(settings: WorkdaySettings, workers: int) -> float:
    """A full resync of an inbound Workday rule into a fresh embedded directory."""
    import tempfile

    from sqlalchemy import func
    from sqlmodel import select

    from provisync.engine.engine import RunKind
    from provisync.services import Services
    from provisync.settings import Settings
    from provisync.store.db import upgrade_async
    from provisync.store.models import DirectoryUser, ProvisioningConnection, Rule, SyncRun

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/import.db"
        await upgrade_async(url)
        services = Services.build(
            Settings(database_url=url, scheduler_tick=3600, connector_timeout=600)
        )
        async with services.db.session() as session:
            connection = ProvisioningConnection(
                name="Workday",
                connector_type="workday",
                settings=settings.model_dump(mode="json", exclude={"password"}),
                secrets={"password": PASSWORD},
            )
            session.add(connection)
            await session.flush()
            rule = Rule(
                name="import", enabled=True, direction="INBOUND", connection_id=connection.id or 0
            )
            session.add(rule)
            await session.commit()
        await services.start()
        try:
            started = time.perf_counter()
            run = await services.engine.request_run(rule.id or 0, RunKind.FULL)
            await services.engine.wait_idle(timeout=3600)
            elapsed = time.perf_counter() - started
            async with services.db.session() as session:
                final = await session.get(SyncRun, run.id)
                imported = await session.scalar(select(func.count()).select_from(DirectoryUser))
        finally:
            await services.stop()
    if final is None or final.status != "SUCCEEDED" or imported != workers:
        raise SystemExit(
            f"import ended {final and final.status}: {final and final.error}; {imported} users"
        )
    return elapsed


async def run(workers: int, page_size: int, port: int) -> dict[str, float | int]:
    settings = WorkdaySettings(
        base_url=f"http://127.0.0.1:{port}",
        tenant="acme",
        username=USER,
        password=SecretStr(PASSWORD),
        page_size=page_size,
        request_timeout=120,
    )
    await floor(settings)  # warm-up: first-touch costs on both sides
    floor_s, floor_bytes = await floor(settings)
    read_s, records, failures = await connector_read(settings)
    import_s = await engine_import(settings, workers)
    floor_again_s, _ = await floor(settings)
    best_floor = min(floor_s, floor_again_s)
    if records != workers:
        raise SystemExit(f"read {records} records of {workers} ({failures} failures)")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "workers": workers,
        "page_size": page_size,
        "import_s": round(import_s, 3),
        "connector_read_s": round(read_s, 3),
        "read_to_floor": round(read_s / best_floor, 3),
        "floor_s": round(best_floor, 3),
        "floor_runs_s": [round(floor_s, 3), round(floor_again_s, 3)],  # type: ignore[dict-item]
        "floor_mb_transferred": round(floor_bytes / 1e6, 1),
        "import_to_floor": round(import_s / best_floor, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "records_per_s": round(records / import_s),
        "engine_peak_note": "peak RSS covers the read and the import, in this process",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 workers")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()
    workers = args.workers or (10_000 if args.quick else 50_000)
    port = free_port()
    print(f"starting the simulator with {workers} workers on 127.0.0.1:{port}", flush=True)
    process = start_simulator(workers, port)
    try:
        figures = asyncio.run(run(workers, args.page_size, port))
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(
        f"floor (raw Get_Workers paging): {figures['floor_s']} s; "
        f"connector read alone: {figures['connector_read_s']} s (ratio {figures['read_to_floor']}); "
        f"import into the directory: {figures['import_s']} s ({figures['records_per_s']} workers/s), "
        f"ratio {figures['import_to_floor']}; peak RSS {figures['peak_rss_mb']} MB (pid {os.getpid()})"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
