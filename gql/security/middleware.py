"""The ASGI guard in front of /graphql: request size (413), authentication (401), CORS."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql.security.authn import AUTHENTICATOR_KEY, Authenticator
from gql.security.crypto import configure as configure_secrets
from gql.security.roles import SCOPE_KEY, UNAUTHENTICATED

log = logging.getLogger("provisync.security")
PROTECTED_PATHS = ("/graphql", "/metrics", "/audit")
"""Paths that need credentials when authentication is on (Prometheus sends a bearer token;
``/audit/export`` streams the audit log to viewers)."""


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="provisync"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """Reads the whole body (bounded) before anything else, then decides who is calling.

    WebSockets pass: they are authenticated at ``connection_init`` (:func:`on_ws_connect`).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        max_request_bytes: int,
        protected: tuple[str, ...] = PROTECTED_PATHS,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.max_request_bytes = max_request_bytes
        self.protected = protected

    def _guards(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.protected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self._guards(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[AUTHENTICATOR_KEY] = self.authenticator
        if scope["type"] == "websocket":
            state[SCOPE_KEY] = UNAUTHENTICATED
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await self._read_body(headers, receive)
        if body is None:
            await _send_error(
                send,
                413,
                "REQUEST_TOO_LARGE",
                f"the request body is larger than {self.max_request_bytes} bytes",
            )
            return
        if scope["method"] == "OPTIONS":
            await self.app(scope, _replay(body, receive), send)
            return
        principal = await self.authenticator.resolve(headers.get("authorization"))
        ide_page = scope["method"] == "GET" and "text/html" in headers.get("accept", "")
        if principal is None or (principal.role is None and not ide_page):
            await _send_error(
                send,
                401,
                "UNAUTHENTICATED",
                "authentication required: send Authorization: Bearer <token>",
            )
            return
        state[SCOPE_KEY] = principal
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes | None:
        """The body, or None when it is over the limit (stopping as soon as it is)."""
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_request_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_request_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install(app: Starlette, services: Any, settings: Any) -> None:
    """Put authentication, the size limit and CORS in front of the app (call from create_app).

    Only /graphql, /metrics and /audit are guarded: health, readiness and the console's static page
    stay open, and the demo's SCIM target and Workday simulator keep their own credentials.
    """
    configure_secrets(settings)
    authenticator = Authenticator(services.db, settings)
    app.add_middleware(
        SecurityMiddleware,  # type: ignore[arg-type]
        authenticator=authenticator,
        max_request_bytes=int(getattr(settings, "max_request_bytes", 1_000_000)),
    )
    origins = list(getattr(settings, "cors_origins", []) or [])
    if origins:
        # Added last, so outermost: preflight requests are answered before authentication.
        app.add_middleware(
            CORSMiddleware,  # type: ignore[arg-type]
            allow_origins=origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.state.authenticator = authenticator
    app.state.security_installed = True
