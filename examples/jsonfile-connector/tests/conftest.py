"""Turn on provisync's conformance kit and give it a live target: a JSON file in a temp dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from provisync_jsonfile import store

from provisync_sdk.testing import ConformanceTarget
from provisync_sdk.testing.truth import TargetAccount

pytest_plugins = ["provisync_sdk.testing.conformance"]


def _users(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [u["attributes"] for u in json.loads(path.read_text())["users"].values()]


class JsonFileReader:
    """Reads the file itself, not through the connector, so the kit's truth scenario runs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _table(self, name: str) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        table: dict[str, Any] = json.loads(self.path.read_text())[name]
        return table

    async def users(self) -> list[TargetAccount]:
        return [
            TargetAccount(
                id=user_id,
                name=str(user["attributes"].get("userName") or ""),
                attributes=user["attributes"],
            )
            for user_id, user in self._table("users").items()
        ]

    async def groups(self) -> list[TargetAccount]:
        return [
            TargetAccount(
                id=group_id, name=group["displayName"], members=frozenset(group["members"])
            )
            for group_id, group in self._table("groups").items()
        ]


@pytest.fixture
def conformance_target(tmp_path: Path) -> ConformanceTarget:
    path = tmp_path / "directory.json"

    def user_active(name: str) -> bool | None:
        found = [u for u in _users(path) if u.get("userName") == name]
        return bool(found[0].get("active", True)) if found else None

    def group_exists(name: str) -> bool:
        groups = json.loads(path.read_text())["groups"].values() if path.exists() else []
        return any(g["displayName"] == name for g in groups)

    return ConformanceTarget(
        connector_type="jsonfile",
        settings={"path": str(path)},
        count_writes=lambda: store.load(path)["writes"],
        user_exists=lambda name: any(u.get("userName") == name for u in _users(path)),
        user_active=user_active,
        group_exists=group_exists,
        seed_users=lambda records: store.seed_users(path, records),
        change_user=lambda name, changes: store.change_user(path, name, changes),
        rejected_user_name="not a valid name",
        unreachable_settings={"path": str(tmp_path / "missing" / "directory.json")},
        timeout=10,
        truth_reader=JsonFileReader(path),
    )
