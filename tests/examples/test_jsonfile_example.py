"""The example third-party plugin, pip-installed into a temporary target like any package.

It passes the conformance kit in its own test suite, and a real provisync server process finds
it through its entry point, lists it, and syncs a directory user into its JSON file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import Api
from tests.support.scenario import create_connection, create_rule, create_user, rule_view
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "jsonfile-connector"


def _pip_install(source: Path, target: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *options]
    return subprocess.run(
        [*command, "--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed with pip into its own directory (a copy is built: pip builds in-tree)."""
    work = tmp_path_factory.mktemp("jsonfile")
    source, target = work / "source", work / "site"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "build"))
    done = _pip_install(source, target, "--no-build-isolation")
    if done.returncode != 0 and "bdist_wheel" in done.stdout + done.stderr:
        # setuptools < 70.1 builds wheels only with the `wheel` package; build in isolation then.
        done = _pip_install(source, target)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "provisync_jsonfile" / "plugin.py").exists()
    return target


def _env(site: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVISYNC_")}
    env["PYTHONPATH"] = str(site)
    env.update(extra)
    return env


def test_the_example_passes_the_kit_in_its_own_suite(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        cwd=tmp_path,  # not the example's source: the installed copy is the one under test
        env=_env(installed, TMPDIR=str(tmp_path), PYTHONDONTWRITEBYTECODE="1"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "14 passed, 3 skipped" in done.stdout, done.stdout
    # The example gives the kit a reader of its file, so the truth scenario runs, not skips.
    assert "passed   reported outcomes are the truth at the target" in done.stdout
    assert "jsonfile: plugin jsonfile; directions INBOUND, OUTBOUND" in done.stdout
    assert "write-back (capability WRITE_BACK not supported by jsonfile)" in done.stdout
    assert "preview writes nothing (capability PREVIEW not supported by jsonfile)" in done.stdout


@pytest.fixture
def server(installed: Path, tmp_path: Path) -> Iterator[Api]:
    """A real provisync server process that sees the example only through its entry point."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "provisync.api.app:create_app", "--port", str(port)],
        cwd=ROOT,
        env=_env(installed, PROVISYNC_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        api = Api(base_url)
        yield api
        api.http.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_a_server_lists_and_uses_the_installed_example(server: Api, tmp_path: Path) -> None:
    types = server(
        "{ connectorTypes { name plugin directions capabilities settingsSchema } pluginProblems }"
    )
    jsonfile = next(t for t in types["connectorTypes"] if t["name"] == "jsonfile")
    assert jsonfile["plugin"] == "jsonfile"
    assert set(jsonfile["directions"]) == {"INBOUND", "OUTBOUND"}
    assert "INCREMENTAL_READ" in jsonfile["capabilities"]
    assert jsonfile["settingsSchema"]["required"] == ["path"]
    assert "path" in jsonfile["settingsSchema"]["properties"]
    assert not [p for p in types["pluginProblems"] if "jsonfile" in p], types["pluginProblems"]

    directory = tmp_path / "directory.json"
    connection = create_connection(server, "jsonfile", path=str(directory), name="json file")
    create_user(server, "alice", email="alice@example.com", givenName="Alice")
    rule = create_rule(server, connection, name="to the JSON file", enabled=True)
    assert rule["__typename"] == "Rule", rule
    server.wait_idle(rule["id"])
    deadline = time.monotonic() + 30
    while (summary := rule_view(server, rule["id"])["summary"])["users"]["success"] < 1:
        assert time.monotonic() < deadline, summary
        time.sleep(0.1)
    view = rule_view(server, rule["id"])
    assert view["status"] == "ACTIVE", view
    assert view["summary"]["users"]["impacted"] == 1
    assert view["summary"]["users"]["success"] == 1

    held = json.loads(directory.read_text())["users"].values()
    names = [user["attributes"]["userName"] for user in held]
    assert names == ["alice"]
