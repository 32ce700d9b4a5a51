"""Prometheus metrics for one app, on its own registry (tests build many apps per process).

Series (all ``provisync_``-prefixed):

- ``provisync_sync_runs_total{kind,status}``: runs that ended, by kind and final status.
- ``provisync_sync_run_duration_seconds{kind,status}``: from a run's start to its end.
- ``provisync_run_failures_total{kind,code}``: runs that failed as a whole, by error code
  (the connector's ``RunFailure.code`` such as ``TARGET_UNREACHABLE``, or ``CANCELLED``,
  ``INTERNAL_ERROR``).
- ``provisync_connector_errors_total{scope,status}``: errors a connector reported for single
  entities (``scope="entity"``: FAILED outcomes) or write-backs (``scope="write_back"``), by
  the HTTP status the reason names (``"HTTP 409: ..."``), else ``other``. Connectors do not
  report their HTTP calls to the engine, so successful requests and retried ones are not seen.
- ``provisync_rule_entities{rule,rule_id,kind,state}``: impacted entities per rule, kind and
  state, read from the ``rule_counts`` tallies at scrape time (enabled and disabled rules).
- ``provisync_rule_write_back_failures{rule,rule_id}``: users whose last write-back failed.
- ``provisync_graphql_request_duration_seconds{method,status}``: GraphQL over HTTP, from the
  request to the end of the response (WebSocket subscriptions are not timed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry import relay

from provisync.observability.runs import RunObserver, failure_code, run_duration
from provisync.store.db import Database
from provisync.store.models import Rule, RuleCounts, SyncRun

log = logging.getLogger("provisync.metrics")
STATES = ("success", "unsynced", "partial", "failed")
RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600)


class RuleStateCollector(Collector):
    """Entities by state per rule, from the snapshot the last scrape read from the store."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, RuleCounts]] = []

    async def refresh(self, db: Database) -> None:
        async with db.session() as session:
            result = await session.execute(
                select(Rule.id, Rule.name, RuleCounts).join(
                    RuleCounts,
                    RuleCounts.rule_id == Rule.id,  # type: ignore[arg-type]
                )
            )
            self.rows = [
                (relay.to_base64("Rule", rule_id), name, counts)
                for rule_id, name, counts in result.all()
            ]

    def collect(self) -> Iterable[Metric]:
        entities = GaugeMetricFamily(
            "provisync_rule_entities",
            "Impacted entities of a rule by kind and sync state (from rule_counts).",
            labels=["rule", "rule_id", "kind", "state"],
        )
        write_back = GaugeMetricFamily(
            "provisync_rule_write_back_failures",
            "Users of a rule whose last write-back failed.",
            labels=["rule", "rule_id"],
        )
        for rule_id, name, counts in self.rows:
            for state in STATES:
                entities.add_metric([name, rule_id, counts.kind, state], getattr(counts, state))
            if counts.kind == "USER":
                write_back.add_metric([name, rule_id], counts.write_back_failures)
        yield entities
        yield write_back


class Metrics(RunObserver):
    """The app's metrics; also the engine's run observer (it logs and counts each run)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.registry = CollectorRegistry(auto_describe=True)
        self.runs = Counter(
            "provisync_sync_runs",
            "Sync runs that ended, by kind and final status.",
            ["kind", "status"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "provisync_sync_run_duration_seconds",
            "Duration of sync runs from start to end.",
            ["kind", "status"],
            buckets=RUN_BUCKETS,
            registry=self.registry,
        )
        self.run_failures = Counter(
            "provisync_run_failures",
            "Runs that failed as a whole, by error code.",
            ["kind", "code"],
            registry=self.registry,
        )
        self.connector_errors = Counter(
            "provisync_connector_errors",
            "Errors connectors reported for entities or write-backs, by HTTP status or 'other'.",
            ["scope", "status"],
            registry=self.registry,
        )
        self.graphql_seconds = Histogram(
            "provisync_graphql_request_duration_seconds",
            "GraphQL requests over HTTP, from request to the end of the response.",
            ["method", "status"],
            registry=self.registry,
        )
        self.rule_states = RuleStateCollector()
        self.registry.register(self.rule_states)
        self._scrape_lock = asyncio.Lock()

    def count_run(self, run: SyncRun, failure: BaseException | None) -> None:
        self.runs.labels(run.kind, run.status).inc()
        duration = run_duration(run)
        if duration is not None:
            self.run_seconds.labels(run.kind, run.status).observe(duration)
        code = failure_code(failure)
        if code is not None:
            self.run_failures.labels(run.kind, code).inc()

    def count_connector_error(self, scope: str, status: str) -> None:
        self.connector_errors.labels(scope, status).inc()

    async def exposition(self) -> bytes:
        """The text exposition, with the per-rule tallies read from the store now."""
        async with self._scrape_lock:
            try:
                await self.rule_states.refresh(self.db)
            except Exception:
                # Serve the other series anyway; /readyz tells whether the store is there.
                log.warning("reading rule tallies for /metrics failed", exc_info=True)
                self.rule_states.rows = []
            return generate_latest(self.registry)

    async def endpoint(self, _request: Request) -> Response:
        return Response(await self.exposition(), media_type=CONTENT_TYPE_LATEST)


class GraphQLTimingMiddleware:
    """Times GraphQL requests over HTTP (``/graphql``) into the app's latency histogram."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, path: str = "/graphql") -> None:
        self.app = app
        self.metrics = metrics
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.metrics.graphql_seconds.labels(scope["method"], str(status)).observe(
                time.perf_counter() - started
            )


__all__ = ["GraphQLTimingMiddleware", "Metrics", "RuleStateCollector"]
