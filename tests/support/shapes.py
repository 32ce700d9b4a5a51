"""SCIM services shaped unlike scim2-server, made from it by rewriting what it answers.

:class:`ShapedUpstream` sits inside the fault proxy: :meth:`~ShapedUpstream.before` may answer
a request itself (a strict server's 400), :meth:`~ShapedUpstream.after` rewrites the
upstream's answer (no ETags, a bodiless 204, computed ``User.groups``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

SCIM = "application/scim+json"


@dataclass
class Shape:
    """Behaviours of SCIM services that the upstream server does not have."""

    no_patch: bool = False
    """``/ServiceProviderConfig`` says PATCH is not supported (writes are PUTs)."""
    no_etag: bool = False
    strict_filter: bool = False
    """400 invalidFilter for any filter with an escaped character (``\\"``)."""
    patch_204: bool = False
    existing_members_only: bool = False
    computed_user_groups: bool = False


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class ShapedUpstream:
    """The upstream's answers, as a service of ``shape`` would give them."""

    def __init__(self, shape: Shape, client: httpx.AsyncClient, upstream: str) -> None:
        self.shape = shape
        self.client = client
        self.upstream = upstream

    async def before(self, request: Request) -> Answer | None:
        shape = self.shape
        query = request.target.partition("?")[2]
        if shape.strict_filter and "filter=" in query:
            expression = parse_qs(query).get("filter", [""])[0]
            if "\\" in expression:
                return scim_error(
                    400, f"cannot parse filter {expression[:60]}", {}, "invalidFilter"
                )
        if shape.no_etag:
            request.headers.pop("if-match", None)
            request.headers.pop("if-none-match", None)
        if shape.existing_members_only and "/Groups" in request.path and request.body:
            missing = await self._missing_members(request.body)
            if missing:
                return scim_error(400, f"no such user: {missing[0]}", {}, "invalidValue")
        return None

    async def _missing_members(self, body: bytes) -> list[str]:
        try:
            document = json.loads(body)
        except ValueError:
            return []
        values: list[str] = []
        for member in document.get("members") or []:
            values.append(str(member.get("value")))
        for op in document.get("Operations") or []:
            if str(op.get("op", "")).lower() in ("add", "replace") and "members" in str(
                op.get("path") or "members"
            ):
                value = op.get("value")
                items = value if isinstance(value, list) else (value or {}).get("members", [])
                values += [str(m.get("value")) for m in items if isinstance(m, dict)]
        missing = []
        for value in values:
            found = await self.client.get(f"{self.upstream}/v2/Users/{value}")
            if found.status_code != 200:
                missing.append(value)
        return missing

    async def after(self, request: Request, answer: Answer) -> Answer:
        shape = self.shape
        if shape.patch_204 and request.method == "PATCH" and answer.status == 200:
            return Answer(204, {k: v for k, v in answer.headers.items() if k.lower() == "etag"})
        if not (shape.no_etag or shape.no_patch or shape.computed_user_groups) or not answer.body:
            return answer
        try:
            document = json.loads(answer.body)
        except ValueError:
            return answer
        if shape.no_patch and request.path.endswith("/ServiceProviderConfig"):
            document["patch"] = {"supported": False}
        if shape.no_etag:
            answer.headers = {k: v for k, v in answer.headers.items() if k.lower() != "etag"}
            if request.path.endswith("/ServiceProviderConfig"):
                document["etag"] = {"supported": False}
            for resource in resources(document):
                if isinstance(resource.get("meta"), dict):
                    resource["meta"].pop("version", None)
        if shape.computed_user_groups and "/Users" in request.path:
            await self._add_groups(resources(document))
        answer.body = json.dumps(document).encode()
        return answer

    async def _add_groups(self, users: list[dict[str, Any]]) -> None:
        listing = (
            await self.client.get(f"{self.upstream}/v2/Groups", params={"count": 1000})
        ).json()
        groups: dict[str, list[dict[str, str]]] = {}
        for group in listing.get("Resources") or []:
            for member in group.get("members") or []:
                groups.setdefault(str(member.get("value")), []).append(
                    {"value": group["id"], "display": group.get("displayName", "")}
                )
        for user in users:
            user["groups"] = groups.get(str(user.get("id")), [])


def resources(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    listed = document.get("Resources")
    if isinstance(listed, list):
        return [r for r in listed if isinstance(r, dict)]
    return [document] if document.get("id") else []


def scim_error(status: int, detail: str, headers: dict[str, str], scim_type: str = "") -> Answer:
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": detail,
    }
    if scim_type:
        body["scimType"] = scim_type
    return Answer(status, {"Content-Type": SCIM, **headers}, json.dumps(body).encode())
