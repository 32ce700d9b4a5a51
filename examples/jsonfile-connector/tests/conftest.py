"""Turn on provisync's conformance kit and give it a live target: a JSON file in a temp dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from provisync_jsonfile import store

from provisync_sdk.testing import ConformanceTarget

pytest_plugins = ["provisync_sdk.testing.conformance"]


def _users(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [u["attributes"] for u in json.loads(path.read_text())["users"].values()]


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
    )
