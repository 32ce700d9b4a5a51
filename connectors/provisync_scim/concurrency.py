"""Bounded concurrency: entities in parallel, whole-run failures stop everything."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from provisync_scim.http import InvalidAnswer
from provisync_sdk import EntityOutcome, EntityState, RunFailure

log = logging.getLogger(__name__)

Outcomes = EntityOutcome | list[EntityOutcome]
Job = tuple[Callable[[], Coroutine[Any, Any, Outcomes]], Outcomes]
"""A coroutine factory for one entity (or a batch) and what to report if it crashes."""


async def run_bounded(jobs: Sequence[Job], limit: int) -> list[EntityOutcome]:
    """Run the jobs, at most ``limit`` at once.

    A :class:`~provisync_sdk.RunFailure` in any job cancels the others and is raised, carrying
    the outcomes of the jobs that finished before it (the engine records them); any other
    exception fails that entity only (a bug must not hide the outcome of the others).
    """
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Job) -> list[EntityOutcome]:
        make, crashed = job
        async with semaphore:
            try:
                result = await make()
                return result if isinstance(result, list) else [result]
            except RunFailure:
                raise
            except Exception as exc:
                entities = crashed if isinstance(crashed, list) else [crashed]
                if isinstance(exc, InvalidAnswer):  # garbage about this entity: say what came
                    reason = str(exc)
                else:
                    log.exception(
                        "SCIM connector failed on %s %s", entities[0].kind, entities[0].key
                    )
                    reason = "internal error in the SCIM connector (details in the server log)"
                return [
                    EntityOutcome(
                        kind=entity.kind,
                        key=entity.key,
                        state=EntityState.FAILED,
                        action=entity.action,
                        reason=reason,
                    )
                    for entity in entities
                ]

    tasks = [asyncio.create_task(one(job)) for job in jobs]
    if not tasks:
        return []
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failures = [e for e in (t.exception() for t in done) if e is not None]
        if failures:
            finished = [o for t in tasks if t in done and not t.exception() for o in t.result()]
            first = failures[0]
            if isinstance(first, RunFailure):
                for other in failures[1:]:  # what the other failed jobs finished counts too
                    if isinstance(other, RunFailure):
                        finished += other.outcomes
                raise first.with_outcomes(finished)
            raise first
        return [outcome for task in tasks for outcome in task.result()]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
