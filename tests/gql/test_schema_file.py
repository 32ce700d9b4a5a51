"""The committed schema.graphql is the exported schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from provisync.api.schema import schema

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", (
        "run: provisync export-schema --output schema.graphql"
    )


def test_export_schema_command_prints_the_same() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "provisync.cli", "export-schema"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == (ROOT / "schema.graphql").read_text()


def test_contract_names_are_present() -> None:
    sdl = schema.as_str()
    for name in (
        "enum SyncStatus",
        "enum SyncDirection",
        "enum EntityKind",
        "enum EntitySyncState",
        "enum SyncRunStatus",
        "interface Error",
        "partialSynced: Int!",
        "writeBackFailures: Int",
        "syncRunProgress(runId: ID!): SyncRun!",
        "fullResync(ruleId: ID!): FullResyncResult!",
        "setRuleEnabled(ruleId: ID!, enabled: Boolean!): SetRuleEnabledResult!",
        "connectorTypes: [ConnectorType!]!",
        "node(id: ID!): Node",
    ):
        assert name in sdl, name
