"""One scenario's connector, reached only through the SDK registry, with the engine's checks.

Every call is bounded by the target's timeout (the engine does the same), and every outcome is
checked the way the engine relies on it: one per entity asked, a reason on each FAILED or
PARTIAL one, no secret anywhere, ``removed`` exactly on removals.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from connectors import (
    Action,
    Capability,
    Connector,
    ConnectorContext,
    ConnectorRegistry,
    ConnectorType,
    DeprovisionAction,
    Direction,
    EntityKind,
    EntityOutcome,
    EntityState,
    ReadPage,
    ReconcileRequest,
    Removal,
    UserRecord,
    WriteBackOutcome,
    WriteBackRequest,
)
from connectors.redaction import Scrubber
from connectors.testing.target import ConformanceTarget

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
Key = tuple[EntityKind, str]


SCENARIO_ATTRIBUTE = "provisync_conformance_scenario"


def scenario(title: str) -> Callable[[F], F]:
    """Name a test of the kit; the terminal summary reports it under this title."""

    def name(test: F) -> F:
        setattr(test, SCENARIO_ATTRIBUTE, title)
        return test

    return name


def unique_name(label: str) -> str:
    """A userName no earlier run used, so scenarios work against targets that keep state."""
    return f"kit-{uuid.uuid4().hex[:10]}-{label}"


class KitSession:
    """A connector instance for one scenario, and what it created (deleted at the end)."""

    def __init__(
        self, registry: ConnectorRegistry, target: ConformanceTarget, connector: Connector[Any]
    ) -> None:
        self.registry = registry
        self.target = target
        self.connector = connector
        self.created: dict[Key, str | None] = {}

    @property
    def connector_type(self) -> ConnectorType:
        ctype = self.registry.get(self.target.connector_type)
        assert ctype is not None
        return ctype

    async def call(self, awaitable: Awaitable[T], what: str) -> T:
        """Await a connector coroutine; a hang fails the scenario instead of the suite."""
        try:
            return await asyncio.wait_for(awaitable, self.target.timeout)
        except TimeoutError:
            pytest.fail(f"the connector did not finish {what} within {self.target.timeout:g}s")

    def check_text(self, text: str | None, where: str) -> None:
        """Fail when ``text`` shows a secret; the failure shows the text redacted."""
        scrub = Scrubber(self.target.secret_values(), self.target.user_values())
        for form in scrub.forms:
            if form in (text or ""):
                raise AssertionError(f"{where} shows a secret value: {scrub(text)!r}")

    async def reconcile(self, request: ReconcileRequest) -> dict[Key, EntityOutcome]:
        """Reconcile and check the outcomes; return them by (kind, key)."""
        result = await self.call(self.connector.reconcile(request), "reconcile")
        asked: dict[Key, bool] = {(EntityKind.USER, u.key): False for u in request.users}
        asked.update({(EntityKind.GROUP, g.key): False for g in request.groups})
        asked.update(
            {
                (r.kind, r.key): True
                for r in request.removals
                if r.action is not DeprovisionAction.NOTHING
            }
        )
        by_key: dict[Key, EntityOutcome] = {}
        for outcome in result:
            assert isinstance(outcome, EntityOutcome), f"reconcile returned {outcome!r}"
            key = (outcome.kind, outcome.key)
            assert key in asked, f"an outcome for an entity not asked for: {outcome!r}"
            assert key not in by_key, f"two outcomes for one entity: {outcome!r}"
            by_key[key] = outcome
            self.check_outcome(outcome, removal=asked[key], preview=request.dry_run)
        missing = sorted(f"{kind.value} {key}" for kind, key in asked if (kind, key) not in by_key)
        assert not missing, f"reconcile reported no outcome for: {', '.join(missing)}"
        if request.dry_run:
            return by_key  # a preview created and removed nothing
        for key, outcome in by_key.items():
            if outcome.removed and outcome.state is EntityState.SUCCESS:
                self.created.pop(key, None)
            elif outcome.target_id:
                self.created[key] = outcome.target_id
        return by_key

    def check_outcome(
        self, outcome: EntityOutcome, *, removal: bool, preview: bool = False
    ) -> None:
        assert isinstance(outcome.state, EntityState), outcome
        self.check_text(outcome.reason, "a reason")
        for diff in outcome.differences:
            self.check_text(diff.source_value, "a difference")
            self.check_text(diff.target_value, "a difference")
        if outcome.state is EntityState.FAILED:
            assert outcome.reason, f"a FAILED outcome must say why: {outcome!r}"
        if outcome.state is EntityState.PARTIAL:
            assert outcome.reason or outcome.differences, f"a PARTIAL outcome says why: {outcome!r}"
        if removal:
            assert outcome.removed or outcome.state is not EntityState.SUCCESS, (
                f"a successful deprovision must set removed=True: {outcome!r}"
            )
        else:
            assert not outcome.removed, (
                f"removed=True on an entity that was not removed: {outcome!r}"
            )
            if outcome.state is EntityState.SUCCESS and outcome.action is not Action.CREATE:
                assert outcome.target_id, f"a SUCCESS outcome names the target's id: {outcome!r}"
            elif outcome.state is EntityState.SUCCESS and not preview:
                assert outcome.target_id, f"a created entity names its new id: {outcome!r}"

    async def read(self, kind: EntityKind, watermark: str | None = None) -> list[ReadPage]:
        """Read every page; check each page's records and failures."""

        async def collect() -> list[ReadPage]:
            return [page async for page in self.connector.read(kind, watermark)]

        pages = await self.call(collect(), "read")
        for page in pages:
            assert isinstance(page, ReadPage), f"read yielded {page!r}"
            for failure in page.failures:
                assert failure.state is EntityState.FAILED and failure.reason, failure
                self.check_text(failure.reason, "a read failure")
        return pages

    async def read_users(
        self, watermark: str | None = None
    ) -> tuple[dict[str, UserRecord], str | None]:
        """The users read, by userName, and the watermark of the last page that had one."""
        pages = await self.read(EntityKind.USER, watermark)
        users: dict[str, UserRecord] = {}
        keys: set[str] = set()
        new_watermark = None
        for page in pages:
            new_watermark = page.watermark or new_watermark
            for record in page.records:
                assert isinstance(record, UserRecord), f"a user read gave {record!r}"
                assert record.key, f"a record without a key: {record!r}"
                assert record.key not in keys, f"the key {record.key} was read twice"
                keys.add(record.key)
                users[record.user_name] = record
        return users, new_watermark

    async def write_back(self, requests: Sequence[WriteBackRequest]) -> dict[str, WriteBackOutcome]:
        result = await self.call(self.connector.write_back(requests), "write back")
        by_key: dict[str, WriteBackOutcome] = {}
        for outcome in result:
            assert isinstance(outcome, WriteBackOutcome), f"write_back returned {outcome!r}"
            by_key[outcome.key] = outcome
            self.check_text(outcome.reason, "a write-back reason")
            if not outcome.ok:
                assert outcome.reason, f"a failed write-back must say why: {outcome!r}"
        missing = {r.key for r in requests} - set(by_key)
        assert not missing, f"write_back reported nothing for {sorted(missing)}"
        return by_key

    async def clean_up(self) -> None:
        """Delete what the scenario created, so targets that keep state stay small."""
        if not self.created:
            return
        removals = [
            Removal(kind=kind, key=key, target_id=tid, action=DeprovisionAction.DELETE)
            for (kind, key), tid in sorted(self.created.items(), key=lambda i: i[0][0] != "GROUP")
        ]
        try:
            await asyncio.wait_for(
                self.connector.reconcile(ReconcileRequest(removals=removals)), self.target.timeout
            )
        except Exception:  # clean-up is a courtesy; the scenario's verdict is already made
            pass


