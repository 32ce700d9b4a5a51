"""provisync installs beside the PyPI packages named ``gql`` and ``connectors`` (issue 15).

Both used to be provisync's own import names, so installing either overwrote provisync's files.
This test builds a fresh virtual environment, installs provisync (a regular, non-editable
install) together with both packages, and checks the command, a plugin load and the demo.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


def run(python: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_provisync_installs_and_runs_beside_pypi_gql_and_connectors(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = run(python, "-m", "pip", "install", "--quiet", str(ROOT), "gql", "connectors")
    assert install.returncode == 0, install.stderr[-2000:]
    names = run(python, "-m", "pip", "show", "gql", "connectors")
    assert "Name: gql" in names.stdout and "Name: connectors" in names.stdout

    cli = env_dir / "bin" / "provisync"
    helped = subprocess.run([str(cli), "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert "demo" in helped.stdout

    loaded = run(
        python,
        "-c",
        "import gql, connectors; from provisync_sdk.manager import ConnectorRegistry;"
        "print(sorted(t.connector_type.name for t in ConnectorRegistry.discover().all_types()))",
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "['scim', 'workday']" in loaded.stdout

    port = free_port()
    demo = subprocess.Popen(
        [str(cli), "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PROVISYNC_")},
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
            except httpx.HTTPError:
                status = None
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, demo.stdout.read() if demo.poll() is not None else "no answer"
        rules = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ rules(first: 5) { totalCount } connectorTypes { name } }"},
            timeout=10,
        ).json()
        assert {t["name"] for t in rules["data"]["connectorTypes"]} >= {"scim", "workday"}
    finally:
        demo.terminate()
        demo.wait(timeout=30)
    assert sys.executable  # the suite's own interpreter was not touched
