"""Structured logs: JSON lines, and the rule and run ids on a run's log lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gql.observability.logs import JsonFormatter, RunContextFilter, TextFormatter, bind_run
from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user


@pytest.fixture
def engine_lines() -> Iterator[io.StringIO]:
    """The engine's log lines as JSON, through the same filter and formatter as production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RunContextFilter())
    logger = logging.getLogger("provisync.engine")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_json_formatter_writes_one_object_per_line_with_extras() -> None:
    record = logging.LogRecord("provisync.x", logging.ERROR, __file__, 1, "a %s", ("b",), None)
    record.rule_id = 7
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "a b" and entry["level"] == "ERROR" and entry["rule_id"] == 7
    assert entry["logger"] == "provisync.x" and entry["time"].endswith("+00:00")


def test_the_run_context_reaches_every_line_logged_in_the_runs_task() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    handler.addFilter(RunContextFilter())
    logger = logging.getLogger("provisync.test.context")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    async def a_run() -> None:
        bind_run(3, 41)
        logger.info("inside")

    async def main() -> None:
        await asyncio.create_task(a_run())
        logger.info("outside")

    try:
        asyncio.run(main())
    finally:
        logger.removeHandler(handler)
    inside, outside = stream.getvalue().splitlines()
    assert inside.endswith("inside [rule=3 run=41]")
    assert outside.endswith("outside")


def test_run_lines_carry_the_rule_and_run_ids(api: Api, engine_lines: io.StringIO) -> None:
    create_user(api, "log1")
    ok = create_rule(api, create_connection(api), name="Logged", enabled=True)
    down = create_rule(api, create_connection(api, mode="unreachable"), name="Down", enabled=True)
    api.wait_idle(ok["id"])
    api.wait_idle(down["id"])
    entries = [json.loads(line) for line in engine_lines.getvalue().splitlines()]
    ended = [e for e in entries if "ended" in e["message"]]
    assert {e["run_status"] for e in ended} == {"SUCCEEDED", "FAILED"}
    for entry in ended:
        assert isinstance(entry["rule_id"], int) and isinstance(entry["run_id"], int)
        assert f"run {entry['run_id']} of rule {entry['rule_id']}" in entry["message"]
    # The engine's own failure line has no extra=: its ids come from the run's context.
    failed = [
        e for e in entries if e["message"].endswith("does not answer") and "failed" in e["message"]
    ]
    assert failed and failed[0]["level"] == "WARNING"
    assert failed[0]["run_id"] == next(e["run_id"] for e in ended if e["run_status"] == "FAILED")
    assert (
        next(e for e in ended if e["run_status"] == "FAILED")["error_code"] == "TARGET_UNREACHABLE"
    )


def test_provisync_logs_json_lines_when_asked(tmp_path: Path) -> None:
    # Alembic's lines show only at DEBUG (at INFO a db command prints none of them).
    env = {**os.environ, "PROVISYNC_LOG_FORMAT": "json", "PROVISYNC_LOG_LEVEL": "DEBUG"}
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "gql.cli", "db", "upgrade", "--database-url", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, "alembic logs its upgrade steps"
    entries = [json.loads(line) for line in lines]
    assert any(e["logger"].startswith("alembic") for e in entries)


def test_db_and_token_commands_print_no_alembic_info_lines(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVISYNC_")}
    url = f"sqlite+aiosqlite:///{tmp_path / 'quiet.db'}"
    for args in (
        ["db", "upgrade", "--database-url", url],
        ["token", "create", "--name", "quiet", "--role", "viewer", "--database-url", url],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "gql.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "alembic" not in done.stderr, done.stderr
        assert "Context impl" not in done.stdout + done.stderr


def test_outgoing_http_requests_are_debug_lines() -> None:
    import httpx

    from gql.observability.logs import configure_logging
    from tests.support.servers import free_port

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        for level, shown in ((logging.INFO, False), (logging.DEBUG, True)):
            configure_logging("text", level)
            root.addHandler(Keep())
            records.clear()
            with httpx.Client() as client:
                try:
                    client.get(f"http://127.0.0.1:{free_port()}/")
                except httpx.HTTPError:
                    pass  # nothing listens: the request line is logged all the same
                logging.getLogger("httpx").info("HTTP Request: GET http://example.test/ 200")
            lines = [r for r in records if r.name.startswith("httpx")]
            assert bool(lines) is shown, (level, lines)
            assert all(r.levelno == logging.DEBUG for r in lines)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
