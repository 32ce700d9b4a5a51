"""A fault-injecting HTTP proxy: a real socket server on loopback in front of a real target.

It speaks HTTP/1.1 (keep-alive, Content-Length bodies) to the client and forwards each request
to the upstream server with httpx. Per request, :class:`FaultRule`s (matched by method and a
path pattern, the n-th match, or a seeded fraction of matches) make it answer what failing
SaaS targets answer instead: throttling, 5xx, hangs, resets, garbage bodies. A
:class:`Shape` makes it behave like a SCIM service other than the upstream one (no ETags,
strict filters, bodiless PATCH answers, members that must exist, computed ``User.groups``).
``down()`` stops listening (connections are refused) until ``up()``. ``counts`` says what it did.

Fractions are drawn from a RNG seeded with the seed, the request and how often that exact
request was seen, so a mix hits the same requests whatever order concurrent clients send them.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.shapes import SCIM, Answer, Request, Shape, ShapedUpstream, scim_error

FAULTS = (
    "429", "500", "502", "503", "hang", "hang_forward", "reset",
    "invalid_json", "html", "truncated", "not_scim", "empty_201", "down",
)  # fmt: skip
HOP_HEADERS = {"connection", "content-length", "transfer-encoding", "keep-alive", "host"}


@dataclass
class FaultRule:
    """Answer ``fault`` to matching requests instead of the upstream's answer.

    Faults: ``429``/``503`` (with ``Retry-After``), ``500``, ``502``; ``hang`` (no answer for
    ``hang_seconds``, not forwarded) and ``hang_forward`` (forwarded, so the target applies it,
    then no answer: a lost answer); ``reset`` (TCP RST); ``invalid_json``, ``html`` (a 200
    page), ``truncated`` (half the body, then close), ``not_scim`` (a 200 JSON that is no SCIM
    resource), ``empty_201`` (forwarded, answered 201 with no body); ``down`` (stop listening,
    back after ``back_after`` seconds).

    :param path: a regular expression searched in the path (and query string).
    :param nth: only the n-th matching request (1-based) gets the fault.
    :param fraction: the share of matching requests that get it (seeded, see module doc).
    :param times: at most this many faults from this rule (``None``: no limit).
    :param body_contains: only requests whose body contains this text.
    """

    fault: str
    method: str | None = None
    path: str = ""
    nth: int | None = None
    fraction: float = 1.0
    times: int | None = None
    body_contains: str = ""
    retry_after: str = "0"
    back_after: float = 0.0
    """``down``: seconds until the proxy listens again (0: only :meth:`FaultProxy.up`)."""
    seen: int = 0

    def __post_init__(self) -> None:
        assert self.fault in FAULTS, self.fault


class FaultProxy:
    """The proxy; start it with :func:`fault_proxy`."""

    def __init__(self, upstream: str, *, seed: int = 13, hang_seconds: float = 2.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.seed = seed
        self.hang_seconds = hang_seconds
        self.rules: list[FaultRule] = []
        self.shape = Shape()
        self.counts: Counter[str] = Counter()
        """Faults answered by name, plus ``forwarded`` and ``refused`` (while down)."""
        self.seen: Counter[str] = Counter()
        self.log: list[tuple[str, str, str]] = []
        """(method, path and query, what was answered: a status or a fault's name)."""
        self.hanging = 0
        """Requests held by a hang right now."""
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # control, from the test's thread
    def add(self, *rules: FaultRule) -> None:
        self.rules.extend(rules)

    def clear(self) -> None:
        """No more faults (the shape stays)."""
        self.rules = []

    def down(self) -> None:
        """Stop listening and drop open connections: the target is gone."""
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)

    def up(self) -> None:
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)

    @property
    def is_down(self) -> bool:
        return self._server is None

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the proxy listens and no hung request is still to be forwarded."""
        deadline = time.monotonic() + timeout
        while self.is_down or self.hanging:
            assert time.monotonic() < deadline, "the fault proxy did not settle"
            time.sleep(0.05)

    # the server, on its own loop
    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._connection, "127.0.0.1", self.port, reuse_address=True
            )
            self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            _reset(writer)
        if server is not None:
            await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while not reader.at_eof():
                request = await _read_request(reader)
                if request is None or self._server is None:
                    break
                if not await self._answer(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    def _pick(self, request: Request) -> FaultRule | None:
        text = f"{request.method} {request.target} ".encode() + request.body
        digest = hashlib.sha256(text).hexdigest()[:16]
        self.seen[digest] += 1
        chosen = None
        for index, rule in enumerate(self.rules):
            if rule.times is not None and rule.times <= 0:
                continue
            if rule.method is not None and rule.method != request.method:
                continue
            if rule.path and not re.search(rule.path, request.target):
                continue
            if rule.body_contains and rule.body_contains.encode() not in request.body:
                continue
            rule.seen += 1  # every rule counts its matches, taken by an earlier rule or not
            if chosen is not None or (rule.nth is not None and rule.seen != rule.nth):
                continue
            if rule.fraction < 1.0:
                seed = f"{self.seed}:{index}:{digest}:{self.seen[digest]}"  # one draw per rule
                if random.Random(seed).random() >= rule.fraction:
                    continue
            chosen = rule
        if chosen is not None and chosen.times is not None:
            chosen.times -= 1
        return chosen

    async def _answer(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; ``False`` when the connection must end."""
        rule = self._pick(request)
        fault = rule.fault if rule else None
        if fault is not None:
            self.counts[fault] += 1
            self.log.append((request.method, request.target, fault))
        if fault == "reset":
            _reset(writer)
            return False
        if fault == "down":  # the target dies while this request is in flight
            assert rule is not None
            await self._stop()
            if rule.back_after:
                self.loop.call_later(rule.back_after, lambda: self.loop.create_task(self._listen()))
            return False
        if fault in ("hang", "hang_forward"):
            self.hanging += 1
            try:
                if fault == "hang_forward":
                    await self._forward(request)  # the target applies it; the answer is lost
                await asyncio.sleep(self.hang_seconds)
            finally:
                self.hanging -= 1
            return False
        if fault in ("429", "500", "502", "503"):
            status = int(fault)
            headers = {"Retry-After": rule.retry_after} if status in (429, 503) and rule else {}
            await _write(writer, scim_error(status, f"injected {status}", headers))
            return True
        answer = await self._forward(request)
        self.counts["forwarded"] += 1
        if fault is None:
            self.log.append((request.method, request.target, str(answer.status)))
        if fault == "truncated":
            body = answer.body or b'{"schemas": []}'
            answer.headers["Content-Length"] = str(len(body))
            await _write(writer, Answer(answer.status, answer.headers, body[: len(body) // 2]))
            return False
        if fault is not None:
            answer = _garbage(fault, answer)
        await _write(writer, answer)
        return True

    async def _forward(self, request: Request) -> Answer:
        assert self._client is not None
        shaping = ShapedUpstream(self.shape, self._client, self.upstream)
        shaped = await shaping.before(request)
        if shaped is not None:
            return shaped
        headers = {k: v for k, v in request.headers.items() if k not in HOP_HEADERS}
        headers["host"] = f"127.0.0.1:{self.port}"  # so Locations name the proxy
        try:
            response = await self._client.request(
                request.method,
                self.upstream + request.target,
                content=request.body,
                headers=headers,
            )
        except httpx.HTTPError as exc:  # what a real gateway answers when its upstream fails
            return scim_error(502, f"upstream failed: {exc!r}", {})
        answer = Answer(
            response.status_code,
            {
                k: v
                for k, v in response.headers.items()
                if k.lower() not in HOP_HEADERS and k.lower() != "content-encoding"
            },
            response.content,
        )
        return await shaping.after(request, answer)


def _garbage(fault: str, answer: Answer) -> Answer:
    if fault == "invalid_json":
        return Answer(answer.status, {"Content-Type": SCIM}, b'{"schemas": ["urn:ietf:par')
    if fault == "html":
        page = b"<!DOCTYPE html><html><body><h1>Service temporarily unavailable</h1></body></html>"
        return Answer(200, {"Content-Type": "text/html; charset=utf-8"}, page)
    if fault == "not_scim":
        return Answer(200, {"Content-Type": SCIM}, b'{"status": "ok", "message": "accepted"}')
    assert fault == "empty_201"
    return Answer(201, {"Content-Type": SCIM}, b"")


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length") or 0))
    return Request(method, target, headers, body)


async def _write(writer: asyncio.StreamWriter, answer: Answer) -> None:
    headers = {"Content-Length": str(len(answer.body)), **answer.headers}
    head = f"HTTP/1.1 {answer.status} {_reason(answer.status)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode("latin-1") + answer.body)
    await writer.drain()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST, as a crashed load balancer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@contextmanager
def fault_proxy(upstream: str, **options: Any) -> Iterator[FaultProxy]:
    """Start a :class:`FaultProxy` on a free loopback port in a background thread."""
    proxy = FaultProxy(upstream, **options)

    async def start() -> None:
        proxy._client = httpx.AsyncClient(timeout=30)
        await proxy._listen()

    thread = threading.Thread(target=proxy.loop.run_forever, name="fault-proxy", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), proxy.loop).result(10)
    try:
        yield proxy
    finally:

        async def stop() -> None:
            await proxy._stop()
            if proxy._client is not None:
                await proxy._client.aclose()

        asyncio.run_coroutine_threadsafe(stop(), proxy.loop).result(10)
        proxy.loop.call_soon_threadsafe(proxy.loop.stop)
        thread.join(timeout=10)
        proxy.loop.close()
