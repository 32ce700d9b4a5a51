"""A real SCIM 2.0 service provider (the ``scim2-server`` package) for the demo and tests.

Resources live in memory for the life of the app. :class:`RejectUserNames` is a small ASGI
middleware in front of it that refuses some userNames with a SCIM 400, so the demo can show an
account the target rejects without patching the library.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any

from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.service import ScimService
from scim2_server.utils import load_default_provider

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


async def send_scim_error(
    send: Send, status: int, detail: str, scim_type: str | None = None
) -> None:
    """Answer a SCIM error response (RFC 7644 §3.12)."""
    body: dict[str, Any] = {"schemas": [SCIM_ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/scim+json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


def replay(body: bytes) -> Receive:
    """A ``receive`` that hands the already read body on to the wrapped app."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class RejectUserNames:
    """Refuse users whose userName is in a set, with a SCIM 400, singly or inside a /Bulk."""

    def __init__(self, app: ASGIApp, user_names: Iterable[str]) -> None:
        self.app = app
        self.user_names = {name.lower() for name in user_names}

    def _rejected(self, resource: Any) -> str | None:
        name = str(resource.get("userName") or "") if isinstance(resource, dict) else ""
        return name if name.lower() in self.user_names else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        bulk = path.rstrip("/").endswith("/Bulk")
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT")
            or ("/Users" not in path and not bulk)
            or not self.user_names
        ):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            document = {}
        if bulk:
            await self._bulk(scope, document, body, send)
            return
        user_name = self._rejected(document)
        if user_name is not None:
            await send_scim_error(
                send, 400, f"userName {user_name!r} is reserved at this service", "invalidValue"
            )
            return
        await self.app(scope, replay(body), send)

    async def _bulk(self, scope: Scope, document: Any, body: bytes, send: Send) -> None:
        """Answer rejected operations with a 400 each; hand the others to the server."""
        operations = document.get("Operations") if isinstance(document, dict) else None
        if not isinstance(operations, list):
            await self.app(scope, replay(body), send)
            return
        refused = [op for op in operations if self._rejected(op.get("data")) is not None]
        if not refused:
            await self.app(scope, replay(body), send)
            return
        kept = [op for op in operations if op not in refused]
        answered: list[Any] = []
        if kept:
            forwarded = json.dumps({**document, "Operations": kept}).encode()
            status, headers, payload = await _call(self.app, scope, forwarded)
            if status != 200:
                await _respond(send, status, headers, payload)
                return
            answered = json.loads(payload or b"{}").get("Operations") or []
        for op in refused:
            detail = f"userName {self._rejected(op.get('data'))!r} is reserved at this service"
            answered.append(
                {
                    "method": op.get("method"),
                    "bulkId": op.get("bulkId"),
                    "status": "400",
                    "response": {
                        "schemas": [SCIM_ERROR],
                        "status": "400",
                        "scimType": "invalidValue",
                        "detail": detail,
                    },
                }
            )
        response = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
            "Operations": answered,
        }
        await _respond(
            send, 200, [(b"content-type", b"application/scim+json")], json.dumps(response).encode()
        )


async def _call(app: ASGIApp, scope: Scope, body: bytes) -> tuple[int, list[Any], bytes]:
    """Run the wrapped app on a body and collect its response."""
    status, headers, chunks = 500, [], []

    async def collect(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = int(message["status"]), list(message.get("headers") or [])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, replay(body), collect)
    return status, headers, b"".join(chunks)


async def _respond(send: Send, status: int, headers: list[Any], body: bytes) -> None:
    kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    kept.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": kept})
    await send({"type": "http.response.body", "body": body})


def _provider_with(user_extensions: Sequence[Mapping[str, Any]]) -> Any:
    """The default provider, its User resource type extended with custom schemas."""
    from scim2_models import Schema
    from scim2_models.provider import ScimProvider
    from scim2_models.resources.resource_type import SchemaExtension
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    schemas = list(load_default_schemas().values())
    schemas += [Schema.model_validate(dict(extension)) for extension in user_extensions]
    resource_types = load_default_resource_types()
    user = resource_types["User"]
    user.schema_extensions = [
        *(user.schema_extensions or []),
        *(SchemaExtension(schema_=str(e["id"]), required=False) for e in user_extensions),
    ]
    return ScimProvider.from_discovery(
        schemas, resource_types.values(), config=load_default_service_provider_config()
    )


def build_scim_target_app(
    reject_user_names: Iterable[str] = (), user_extensions: Sequence[Mapping[str, Any]] = ()
) -> ASGIApp:
    """A fresh in-memory SCIM 2.0 server; endpoints at ``/v2`` (``/`` also works).

    :param reject_user_names: userNames the server refuses with a 400 ``invalidValue``.
    :param user_extensions: custom User schema extensions (SCIM ``Schema`` resources) the
        server serves besides the enterprise extension.
    :return: the ASGI app (it answers the lifespan protocol itself).
    """
    provider = _provider_with(user_extensions) if user_extensions else load_default_provider()
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    app: ASGIApp = ASGIApplication(AsyncInMemoryStorage(), provider, service)  # type: ignore[assignment]
    rejected = list(reject_user_names)
    return RejectUserNames(app, rejected) if rejected else app


async def seed_existing_account(app: ASGIApp, user_name: str, **attributes: Any) -> str:
    """Create an account directly at the target, as if it had been there before provisync.

    :param app: an app from :func:`build_scim_target_app`.
    :param user_name: the account's userName.
    :param attributes: further top-level SCIM User attributes (``title="Contractor"``).
    :return: the account's id at the target.
    """
    import httpx2  # only the demo's seeding needs a client here

    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name}
    body.update(attributes)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://scim-target") as client:
        response = await client.post("/v2/Users", json=body)
        if response.status_code == 409:
            found = await client.get("/v2/Users", params={"filter": f'userName eq "{user_name}"'})
            return str(found.json()["Resources"][0]["id"])
        response.raise_for_status()
        return str(response.json()["id"])
