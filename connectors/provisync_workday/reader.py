"""Paged Get_Workers reads: full (one fixed As_Of_Entry_DateTime) and incremental.

Pages stream: the next page is requested while the current one is parsed and handed over,
and nothing but the current page is held. An incremental read makes two passes over the
transaction log: changes entered since the watermark, then earlier-entered changes that
became effective since it (terminations and hires dated in the future when entered).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lxml import etree

from provisync_sdk import EntityOutcome, ReadPage, TargetUnreachable, UserRecord
from provisync_workday.extension_fields import ExtensionReader
from provisync_workday.page_fields import extract_workers, iter_fields
from provisync_workday.settings import WorkdaySettings
from provisync_workday.soap import SoapClient, SoapFault, parse_body, request_element, sub
from provisync_workday.workers import MalformedWorker, _p, failure_of, record_of

REQUESTS_AHEAD = 2
"""Get_Workers requests a read keeps in flight beyond the page being handed over."""
_RESULTS = _p("Response_Results")
_FILTER = _p("Response_Filter")


@dataclass(frozen=True, slots=True)
class Criteria:
    """A transaction-log date range (``None`` bounds are left out of the request)."""

    updated_from: str | None = None
    updated_through: str | None = None
    effective_from: str | None = None
    effective_through: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One parsed Get_Workers response."""

    response: etree._Element
    as_of: str
    effective_day: date
    total: int
    pages: int


def get_workers_request(
    settings: WorkdaySettings, page: int, count: int, as_of: str | None, criteria: Criteria | None
) -> etree._Element:
    """A Get_Workers_Request for one page; no ``As_Of_Entry_DateTime`` means "now"."""
    request = request_element("Get_Workers_Request", settings.api_version)
    if criteria is not None:
        ranges = sub(
            sub(sub(request, "Request_Criteria"), "Transaction_Log_Criteria_Data"),
            "Transaction_Date_Range_Data",
        )
        for name in ("Updated_From", "Updated_Through", "Effective_From", "Effective_Through"):
            value = getattr(criteria, name.lower())
            if value is not None:
                sub(ranges, name, value)
    response_filter = sub(request, "Response_Filter")
    if as_of is not None:
        sub(response_filter, "As_Of_Entry_DateTime", as_of)
    sub(response_filter, "Page", str(page))
    sub(response_filter, "Count", str(count))
    group = sub(request, "Response_Group")
    for name in (
        "Include_Reference",
        "Include_Personal_Information",
        "Include_Employment_Information",
        "Include_User_Account",
    ):
        sub(group, name, "true")
    return request


def parse_page(content: bytes) -> Page:
    """Read the paging figures and the pinned moment of a Get_Workers response."""
    response = parse_body(content)
    if etree.QName(response).localname != "Get_Workers_Response":
        raise TargetUnreachable(f"unexpected Workday answer {etree.QName(response).localname}")
    results = response.find(_RESULTS)
    response_filter = response.find(_FILTER)
    if results is None or response_filter is None:
        raise TargetUnreachable("Get_Workers answered without Response_Results")
    as_of = response_filter.findtext(_p("As_Of_Entry_DateTime"), "").strip()
    effective = response_filter.findtext(_p("As_Of_Effective_Date"), "").strip()
    try:
        effective_day = (
            date.fromisoformat(effective[:10])
            if effective
            else (datetime.fromisoformat(as_of.replace("Z", "+00:00")).date())
        )
        total = int(results.findtext(_p("Total_Results"), "0"))
        pages = int(results.findtext(_p("Total_Pages"), "1"))
    except ValueError as exc:
        raise TargetUnreachable(f"Get_Workers answered unreadable paging data: {exc}") from exc
    return Page(response, as_of, effective_day, total, pages)


