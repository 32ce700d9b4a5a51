"""The ASGI guard in front of /graphql: request size (413), authentication (401), CORS."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql.security.authn import AUTHENTICATOR_KEY, Authenticator
from gql.security.crypto import configure as configure_secrets
from gql.security.roles import SCOPE_KEY, UNAUTHENTICATED

log = logging.getLogger("provisync.security")
PROTECTED_PATHS = ("/graphql", "/metrics", "/audit")
"""Paths that need credentials when authentication is on (Prometheus sends a bearer token;
``/audit/export`` streams the audit log to viewers)."""
IDE_PATH = "/graphql"


def is_ide_page(scope: Scope, headers: dict[str, str]) -> bool:
    """A request for the GraphiQL page itself, the one thing a stranger may have.

    Only ``GET /graphql`` asking for HTML and carrying no ``query`` parameter: with a query,
    Strawberry would parse, validate and run it, so such a request needs a caller.
    """
    if scope["path"] != IDE_PATH or scope["method"] not in ("GET", "HEAD"):
        return False
    if "text/html" not in headers.get("accept", ""):
        return False
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return "query" not in params


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
        if principal is None or (principal.role is None and not is_ide_page(scope, headers)):
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
    # Added last, so outermost: a request naming a host not ours is refused before anything.
    app.add_middleware(
        TrustedHostMiddleware,  # type: ignore[arg-type]
        allowed_hosts=allowed_hosts(settings),
        www_redirect=False,
    )
    app.state.authenticator = authenticator
    app.state.security_installed = True


def allowed_hosts(settings: Any) -> list[str]:
    """The Host values served: the setting, plus the address the server was told to bind
    (``--host 10.0.0.5`` is reached by that name) unless that is a wildcard."""
    hosts = [h.strip().lower() for h in getattr(settings, "allowed_hosts", None) or [] if h.strip()]
    bound = str(getattr(settings, "host", "") or "").strip().lower()
    if bound and bound not in ("0.0.0.0", "::", "[::]") and bound not in hosts:
        hosts.append(bound)
    return hosts or ["localhost"]
