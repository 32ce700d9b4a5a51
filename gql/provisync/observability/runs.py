"""What the sync engine reports about its runs, for logs and metrics.

The engine calls a :class:`RunObserver` when a run ends and when a connector's outcomes are
recorded. This base class writes the run's closing log line; the metrics observer
(:class:`provisync.observability.metrics.Metrics`) also counts. An observer never raises into the
engine: a failure to observe is logged and forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence

from provisync.store.models import SyncRun
from provisync_sdk import EntityOutcome, EntityState, RunFailure, WriteBackOutcome

log = logging.getLogger("provisync.engine")
_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def failure_code(failure: BaseException | None) -> str | None:
    """The code a whole-run failure is counted under: the connector error's ``code``,
    ``CANCELLED`` when the process stopped, ``INTERNAL_ERROR`` for anything else."""
    if failure is None:
        return None
    if isinstance(failure, RunFailure):
        return str(getattr(failure, "code", "RUN_FAILED"))
    if isinstance(failure, asyncio.CancelledError):
        return "CANCELLED"
    return "INTERNAL_ERROR"


def reason_status(reason: str | None) -> str:
    """The HTTP status named in a connector's reason (``"HTTP 409: ..."``), else ``other``."""
    match = _HTTP_STATUS.search(reason or "")
    return match.group(1) if match else "other"


def run_duration(run: SyncRun) -> float | None:
    """Seconds from the run's start to its end, when both are known."""
    start, end = run.started_at, run.finished_at
    if start is None or end is None:
        return None
    if (start.tzinfo is None) != (end.tzinfo is None):
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    return max((end - start).total_seconds(), 0.0)


class RunObserver:
    """Receives the engine's run events. The base class logs each run's end."""

    def run_ended(self, run: SyncRun, failure: BaseException | None) -> None:
        """A run reached its final state (or the engine gave up on it).

        :param failure: what failed the run as a whole; None when it succeeded.
        """
        try:
            self.count_run(run, failure)
        except Exception:
            log.exception("counting run %s failed", run.id)
        duration = run_duration(run)
        log.log(
            logging.WARNING if run.status == "FAILED" else logging.INFO,
            "run %s of rule %s (%s) ended %s%s",
            run.id,
            run.rule_id,
            run.kind,
            run.status,
            f" in {duration:.2f}s" if duration is not None else "",
            extra={
                "rule_id": run.rule_id,
                "run_id": run.id,
                "run_kind": run.kind,
                "run_status": run.status,
                "error_code": failure_code(failure),
                "processed": run.processed,
                "duration_seconds": duration,
            },
        )

    def outcomes_recorded(self, outcomes: Sequence[EntityOutcome]) -> None:
        """A connector's outcomes were stored; FAILED ones count as connector errors."""
        try:
            for outcome in outcomes:
                if outcome.state is EntityState.FAILED:
                    self.count_connector_error("entity", reason_status(outcome.reason))
        except Exception:
            log.exception("counting outcomes failed")

    def write_backs_recorded(self, outcomes: Sequence[WriteBackOutcome]) -> None:
        """Write-back results were stored; failed ones count as connector errors."""
        try:
            for outcome in outcomes:
                if not outcome.ok:
                    self.count_connector_error("write_back", reason_status(outcome.reason))
        except Exception:
            log.exception("counting write-backs failed")

    # overridden by the metrics observer ----------------------------------------------------

    def count_run(self, run: SyncRun, failure: BaseException | None) -> None:
        """Count a finished run (nothing here)."""

    def count_connector_error(self, scope: str, status: str) -> None:
        """Count one connector error (nothing here)."""


__all__ = ["RunObserver", "failure_code", "reason_status", "run_duration"]