class WorkerReader:
    """Reads workers page by page for one connector instance."""

    def __init__(self, client: SoapClient, settings: WorkdaySettings) -> None:
        self.client = client
        self.settings = settings
        self.extensions = ExtensionReader(settings.extension_fields)

    async def _fetch(self, page: int, as_of: str | None, criteria: Criteria | None) -> bytes:
        request = get_workers_request(self.settings, page, self.settings.page_size, as_of, criteria)
        try:
            return await self.client.post_with_retries(
                request, retries=self.settings.max_retries, backoff=self.settings.retry_backoff
            )
        except SoapFault as fault:
            raise TargetUnreachable(f"Get_Workers page {page} refused: {fault.reason}") from fault

    async def _pass(
        self,
        first: Page,
        as_of: str,
        criteria: Criteria | None,
    ) -> AsyncIterator[Page]:
        """``first`` and then the other pages of one read, requests kept ahead.

        With one request at a time the tenant sat idle while a page crossed the wire and
        was parsed; with :data:`REQUESTS_AHEAD` in flight it always has the next one to
        serve (the pages of a read are pinned to one ``As_Of_Entry_DateTime``).
        """
        pending: deque[asyncio.Task[bytes]] = deque()
        requested = 1
        try:
            current = first
            while True:
                while requested < first.pages and len(pending) < REQUESTS_AHEAD:
                    requested += 1
                    pending.append(asyncio.create_task(self._fetch(requested, as_of, criteria)))
                yield current
                if not pending:
                    break
                current = await asyncio.to_thread(parse_page, await pending.popleft())
        finally:
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(BaseException):
                    await task

    def _records(
        self,
        page: Page,
        workers: etree._Element,
        number: int,
        seen: set[str] | None,
        extensions: list[dict[str, Any]] | None = None,
    ) -> tuple[list[UserRecord], list[EntityOutcome]]:
        records: list[UserRecord] = []
        failures: list[EntityOutcome] = []
        for index, fields in enumerate(iter_fields(workers), 1):
            try:
                record = record_of(
                    fields, page.effective_day, extensions[index - 1] if extensions else None
                )
            except MalformedWorker as exc:
                position = f"page {number} worker {index}"
                failures.append(failure_of(fields.key, position, str(exc)))
                continue
            if seen is not None:
                if record.key in seen:
                    continue
                seen.add(record.key)
            records.append(record)
        return records, failures

    async def read(self, watermark: str | None) -> AsyncIterator[ReadPage]:
        """Yield every page of a full (``watermark is None``) or incremental read."""
        if watermark is None:
            first = parse_page(await self._fetch(1, None, None))
            passes: list[tuple[Page, Criteria | None]] = [(first, None)]
            seen: set[str] | None = None
        else:
            first = parse_page(await self._fetch(1, None, Criteria(updated_from=watermark)))
            entered = Criteria(updated_from=watermark, updated_through=first.as_of)
            effective = Criteria(
                updated_through=watermark, effective_from=watermark, effective_through=first.as_of
            )
            second = parse_page(await self._fetch(1, first.as_of, effective))
            passes = [(first, entered), (second, effective)]
            seen = set()
        as_of = first.as_of
        total = sum(page.total for page, _ in passes)
        buffered: ReadPage | None = None
        for start, criteria in passes:
            number = 0
            async for page in self._pass(start, as_of, criteria):
                number += 1
                if buffered is not None:
                    yield buffered
                # The page's XPath work runs in C without the GIL, off the loop; what is left
                # (a few µs of Python per worker) runs here: done in a thread, it would hold
                # the GIL in bursts that the loop and the database thread wait out.
                workers = await asyncio.to_thread(extract_workers, page.response)
                extensions = (
                    await asyncio.to_thread(self.extensions.page, page.response)
                    if self.extensions
                    else None
                )
                records, failures = self._records(page, workers, number, seen, extensions)
                buffered = ReadPage(records=records, failures=failures, total=total)
        assert buffered is not None
        yield ReadPage(
            records=buffered.records, failures=buffered.failures, total=total, watermark=as_of
        )
