"""The connector: reconcile users and groups into the JSON file, read users out of it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from provisync_jsonfile import store
from provisync_jsonfile.store import Document
from provisync_sdk import (
    Action,
    ConnectionTestResult,
    Connector,
    DeprovisionAction,
    DesiredGroup,
    DesiredUser,
    EntityKind,
    EntityOutcome,
    EntityState,
    GroupRecord,
    MemberRef,
    ReadPage,
    ReconcileRequest,
    Removal,
    RunFailure,
    UserRecord,
)

# The file's own validation rule: what a real system would answer with a 400.
_USER_NAME = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")
PAGE_SIZE = 100


class JsonFileSettings(BaseModel):
    """Settings of a ``jsonfile`` connection."""

    path: str = Field(description="Path of the JSON file; its directory must exist.")


class JsonFileConnector(Connector[JsonFileSettings]):
    """One JSON file, read and written whole under a per-file lock."""

    @property
    def path(self) -> Path:
        return Path(self.settings.path)

    async def test_connection(self) -> ConnectionTestResult:
        try:
            document = await asyncio.to_thread(store.load, self.path)
        except RunFailure as exc:
            return ConnectionTestResult(ok=False, message=str(exc))
        users, groups = len(document["users"]), len(document["groups"])
        return ConnectionTestResult(
            ok=True,
            message=f"{self.path.name}: {users} users, {groups} groups",
            details={"users": str(users), "groups": str(groups)},
        )

    async def reconcile(self, request: ReconcileRequest) -> Sequence[EntityOutcome]:
        return await asyncio.to_thread(store.update, self.path, _Reconciler(request).apply)

    async def read(  # type: ignore[override]
        self, kind: EntityKind, watermark: str | None = None
    ) -> AsyncIterator[ReadPage]:
        document = await asyncio.to_thread(store.load, self.path)
        since = int(watermark) if watermark and watermark.isdigit() else -1
        records: list[UserRecord | GroupRecord] = []
        if kind is EntityKind.USER:
            records += [
                UserRecord(key=user_id, attributes=user["attributes"])
                for user_id, user in sorted(document["users"].items())
                if user.get("revision", 0) > since
            ]
        else:
            records += [
                GroupRecord(
                    key=group_id,
                    display_name=group["displayName"],
                    members=tuple(MemberRef(key=m, target_id=m) for m in group["members"]),
                )
                for group_id, group in sorted(document["groups"].items())
                if group.get("revision", 0) > since
            ]
        next_watermark = str(document.get("revision", 0))
        for start in range(0, max(len(records), 1), PAGE_SIZE):
            yield ReadPage(
                records=records[start : start + PAGE_SIZE],
                total=len(records),
                watermark=next_watermark,
            )


class _Reconciler:
    """Applies one request to a loaded document (runs in a worker thread, under the lock)."""

    def __init__(self, request: ReconcileRequest) -> None:
        self.request = request
        self.document: Document = {}
        self.revision = 0

    def _wrote(self) -> None:
        self.document["writes"] = self.document.get("writes", 0) + 1

    def apply(self, document: Document, revision: int) -> list[EntityOutcome]:
        self.document, self.revision = document, revision
        outcomes = [self._user(user) for user in self.request.users]
        outcomes += [self._group(group) for group in self.request.groups]
        outcomes += [
            self._remove(removal)
            for removal in self.request.removals
            if removal.action is not DeprovisionAction.NOTHING
        ]
        return outcomes

    def _find_user(self, user: DesiredUser) -> str | None:
        users = self.document["users"]
        if user.target_id in users:
            return user.target_id
        name = user.attributes.get("userName")
        return next((i for i, u in users.items() if u["attributes"].get("userName") == name), None)

    def _user(self, user: DesiredUser) -> EntityOutcome:
        name = str(user.attributes.get("userName") or "")
        if not _USER_NAME.match(name):
            return EntityOutcome(
                kind=EntityKind.USER,
                key=user.key,
                state=EntityState.FAILED,
                reason=f"invalid userName {name!r}: use letters, digits and . _ @ + - only",
            )
        wanted = {k: v for k, v in user.attributes.items() if v is not None}
        user_id = self._find_user(user)
        action = Action.NONE
        if user_id is None:
            user_id, action = store.new_id(), Action.CREATE
        elif self.document["users"][user_id]["attributes"] != wanted:
            action = Action.UPDATE
        if action is not Action.NONE:
            self.document["users"][user_id] = {"attributes": wanted, "revision": self.revision}
            self._wrote()
        return EntityOutcome(
            kind=EntityKind.USER,
            key=user.key,
            state=EntityState.SUCCESS,
            action=action,
            target_id=user_id,
        )

    def _group(self, group: DesiredGroup) -> EntityOutcome:
        groups = self.document["groups"]
        users = self.document["users"]
        members = sorted(
            {m.target_id for m in group.members if m.target_id and m.target_id in users}
        )
        wanted: dict[str, Any] = {"displayName": group.display_name, "members": members}
        group_id = group.target_id if group.target_id in groups else None
        if group_id is None:
            group_id = next(
                (i for i, g in groups.items() if g["displayName"] == group.display_name), None
            )
        action = Action.NONE
        if group_id is None:
            group_id, action = store.new_id(), Action.CREATE
        elif {k: groups[group_id].get(k) for k in wanted} != wanted:
            action = Action.UPDATE
        if action is not Action.NONE:
            groups[group_id] = {**wanted, "revision": self.revision}
            self._wrote()
        # A group is in sync only when every member it should have is an account here.
        missing = [m.key for m in group.members if not m.target_id or m.target_id not in users]
        return EntityOutcome(
            kind=EntityKind.GROUP,
            key=group.key,
            state=EntityState.PARTIAL if missing else EntityState.SUCCESS,
            action=action,
            target_id=group_id,
            reason=f"{len(missing)} member(s) have no account in the file" if missing else None,
        )

    def _remove(self, removal: Removal) -> EntityOutcome:
        table = self.document["users" if removal.kind is EntityKind.USER else "groups"]
        entry = table.get(removal.target_id or "")
        if removal.action is DeprovisionAction.DELETE:
            action = Action.DELETE
            if entry is not None:
                del table[removal.target_id or ""]
                for group in self.document["groups"].values():
                    if removal.target_id in group["members"]:
                        group["members"].remove(removal.target_id)
                self._wrote()
        else:
            action = Action.DISABLE
            if entry is not None and removal.kind is EntityKind.USER:
                if entry["attributes"].get("active", True):
                    entry["attributes"]["active"] = False
                    entry["revision"] = self.revision
                    self._wrote()
        return EntityOutcome(
            kind=removal.kind,
            key=removal.key,
            state=EntityState.SUCCESS,
            action=action,
            target_id=removal.target_id,
            removed=True,
        )
