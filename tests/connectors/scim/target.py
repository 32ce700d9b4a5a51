"""A controllable front for scim2-server: request log, auth, PUT-only mode, injected faults.

Everything here is real HTTP over loopback; the middleware only decides what the server
answers, the way a different SCIM implementation (or a failing one) would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from provisync.demo.scim_target import ASGIApp, Message, Receive, Scope, Send, send_scim_error
from tests.support.servers import free_port


@dataclass
class Fault:
    """Answer matching requests with ``status`` (or after ``delay`` seconds), ``times`` times."""

    method: str | None = None
    path: str = ""
    status: int | None = None
    times: int = 1
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body_contains: str = ""
    detail: str = "injected fault"

    def matches(self, method: str, path: str, body: bytes) -> bool:
        return (
            self.times > 0
            and (self.method is None or self.method == method)
            and self.path in path
            and (not self.body_contains or self.body_contains.encode() in body)
        )


@dataclass
class Control:
    """What the front does; tests change it and read ``log``."""

    patch: bool = True
    filter: bool = True
    bearer_tokens: set[str] = field(default_factory=set)
    basic: tuple[str, str] | None = None
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)
    on_request: Callable[[str, str], None] | None = None
    oauth_clients: dict[str, str] = field(default_factory=dict)
    oauth_lifetime: int = 3600
    token_requests: int = 0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def methods(self, path: str = "") -> Counter[str]:
        return Counter(m for m, p in self.log if path in p)

    def writes(self) -> int:
        return sum(1 for m, _ in self.log if m in ("POST", "PUT", "PATCH", "DELETE"))

    def authorized(self, headers: dict[bytes, bytes]) -> bool:
        if not self.bearer_tokens and self.basic is None:
            return True
        value = headers.get(b"authorization", b"").decode()
        scheme, _, credential = value.partition(" ")
        if scheme.lower() == "bearer":
            return credential in self.bearer_tokens
        if scheme.lower() == "basic" and self.basic is not None:
            expected = base64.b64encode(":".join(self.basic).encode()).decode()
            return credential == expected
        return False


def token_app(control: Control) -> Starlette:
    """An OAuth 2.0 token endpoint (client credentials, client_secret_basic or _post)."""

    async def token(request: Request) -> JSONResponse:
        control.token_requests += 1
        form = await request.form()
        client_id, client_secret = (
            str(form.get("client_id", "")),
            str(form.get("client_secret", "")),
        )
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            client_id, _, client_secret = base64.b64decode(credential).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if control.oauth_clients.get(client_id) != client_secret or not client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        issued = secrets.token_urlsafe(16)
        control.bearer_tokens.add(issued)
        return JSONResponse(
            {"access_token": issued, "token_type": "Bearer", "expires_in": control.oauth_lifetime}
        )

    return Starlette(routes=[Route("/oauth/token", token, methods=["POST"])])


async def _read(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


class ControlledTarget:
    """The ASGI front itself."""

    def __init__(self, app: ASGIApp, control: Control) -> None:
        self.app = app
        self.control = control
        self.tokens = token_app(control)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == "/oauth/token":
            await self.tokens(scope, receive, send)
            return
        control = self.control
        control.log.append((method, path))
        if control.on_request is not None:
            control.on_request(method, path)
        body = await _read(receive)
        if "ServiceProviderConfig" not in path and not control.authorized(dict(scope["headers"])):
            await send_scim_error(send, 401, "authentication required")
            return
        for fault in control.faults:
            if fault.matches(method, path, body):
                fault.times -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    await _send_fault(send, fault)
                    return
                break
        if method == "PATCH" and not control.patch:
            await send_scim_error(send, 501, "PATCH is not supported")
            return
        query = scope.get("query_string", b"").decode()
        if method == "GET" and "filter=" in query and not control.filter:
            await send_scim_error(send, 501, "filtering is not supported", "invalidFilter")
            return

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        if method == "GET" and path.endswith("/ServiceProviderConfig"):
            await self._rewritten_config(scope, replay, send)
            return
        await self.app(scope, replay, send)

    async def _rewritten_config(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        config = json.loads(b"".join(chunks))
        config["patch"] = {"supported": self.control.patch}
        config["filter"] = {"supported": self.control.filter, "maxResults": 1000}
        payload = json.dumps(config).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send(
            {**start, "headers": [*headers, (b"content-length", str(len(payload)).encode())]}
        )
        await send({"type": "http.response.body", "body": payload})


async def _send_fault(send: Send, fault: Fault) -> None:
    payload = json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(fault.status),
            "detail": fault.detail,
        }
    ).encode()
    headers = [(b"content-type", b"application/scim+json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


@contextmanager
def stoppable_server(app: Any) -> Iterator[tuple[str, uvicorn.Server]]:
    """Like ``serve_asgi``, but hands out the server so a test can stop it mid-run."""
    import threading
    import time

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