def open_settings(
    registry: ConnectorRegistry, target: ConformanceTarget, settings: Mapping[str, Any]
) -> Any:
    return registry.validate_settings(target.connector_type, settings, target.secrets)


@asynccontextmanager
async def kit_session(
    registry: ConnectorRegistry,
    target: ConformanceTarget,
    settings: Mapping[str, Any] | None = None,
) -> AsyncIterator[KitSession]:
    """A connector for ``target`` created through the registry, closed at the end."""
    validated = open_settings(registry, target, target.settings if settings is None else settings)
    context = ConnectorContext(
        connection_id="conformance", connection_name="conformance kit", request_timeout=10.0
    )
    connector = registry.create(target.connector_type, validated, context)
    session = KitSession(registry, target, connector)
    try:
        yield session
        await session.clean_up()
    finally:
        await asyncio.wait_for(connector.aclose(), target.timeout)


class Kit:
    """What every scenario gets: the registry, the target, and the type under test."""

    def __init__(self, registry: ConnectorRegistry, target: ConformanceTarget) -> None:
        self.registry = registry
        self.target = target

    @property
    def connector_type(self) -> ConnectorType:
        ctype = self.registry.get(self.target.connector_type)
        if ctype is None:
            pytest.fail(
                f"connector type {self.target.connector_type!r} is not registered; installed: "
                f"{sorted(self.registry.types)}; problems: {self.registry.problems}"
            )
        return ctype

    def require_direction(self, direction: Direction) -> None:
        ctype = self.connector_type
        if direction not in ctype.directions:
            pytest.skip(
                f"{ctype.name} does not support direction {direction.value}: "
                f"its {direction.value.lower()} scenarios do not apply"
            )

    def require(self, capability: Capability) -> None:
        ctype = self.connector_type
        if capability not in ctype.capabilities:
            pytest.skip(f"capability {capability.value} not supported by {ctype.name}")

    def require_hint(self, name: str) -> Any:
        value = getattr(self.target, name)
        if value is None:
            pytest.skip(f"the conformance target offers no {name}")
        return value

    def run(
        self,
        scenario: Callable[[KitSession], Awaitable[None]],
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Run one scenario against a fresh connector instance in its own event loop."""

        async def main() -> None:
            async with kit_session(self.registry, self.target, settings) as session:
                await scenario(session)

        scrub = Scrubber(self.target.secret_values(), self.target.user_values())
        try:
            asyncio.run(main())
        except AssertionError as failure:
            # What the kit prints lands in a plugin's CI log: never with the secret in it.
            raise AssertionError(scrub(str(failure), limit=20_000)) from None
