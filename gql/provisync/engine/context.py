"""What one running sync needs: the rule, its connector, guarded plugin calls, progress."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from provisync.engine.progress import ProgressHub
from provisync.engine.recorder import record_outcomes, record_preview, record_write_backs
from provisync.engine.retries import RetryPolicy, track_outcomes, track_write_backs
from provisync.engine.scrubbing import scrub_outcomes, scrub_write_backs, scrubber_for
from provisync.observability.runs import RunObserver
from provisync.security.crypto import SecretsUnreadable, decrypt_secrets
from provisync.security.egress import egress_problems
from provisync.store.db import Database
from provisync.store.models import ProvisioningConnection, Rule, SyncRun
from provisync_sdk import (
    Connector,
    EntityKind,
    EntityOutcome,
    RunFailure,
    UnsupportedOperation,
    WriteBackOutcome,
    WriteBackRequest,
)
from provisync_sdk.manager import ConnectorRegistry
from provisync_sdk.redaction import Scrubber
from provisync_sdk.types import ConnectorContext

log = logging.getLogger("provisync.engine")
T = TypeVar("T")


class ConnectorUnavailable(RunFailure):
    """The rule's connector cannot be created (not installed, invalid settings)."""

    code = "CONNECTOR_UNAVAILABLE"


def open_connector(
    registry: ConnectorRegistry,
    connection: ProvisioningConnection,
    request_timeout: float,
    egress: Any = None,
) -> Connector[Any]:
    """Create the connector instance of a connection, or fail the run with a clear reason."""
    if registry.get(connection.connector_type) is None:
        raise ConnectorUnavailable(
            f"connector type {connection.connector_type!r} of connection "
            f"{connection.name!r} is not installed"
        )
    try:
        secrets = decrypt_secrets(connection.secrets)
    except SecretsUnreadable as exc:
        raise ConnectorUnavailable(
            f"the secrets of connection {connection.name!r} cannot be decrypted with "
            "PROVISYNC_SECRET_KEY; set them again"
        ) from exc
    try:
        settings = registry.validate_settings(
            connection.connector_type, connection.settings, secrets
        )
    except Exception as exc:
        raise ConnectorUnavailable(f"connection {connection.name!r} has invalid settings") from exc
    if refused := egress_problems(settings, egress):
        raise ConnectorUnavailable(
            f"connection {connection.name!r} may not be reached: {refused[0][1]}"
        )
    context = ConnectorContext(
        connection_id=str(connection.id),
        connection_name=connection.name,
        request_timeout=request_timeout,
    )
    try:
        return registry.create(connection.connector_type, settings, context)
    except Exception as exc:
        plugin = registry.plugin_of(connection.connector_type)
        raise ConnectorUnavailable(
            f"plugin {plugin} failed to create a connector: {type(exc).__name__}"
        ) from exc


