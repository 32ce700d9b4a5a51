"""HTTP to the SCIM service provider: retries, backoff, whole-run failures, request counts.

One :class:`ScimHttp` per connector instance. It retries 429, 502, 503, 504, timeouts and
connection errors with exponential backoff and full jitter, honouring ``Retry-After``, up to
``max_retries`` times. A 401 or 403 raises :class:`~connectors.AuthenticationFailed`; a target
that still does not answer after the retries raises :class:`~connectors.TargetUnreachable`.
Any other status is returned for the caller to judge (a 4xx fails one entity only).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections import Counter
from typing import Any

import httpx2

from connectors import AuthenticationFailed, TargetUnreachable
from connectors.scim.auth import Authenticator
from connectors.scim.settings import ScimSettings

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
SCIM_JSON = "application/scim+json"
MAX_RETRY_AFTER = 120.0


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def describe(response: httpx2.Response) -> str:
    """``HTTP 400 (invalidValue): detail``: a SCIM error in one line, for an entity's reason."""
    detail = scim_type = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = str(body.get("detail") or "")
        scim_type = str(body.get("scimType") or "")
    text = f"HTTP {response.status_code}"
    if scim_type:
        text += f" ({scim_type})"
    if detail:
        text += f": {detail[:300]}"
    elif not body and response.reason_phrase:
        text += f" {response.reason_phrase}"
    return text


class ScimHttp:
    """The connection's HTTP client with the resilience rules above."""

    def __init__(self, settings: ScimSettings, timeout: float) -> None:
        self.settings = settings
        limits = httpx2.Limits(
            max_connections=settings.concurrency + 2,
            max_keepalive_connections=settings.concurrency + 2,
        )
        self.client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(timeout), limits=limits, follow_redirects=False
        )
        self.auth = Authenticator(settings, self.client)
        self.requests: Counter[str] = Counter()
        """Requests sent, by label (``GET list``, ``POST create``, ...), retries included."""
        self.retries = 0

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.settings.base_url + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        label: str = "",
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx2.Response:
        """Send one request, retrying as described in the module docstring."""
        url = self.url(path)
        attempt = 0
        refreshed = False
        while True:
            sent_headers = {"Accept": SCIM_JSON, **(headers or {})}
            authorization = await self.auth.header()
            if authorization is not None:
                sent_headers["Authorization"] = authorization
            if json is not None:
                sent_headers["Content-Type"] = SCIM_JSON
            self.requests[f"{method} {label}".strip()] += 1
            try:
                response = await self.client.request(
                    method, url, json=json, params=params, headers=sent_headers
                )
            except httpx2.HTTPError as exc:  # refused, reset, DNS, timeouts
                if attempt >= self.settings.max_retries:
                    raise TargetUnreachable(
                        f"the SCIM target at {self.settings.base_url} does not answer "
                        f"({type(exc).__name__} after {attempt + 1} attempts)"
                    ) from None
                await self._pause(attempt, None)
                attempt += 1
                continue
            status = response.status_code
            if status == 401 and self.auth.refreshable and not refreshed:
                self.auth.invalidate(authorization)
                refreshed = True
                continue
            if status in (401, 403):
                raise AuthenticationFailed(
                    f"the SCIM target rejected the credentials ({describe(response)})"
                )
            if status in RETRY_STATUSES:
                if attempt >= self.settings.max_retries:
                    raise TargetUnreachable(
                        f"the SCIM target keeps failing ({describe(response)} "
                        f"after {attempt + 1} attempts)"
                    )
                await self._pause(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            return response

    async def _pause(self, attempt: int, retry_after: str | None) -> None:
        self.retries += 1
        asked = retry_after_seconds(retry_after)
        if asked is not None:
            delay = min(asked, MAX_RETRY_AFTER)
        else:
            ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
            delay = random.uniform(0, ceiling)  # full jitter spreads concurrent retries
        log.debug("retrying a SCIM request in %.2fs (attempt %d)", delay, attempt + 1)
        await asyncio.sleep(delay)

    async def aclose(self) -> None:
        await self.client.aclose()
