"""A minimal HTTP proxy in front of a real SCIM server that loses or replaces answers.

For chosen requests it forwards the request (so the target really applies it) and then cuts
the connection without an answer, the way a timed-out or reset request looks to the client;
or it answers something else in place of the target's answer (a 201 with an empty body, a
``Location`` on another origin), forwarding the request first or not. Everything else is
forwarded as is. Real sockets on loopback; the ``Host`` header is kept, so the target's
``Location`` and ``meta.location`` name the proxy.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import httpx2

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
}


@dataclass
class Loss:
    """What to do with the next ``times`` requests that match.

    :param mode: ``drop``: forward, then close the connection without an answer;
        ``answer``: answer ``status``/``body``/``headers`` instead of the target.
    :param forward: with ``answer``, send the request to the target first (it applies it).
    """

    method: str | None = None
    path: str = ""
    mode: Literal["drop", "answer"] = "drop"
    times: int = 1
    forward: bool = True
    status: int = 201
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    body_contains: str = ""

    def matches(self, method: str, path: str, body: bytes) -> bool:
        return (
            self.times > 0
            and self.method in (None, method)
            and self.path in path
            and self.body_contains.encode() in body
        )


@dataclass
class LostAnswers:
    """The proxy; tests append :class:`Loss` rules to ``losses`` and read ``log``."""

    upstream: str
    losses: list[Loss] = field(default_factory=list)
    log: list[tuple[str, str, str]] = field(default_factory=list)
    """(method, path, what happened: ``forwarded``, ``dropped``, ``answered``)."""
    url: str = ""
    _client: httpx2.AsyncClient = field(init=False, repr=False)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers = [tuple(line.split(":", 1)) for line in lines if ":" in line]
        sent = {k.strip(): v.strip() for k, v in headers}
        length = int(next((v for k, v in sent.items() if k.lower() == "content-length"), "0"))
        body = await reader.readexactly(length) if length else b""
        path = target.split("?", 1)[0]
        loss = next((rule for rule in self.losses if rule.matches(method, path, body)), None)
        if loss is not None:
            loss.times -= 1
        forwarded = {k: v for k, v in sent.items() if k.lower() not in _HOP_BY_HOP}
        if loss is None or loss.mode == "drop" or loss.forward:
            answer = await self._client.request(method, target, content=body, headers=forwarded)
        if loss is not None and loss.mode == "drop":
            self.log.append((method, path, "dropped"))
            return False  # the connection closes with no answer at all
        if loss is not None:
            self.log.append((method, path, "answered"))
            status, out_headers, content = loss.status, dict(loss.headers), loss.body
        else:
            self.log.append((method, path, "forwarded"))
            status, content = answer.status_code, answer.content
            out_headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
        out_headers["Content-Length"] = str(len(content))
        lines_out = [f"HTTP/1.1 {status} {httpx2.codes.get_reason_phrase(status)}"]
        lines_out += [f"{k}: {v}" for k, v in out_headers.items()]
        writer.write(("\r\n".join(lines_out) + "\r\n\r\n").encode("latin-1") + content)
        await writer.drain()
        return True

    @contextmanager
    def serving(self) -> Iterator[LostAnswers]:
        """Serve on a free loopback port in a thread of its own; ``url`` is set inside."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        holder: dict[str, asyncio.AbstractServer] = {}

        async def start() -> None:
            self._client = httpx2.AsyncClient(base_url=self.upstream, timeout=30)
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            holder["server"] = server
            self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            started.set()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(start())
            loop.run_forever()

        thread = threading.Thread(target=run, name="lost-answers", daemon=True)
        thread.start()
        if not started.wait(15):
            raise RuntimeError("the lost-answers proxy did not start")
        try:
            yield self
        finally:

            async def stop() -> None:
                holder["server"].close()
                current = asyncio.current_task()
                handlers = [t for t in asyncio.all_tasks() if t is not current]
                for task in handlers:
                    task.cancel()
                await asyncio.gather(*handlers, return_exceptions=True)
                await self._client.aclose()

            asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