@dataclass
class RunContext:
    """One run in progress. Plugin calls go through :meth:`call`, which bounds and contains them."""

    db: Database
    hub: ProgressHub
    rule: Rule
    connection: ProvisioningConnection
    connector: Connector[Any]
    plugin_name: str
    run: SyncRun
    timeout: float
    batch_size: int
    counts: Counter[str] = field(default_factory=Counter)
    observer: RunObserver = field(default_factory=RunObserver)
    preview: bool = False
    """A dry run: connectors are asked what they would do, and the answers are stored as
    preview items; no state, audit event, directory row or target account is written."""
    release: bool = False
    """Applies operations an operator released from deletion protection (not held again)."""
    shared: bool = False
    """Other processes work on this run at the same time (a split resync): progress and counts
    are added to the run's row under a row lock instead of written from this process's copy,
    and :attr:`counts` holds only what this process has not added yet."""
    fan_out: Callable[[int], Awaitable[None]] | None = None
    """Queue mode: asks that many other workers to help with this run (see chunks)."""
    chunk_size: int = 0
    """Users per chunk when a full resync is split across workers (0: never split)."""
    lease_seconds: float = 30.0
    """How long a claimed chunk stays its worker's without a sign of life."""
    reopen: Callable[[], Connector[Any]] | None = None
    """A new connector of the same connection: a chunk taken over from a dead worker is
    pushed with one, as what this connector read of the target may predate that worker's
    writes."""
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    retry_known: bool = True
    """The rule may have entities in the retry queue (cleared when it is known to have none,
    so a resync without failures asks nothing more of the database)."""
    record_unpushed: bool = False
    """A run pushing specific changes (incremental, retry): when it fails as a whole, the
    entities it was pushing are recorded FAILED with the reason, and queued for a retry."""
    after_a_stop: bool = False
    """Work a stopped worker may have begun (a resumed run, a taken-over chunk): an account
    first seen in sync may be one it created without recording it, so each such entity gets
    its own audit event instead of one "already in sync" event for them all."""

    @property
    def outbound(self) -> bool:
        return self.rule.direction == "OUTBOUND"

    scrub: Scrubber = field(default_factory=Scrubber)
    """Scrubs target text of this connection's secrets before it is stored (see __post_init__)."""

    def __post_init__(self) -> None:
        self.scrub = scrubber_for(self.connection)

    @property
    def rule_id(self) -> int:
        assert self.rule.id is not None
        return self.rule.id

    def _contain(self, exc: BaseException, what: str) -> RunFailure:
        if isinstance(exc, RunFailure):
            return exc
        if isinstance(exc, TimeoutError):
            return RunFailure(
                f"plugin {self.plugin_name} did not finish {what} within {self.timeout:g}s"
            )
        if isinstance(exc, UnsupportedOperation):
            return RunFailure(f"plugin {self.plugin_name} cannot {what}: {exc}")
        log.error("plugin %s raised during %s", self.plugin_name, what, exc_info=exc)
        return RunFailure(f"plugin {self.plugin_name} raised {type(exc).__name__} during {what}")

    async def call(self, awaitable: Awaitable[T], what: str) -> T:
        """Await a plugin coroutine with the engine's timeout; any failure fails the run."""
        try:
            return await asyncio.wait_for(awaitable, self.timeout)
        except Exception as exc:
            raise self._contain(exc, what) from exc

    async def pages(
        self, iterator: AsyncIterator[T], what: str, read_ahead: int = 1
    ) -> AsyncIterator[T]:
        """Iterate a plugin's async iterator, each step bounded by the engine's timeout.

        The next ``read_ahead`` pages are read while the caller works on the current one, so
        the source's latency overlaps the engine's own work (memory: a few pages at most).
        """
        ready: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue(maxsize=max(1, read_ahead))

        async def produce() -> None:
            while True:
                try:
                    item = await asyncio.wait_for(anext(iterator), self.timeout)
                except StopAsyncIteration:
                    await ready.put((False, None))
                    return
                except Exception as exc:
                    failure = self._contain(exc, what)
                    if failure is not exc:
                        failure.__cause__ = exc
                    await ready.put((False, failure))
                    return
                await ready.put((True, item))

        producer = asyncio.create_task(produce(), name=f"provisync-read-{self.run.id}")
        try:
            while True:
                more, value = await ready.get()
                if not more:
                    if value is not None:
                        raise value
                    return
                yield value
        finally:
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                try:
                    await asyncio.wait_for(aclose(), 5)
                except Exception:
                    log.warning("plugin %s did not close its reader cleanly", self.plugin_name)

    async def record(
        self,
        outcomes: Sequence[EntityOutcome],
        names: Mapping[tuple[EntityKind, str], str],
        processed: int = 0,
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
        *,
        observe: bool = True,
    ) -> None:
        """Store outcomes and advance progress in one transaction, then publish progress.

        :param also: more to write in the same transaction, first (a chunk's checkpoint); it
            may raise to write nothing.
        :param observe: count FAILED outcomes as connector errors (not when they stand for a
            run's failure as a whole, which the run's metrics count once).
        """
        async with self.db.session() as session:
            if also is not None:
                await also(session)
            await self.record_in(session, outcomes, names, processed, observe=observe)
            await session.commit()
        self.hub.publish(self.run)

    async def record_in(
        self,
        session: AsyncSession,
        outcomes: Sequence[EntityOutcome],
        names: Mapping[tuple[EntityKind, str], str],
        processed: int,
        *,
        observe: bool = True,
    ) -> None:
        """Store outcomes and advance progress within the caller's transaction (no commit)."""
        outcomes = scrub_outcomes(self.scrub, outcomes)
        if self.preview:
            await record_preview(session, run_id=self.run.id, outcomes=outcomes, names=names)
            self.counts.update(o.action.value for o in outcomes)
            await self._advance(session, processed)
            return
        summary = await record_outcomes(
            session,
            rule_id=self.rule_id,
            run_id=self.run.id,
            outcomes=outcomes,
            names=names,
            each_check=self.after_a_stop,
        )
        self.counts.update(summary)
        if observe:
            self.observer.outcomes_recorded(outcomes)
        if self.outbound:
            self.retry_known = await track_outcomes(
                session,
                rule_id=self.rule_id,
                run_id=self.run.id,
                outcomes=outcomes,
                names=names,
                policy=self.retry_policy,
                known=self.retry_known,
            )
        await self._advance(session, processed)

    async def record_write_backs(
        self,
        outcomes: Sequence[WriteBackOutcome],
        requests: Sequence[WriteBackRequest] = (),
        names: Mapping[str, str] | None = None,
        *,
        observe: bool = True,
    ) -> None:
        """Store write-back results; failed ones wait in the retry queue, with the attributes
        their request carried."""
        outcomes = scrub_write_backs(self.scrub, outcomes)
        async with self.db.session() as session:
            failed = await record_write_backs(
                session,
                rule_id=self.rule_id,
                run_id=self.run.id,
                outcomes=outcomes,
                written={r.key: r.attributes for r in requests},
            )
            await track_write_backs(
                session,
                rule_id=self.rule_id,
                run_id=self.run.id,
                outcomes=outcomes,
                fields={r.key: list(r.attributes) for r in requests},
                names=names or {},
                policy=self.retry_policy,
            )
            self.counts["WRITE_BACK_FAILED"] += failed
            self.counts["WRITE_BACK"] += len(outcomes)
            if observe:
                self.observer.write_backs_recorded(outcomes)
            await self._advance(session, 0)
            await session.commit()

    async def progress(self, processed: int = 0, total: int | None = None) -> None:
        async with self.db.session() as session:
            await self._advance(session, processed, total)
            await session.commit()
        self.hub.publish(self.run)

    async def _advance(
        self, session: AsyncSession, processed: int, total: int | None = None
    ) -> None:
        if self.shared:
            await self._advance_shared(session, processed, total)
            return
        if total is not None:
            self.run.total = total
        self.run.processed += processed
        if self.run.total is not None and self.run.processed > self.run.total:
            self.run.total = self.run.processed
        self.run.counts = dict(self.counts)
        session.add(self.run)

    async def _advance_shared(
        self, session: AsyncSession, processed: int, total: int | None
    ) -> None:
        """Add this process's progress and counts to the run's row, locked meanwhile."""
        row = (
            await session.execute(
                select(SyncRun.processed, SyncRun.total, SyncRun.counts)  # type: ignore[call-overload]
                .where(SyncRun.id == self.run.id)
                .with_for_update()
            )
        ).one()
        counts = Counter(row.counts)
        counts.update(self.counts)
        self.counts.clear()
        done = row.processed + processed
        total = row.total if total is None else total
        if total is not None and done > total:
            total = done
        await session.execute(
            update(SyncRun)
            .where(SyncRun.id == self.run.id)  # type: ignore[arg-type]
            .values(processed=done, total=total, counts=dict(counts))
        )
        # This process's copy, for what it publishes (the row is the truth).
        self.run.processed, self.run.total, self.run.counts = done, total, dict(counts)

    async def reload_progress(self) -> None:
        """Take the run's progress and counts from its row (the end of a split run's chunks)."""
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(SyncRun.processed, SyncRun.total, SyncRun.counts).where(  # type: ignore[call-overload]
                        SyncRun.id == self.run.id
                    )
                )
            ).one()
        self.run.processed, self.run.total = row.processed, row.total
        self.counts = Counter(row.counts)
        self.run.counts = dict(row.counts)
