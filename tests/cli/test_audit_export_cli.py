"""`provisync audit export` against a running server with tokens, as a subprocess."""

from __future__ import annotations

import base64
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.security.support import secure_server
from tests.support.audit import seed_events, seeded_event
from tests.support.scenario import create_connection, create_rule


def provisync(*args: str, token: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVISYNC_")}
    if token:
        env["PROVISYNC_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "gql.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_audit_export_downloads_a_rule_with_a_progress_bar(
    database_url: str, tmp_path: Path
) -> None:
    with secure_server(database_url, export_batch_size=500, audit_retention_days=0) as server:
        admin = server.client("admin")
        rule = create_rule(admin, create_connection(admin), name="CLI exported")["id"]
        pk = int(base64.b64decode(rule).decode().removeprefix("Rule:"))
        seed_events(database_url, [seeded_event(i, pk) for i in range(5000)])
        out = tmp_path / "audit.jsonl"
        viewer = server.tokens["viewer"]
        done = provisync(
            "audit",
            "export",
            "--rule",
            "CLI exported",
            "--format",
            "jsonl",
            "--since",
            "2025-01-01",
            "--until",
            "2026-01-01",
            "-o",
            str(out),
            "--url",
            server.base_url,
            token=viewer,
        )
        assert done.returncode == 0, done.stderr
        lines = out.read_text().splitlines()
        assert len(lines) == 5000
        first = json.loads(lines[0])
        assert first["ruleId"] == rule and first["entityKey"] == "user-000000"
        assert "5,000/5,000 rows" in done.stderr and "[" + "#" * 30 + "]" in done.stderr

        # CSV to stdout, the whole rule (its own CREATE_RULE event included).
        to_stdout = provisync(
            "audit", "export", "--rule", rule, "--url", server.base_url, token=viewer
        )
        assert to_stdout.returncode == 0, to_stdout.stderr
        rows = list(csv.DictReader(to_stdout.stdout.splitlines()))
        assert len(rows) == 5001 and {r["operation"] for r in rows} == {"UPDATE", "CREATE_RULE"}

        refused = provisync("audit", "export", "--url", server.base_url, token=None)
        assert refused.returncode == 3 and "refused" in refused.stderr
        bad = provisync(
            "audit", "export", "--since", "soon", "--url", server.base_url, token=viewer
        )
        assert bad.returncode == 2 and "since" in bad.stderr
        unknown = provisync(
            "audit", "export", "--rule", "No such", "--url", server.base_url, token=viewer
        )
        assert unknown.returncode == 2 and "no rule named" in unknown.stderr
