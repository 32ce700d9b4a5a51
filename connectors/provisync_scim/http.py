"""HTTP to the SCIM service provider: retries, backoff, whole-run failures, request counts.

One :class:`ScimHttp` per connector instance. It retries 429, 502, 503, 504, timeouts and
connection errors with exponential backoff and full jitter, honouring ``Retry-After``, up to
``max_retries`` times. A 401 or 403 raises :class:`~provisync_sdk.AuthenticationFailed`; a target
that still does not answer after the retries raises :class:`~provisync_sdk.TargetUnreachable`.
Any other status is returned for the caller to judge (a 4xx fails one entity only). A create
is not repeated once it may have reached the target (:class:`AnswerLost`), and a read that
answered garbage is asked again before the garbage is described.

An answer that is not SCIM JSON (an HTML page, invalid or cut-off JSON, the wrong shape) is
described, never raised as a parser's exception: :meth:`ScimHttp.document` raises
:class:`InvalidAnswer` with what the target did, which fails one entity, or the run when the
request was a listing or discovery (the caller decides).
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

from provisync_scim.auth import Authenticator
from provisync_scim.settings import ScimSettings
from provisync_sdk import AuthenticationFailed, RunFailure, TargetUnreachable

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


class AnswerLost(Exception):
    """A request that is not safe to repeat (a create) was sent, and its answer never came:
    the target may have applied it. The caller looks the resource up before sending it again
    (a blind repeat could create a second group: not every target refuses duplicates)."""


class InvalidAnswer(Exception):
    """The target answered something that is not the SCIM JSON asked for; the message says what."""

    def run_failure(self) -> RunFailure:
        """The same, as a whole-run failure (a listing or discovery cannot go on without it)."""
        return RunFailure(f"the SCIM target gave an unusable answer: {self}")


def transport_problem(exc: httpx2.HTTPError, timeout: float | None) -> str:
    """What a failed exchange looked like on the wire, in words."""
    if isinstance(exc, httpx2.TimeoutException):
        return f"no answer within {timeout:g}s" if timeout else "no answer in time"
    if isinstance(exc, httpx2.ConnectError):
        return "the connection was refused"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return "the connection closed before a complete answer"
    if isinstance(exc, (httpx2.ReadError, httpx2.WriteError)):
        return "the connection was reset"
    return "the exchange failed"


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

    def relative(self, url: str) -> str:
        """A request's path as the reasons show it: ``/Groups``, not the whole URL."""
        path = str(httpx2.URL(url).path)
        prefix = str(httpx2.URL(self.settings.base_url).path).rstrip("/")
        if prefix and path.startswith(prefix):
            return path[len(prefix) :] or "/"
        return path

    def document(self, response: httpx2.Response, *, expect: str = "resource") -> dict[str, Any]:
        """The JSON object of a 2xx answer, checked to be a SCIM ``resource`` or ``list``.

        :raises InvalidAnswer: saying what came back instead.
        """
        request = response.request
        said = f"{request.method} {self.relative(str(request.url))} answered {response.status_code}"
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not response.content:
            raise InvalidAnswer(f"{said} with an empty body, not SCIM JSON")
        if kind and "json" not in kind:
            raise InvalidAnswer(f"{said} with {kind}, not SCIM JSON")
        try:
            body = response.json()
        except ValueError:
            raise InvalidAnswer(
                f"{said} with a body that is not valid JSON ({len(response.content)} bytes)"
            ) from None
        if expect == "list":
            fits = (
                isinstance(body, dict)
                and isinstance(body.get("Resources", []), list)
                and ("Resources" in body or "totalResults" in body)
            )
        elif expect == "resource":
            fits = isinstance(body, dict) and bool(body.get("id"))
        else:
            fits = isinstance(body, dict)
        if not fits:
            shape = {"list": "a SCIM ListResponse", "resource": "a SCIM resource"}.get(
                expect, "a JSON object"
            )
            raise InvalidAnswer(f"{said} with JSON that is not {shape}")
        return body  # type: ignore[no-any-return]

    async def request(
        self,
        method: str,
        path: str,
        *,
        label: str = "",
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        expect: str | None = None,
        repeatable: bool = True,
    ) -> httpx2.Response:
        """Send one request, retrying as described in the module docstring.

        :param expect: a 200 answer must be this kind of document (see :meth:`document`);
            a garbage one is asked again like a 503 (a read is safe to repeat), and the last
            one is returned for the caller to describe.
        :param repeatable: ``False`` for a create: once it may have reached the target
            (anything but a refused connection), a lost answer raises :class:`AnswerLost`
            instead of sending it again.
        """
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
            except httpx2.HTTPError as exc:  # refused, reset, DNS, timeouts, cut-off bodies
                if not repeatable and not isinstance(exc, httpx2.ConnectError):
                    problem = transport_problem(exc, self.client.timeout.read)
                    raise AnswerLost(f"{method} {self.relative(url)}: {problem}") from None
                if attempt >= self.settings.max_retries:
                    problem = transport_problem(exc, self.client.timeout.read)
                    raise TargetUnreachable(
                        f"the SCIM target at {self.settings.base_url} does not answer "
                        f"{method} {self.relative(url)} ({problem}, {attempt + 1} attempts)"
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
            if expect and status == 200 and attempt < self.settings.max_retries:
                try:
                    self.document(response, expect=expect)
                except InvalidAnswer:  # an HTML page, cut-off or invalid JSON: read it again
                    await self._pause(attempt, None)
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
