"""A webhook receiver for tests: a real HTTP server that records what it is sent.

``status`` is what it answers; ``hang`` makes it hold each request until ``release`` is set.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.servers import serve_asgi

SECRET = "whsec_" + base64.b64encode(b"provisync-test-signing-key-32by").decode()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    url: str = ""
    status: int = 200
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def of_type(self, type_: str) -> list[Received]:
        return [r for r in self.received if r.event["type"] == type_]


def signature_valid(secret: str, received: Received) -> bool:
    """The Standard Webhooks check, written out: HMAC-SHA256 of ``id.timestamp.body``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = b".".join(
        [
            received.headers["webhook-id"].encode(),
            received.headers["webhook-timestamp"].encode(),
            received.body,
        ]
    )
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.partition(",")[2] for s in received.headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, sig) for sig in offered)


@contextmanager
def webhook_receiver(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(**options)

    async def hook(request: Request) -> Response:
        body = await request.body()
        receiver.received.append(Received(dict(request.headers), body))
        if receiver.hang:
            receiver.in_flight += 1
            try:
                # The release comes from the test's thread: wait for it off the event loop.
                await asyncio.to_thread(receiver.release.wait)
            finally:
                receiver.in_flight -= 1
        return Response("receiver says no" if receiver.status >= 400 else "ok", receiver.status)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with serve_asgi(app) as base:
        receiver.url = base + "/hook"
        try:
            yield receiver
        finally:
            receiver.release.set()
