"""A test connector plugin with an in-process target, registered through the plugin manager.

It exercises the engine's contract (outcomes, removals, whole-run failures, a plugin that
raises or hangs) without a network; the SCIM and Workday connectors test real protocols.
Behaviour is chosen by settings, so each test makes the connection it needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

from provisync_sdk import (
    Action,
    AttributeDifference,
    Capability,
    ConnectionTestResult,
    Connector,
    ConnectorContext,
    ConnectorType,
    DeprovisionAction,
    Direction,
    EntityKind,
    EntityOutcome,
    EntityState,
    ReadPage,
    ReconcileRequest,
    TargetUnreachable,
    UserRecord,
    WriteBackOutcome,
    WriteBackRequest,
    hookimpl,
)

TARGETS: dict[str, dict[str, dict[str, Any]]] = {}
SOURCES: dict[str, list[dict[str, Any]]] = {}
CALLS: dict[str, list[str]] = {}


class MemorySettings(BaseModel):
    store: str
    mode: Literal["ok", "raise", "hang", "unreachable"] = "ok"
    fail_users: list[str] = []
    frozen_users: list[str] = []
    create_enabled: bool = True
    delay: float = 0.0
    write_back_attributes: list[str] = []
    reject_write_back: list[str] = []
    token: SecretStr | None = None


MEMORY = ConnectorType(
    name="memory",
    title="In-memory test target",
    directions=frozenset({Direction.OUTBOUND, Direction.INBOUND}),
    capabilities=frozenset(
        {Capability.USERS, Capability.GROUPS, Capability.WRITE_BACK, Capability.PREVIEW}
    ),
    settings_model=MemorySettings,
    description="Test plugin.",
)


class MemoryConnector(Connector[MemorySettings]):
    @property
    def target(self) -> dict[str, dict[str, Any]]:
        return TARGETS.setdefault(self.settings.store, {})

    async def _behave(self, what: str) -> None:
        CALLS.setdefault(self.settings.store, []).append(what)
        if self.settings.delay:
            await asyncio.sleep(self.settings.delay)
        if self.settings.mode == "raise":
            raise RuntimeError("memory plugin exploded")
        if self.settings.mode == "hang":
            await asyncio.sleep(3600)
        if self.settings.mode == "unreachable":
            raise TargetUnreachable(f"memory target {self.settings.store} does not answer")

    async def test_connection(self) -> ConnectionTestResult:
        await self._behave("test")
        return ConnectionTestResult(
            ok=True, message="memory target answers", details={"users": "yes"}
        )

    async def reconcile(self, request: ReconcileRequest) -> Sequence[EntityOutcome]:
        await self._behave("preview" if request.dry_run else "reconcile")
        # A dry run plans against a copy of the target: the real one stays as it is.
        target = dict(self.target) if request.dry_run else self.target
        out: list[EntityOutcome] = []
        for user in request.users:
            name = str(user.attributes.get("userName"))
            tid = f"u-{user.key}"
            if name in self.settings.fail_users:
                out.append(
                    EntityOutcome(
                        kind=EntityKind.USER,
                        key=user.key,
                        state=EntityState.FAILED,
                        reason="HTTP 400: target rejected the user",
                    )
                )
                continue
            current = target.get(tid)
            if current is None and not self.settings.create_enabled:
                out.append(
                    EntityOutcome(
                        kind=EntityKind.USER,
                        key=user.key,
                        state=EntityState.UNSYNCED,
                        reason="create is turned off",
                    )
                )
                continue
            if (
                current is not None
                and name in self.settings.frozen_users
                and current != dict(user.attributes)
            ):
                diffs = tuple(
                    AttributeDifference(
                        attribute=k, source_value=str(v), target_value=str(current.get(k))
                    )
                    for k, v in user.attributes.items()
                    if current.get(k) != v
                )
                out.append(
                    EntityOutcome(
                        kind=EntityKind.USER,
                        key=user.key,
                        state=EntityState.PARTIAL,
                        differences=diffs,
                        target_id=tid,
                    )
                )
                continue
            action = (
                Action.CREATE
                if current is None
                else (Action.UPDATE if current != dict(user.attributes) else Action.NONE)
            )
            changes = tuple(
                AttributeDifference(
                    attribute=k, source_value=str(v), target_value=str(current.get(k))
                )
                for k, v in user.attributes.items()
                if request.dry_run and current is not None and current.get(k) != v
            )
            target[tid] = dict(user.attributes)
            out.append(
                EntityOutcome(
                    kind=EntityKind.USER,
                    key=user.key,
                    state=EntityState.SUCCESS,
                    action=action,
                    target_id=tid,
                    differences=changes,
                )
            )
        for group in request.groups:
            tid = f"g-{group.key}"
            members = sorted(m.target_id or "?" for m in group.members)
            wanted = {"displayName": group.display_name, "members": members}
            action = (
                Action.CREATE
                if tid not in target
                else (Action.UPDATE if target[tid] != wanted else Action.NONE)
            )
            target[tid] = wanted
            out.append(
                EntityOutcome(
                    kind=EntityKind.GROUP,
                    key=group.key,
                    state=EntityState.SUCCESS,
                    action=action,
                    target_id=tid,
                )
            )
        for removal in request.removals:
            tid = removal.target_id or ""
            if removal.action is DeprovisionAction.DELETE:
                target.pop(tid, None)
                action = Action.DELETE
            else:
                if tid in target:
                    target[tid] = {**target[tid], "active": False}
                action = Action.DISABLE
            out.append(
                EntityOutcome(
                    kind=removal.kind,
                    key=removal.key,
                    state=EntityState.SUCCESS,
                    action=action,
                    removed=True,
                )
            )
        return out

    async def read(self, kind: EntityKind, watermark: str | None = None) -> AsyncIterator[ReadPage]:  # type: ignore[override]
        await self._behave("read")
        records = SOURCES.get(self.settings.store, [])
        for start in range(0, len(records), 2):
            chunk = records[start : start + 2]
            yield ReadPage(
                records=[UserRecord(key=r["key"], attributes=r["attributes"]) for r in chunk],
                total=len(records),
                watermark=str(len(records)),
            )

    def write_back_attributes(self) -> frozenset[str]:
        return frozenset(self.settings.write_back_attributes)

    async def write_back(self, requests: Sequence[WriteBackRequest]) -> Sequence[WriteBackOutcome]:
        await self._behave("write_back")
        out = []
        for request in requests:
            if request.key in self.settings.reject_write_back:
                out.append(
                    WriteBackOutcome(
                        key=request.key,
                        ok=False,
                        reason="Validation error: phone needs a country code",
                    )
                )
                continue
            for record in SOURCES.get(self.settings.store, []):
                if record["key"] == request.key:
                    record["attributes"].update(request.attributes)
            out.append(WriteBackOutcome(key=request.key, ok=True))
        return out


@hookimpl
def provisync_connector_types() -> list[ConnectorType]:
    return [MEMORY]


@hookimpl
def provisync_create_connector(
    connector_type: ConnectorType, settings: BaseModel, context: ConnectorContext
) -> Connector[Any] | None:
    if connector_type.name != "memory":
        return None
    assert isinstance(settings, MemorySettings)
    return MemoryConnector(settings, context)
