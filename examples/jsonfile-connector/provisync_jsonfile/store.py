"""The JSON file the connector keeps a directory in, read and written whole, atomically.

Layout::

    {"revision": 7, "writes": 12,
     "users":  {"<id>": {"attributes": {...}, "revision": 7}},
     "groups": {"<id>": {"displayName": "...", "members": ["<user id>"], "revision": 3}}}

``revision`` moves by one on every save and is stamped on what changed, which is what an
incremental read filters on; ``writes`` counts entity writes (tests read it).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from provisync_sdk import RunFailure, TargetUnreachable

T = TypeVar("T")
Document = dict[str, Any]
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def empty() -> Document:
    return {"revision": 0, "writes": 0, "users": {}, "groups": {}}


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def _lock(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(path.resolve()), threading.Lock())


def load(path: Path) -> Document:
    """The document, or an empty one when the file does not exist yet.

    :raises TargetUnreachable: the file's directory does not exist.
    :raises RunFailure: the file is not a directory document.
    """
    if not path.parent.is_dir():
        raise TargetUnreachable(f"directory {path.parent} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty()
    except OSError as exc:
        raise TargetUnreachable(f"cannot read {path.name}: {exc.strerror}") from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise RunFailure(f"{path.name} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("users"), dict):
        raise RunFailure(f"{path.name} is not a directory file")
    document.setdefault("groups", {})
    return document


def save(path: Path, document: Document) -> None:
    """Write the document atomically (a temporary file, then a rename)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(document, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        raise TargetUnreachable(f"cannot write {path.name}: {exc.strerror}") from exc


def update(path: Path, change: Callable[[Document, int], T]) -> T:
    """Load, apply ``change(document, next_revision)``, and save if it counted writes."""
    with _lock(path):
        document = load(path)
        writes = document.get("writes", 0)
        result = change(document, document.get("revision", 0) + 1)
        if document.get("writes", 0) != writes:
            document["revision"] = document.get("revision", 0) + 1
            save(path, document)
        return result


def seed_users(path: Path, records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Add users to the file as a source system would (tests and demos); return their ids."""

    def add(document: Document, revision: int) -> list[str]:
        ids = []
        for record in records:
            user_id = new_id()
            document["users"][user_id] = {"attributes": dict(record), "revision": revision}
            document["writes"] = document.get("writes", 0) + 1
            ids.append(user_id)
        return ids

    return update(path, add)


def change_user(path: Path, user_name: str, changes: Mapping[str, Any]) -> None:
    """Change attributes of the user with this userName, as a source system would."""

    def apply(document: Document, revision: int) -> None:
        for user in document["users"].values():
            if user["attributes"].get("userName") == user_name:
                user["attributes"].update(changes)
                user["revision"] = revision
                document["writes"] = document.get("writes", 0) + 1

    update(path, apply)
