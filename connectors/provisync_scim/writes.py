"""Writes to the target: create, modify (PATCH where supported, else PUT), delete.

ETags are sent as ``If-Match`` where the target offers them; a 412 (someone changed the
resource meanwhile) reads it again and retries once. Writes answer the resource as the target
now holds it, so callers can check that the target took every attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from provisync_scim.discovery import TargetFeatures
from provisync_scim.http import AnswerLost, ScimHttp, describe
from provisync_scim.mapping import BULK_REQUEST, PATCH_SCHEMA, put_body

Resource = dict[str, Any]
Rebuild = Callable[[Resource], tuple[Resource, list[dict[str, Any]]]]
"""From the current resource: the resource wanted (for PUT) and the PATCH operations."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """A write's outcome: the resource as now held, or why the target refused."""

    resource: Resource | None
    status: int
    error: str | None = None
    note: str | None = None
    """For a 2xx that brought no resource: what came back instead (for the reason)."""
    lost: bool = False
    """A create whose answer never came: it may or may not have been applied."""

    @property
    def ok(self) -> bool:
        return self.error is None


def _json(response: httpx2.Response) -> Resource | None:
    if not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("id") else None


def _version(resource: Mapping[str, Any]) -> str | None:
    meta = resource.get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    return str(version) if version else None


class ResourceWriter:
    """Creates, modifies and deletes resources of any endpoint of one target."""

    def __init__(self, http: ScimHttp, features: TargetFeatures) -> None:
        self.http = http
        self.features = features

    def _if_match(self, resource: Mapping[str, Any]) -> dict[str, str]:
        version = _version(resource) if self.features.etag else None
        return {"If-Match": version} if version else {}

    async def read(self, endpoint: str, rid: str) -> Resource | None:
        response = await self.http.request(
            "GET", f"{endpoint}/{rid}", label="get", expect="resource"
        )
        return _json(response) if response.status_code == 200 else None

    async def create(self, endpoint: str, payload: Resource) -> WriteResult:
        """POST a resource. A 2xx without a SCIM resource is not taken on trust: a
        same-origin ``Location`` is read; otherwise ``resource`` is ``None`` and ``note``
        says what came back, for the caller to look the account up."""
        try:
            response = await self.http.request(
                "POST", endpoint, json=payload, label="create", repeatable=False
            )
        except AnswerLost as lost:
            return WriteResult(None, 0, note=f"nothing ({lost})", lost=True)
        if response.status_code not in (200, 201):
            return WriteResult(None, response.status_code, describe(response))
        created = _json(response)
        if created is not None:
            return WriteResult(created, response.status_code)
        answered = f"HTTP {response.status_code} without a SCIM resource"
        location = response.headers.get("Location")
        if not location:
            return WriteResult(None, response.status_code, note=answered + " or a Location")
        url = self._same_origin(location)
        if url is None:
            # Never send credentials to another origin: the account is looked up instead.
            return WriteResult(
                None,
                response.status_code,
                note=f"{answered}, and a Location on another origin that was not followed",
            )
        fetched = await self.http.request("GET", url, label="get", expect="resource")
        created = _json(fetched) if fetched.status_code == 200 else None
        if created is not None:
            return WriteResult(created, response.status_code)
        return WriteResult(
            None,
            response.status_code,
            note=f"{answered}; its Location answered {describe(fetched)}",
        )

    def _same_origin(self, location: str) -> str | None:
        """``location`` as an absolute URL when it has the target's scheme, host and port."""
        base = httpx2.URL(self.http.settings.base_url)
        try:
            url = base.join(location)
        except (ValueError, httpx2.InvalidURL):
            return None
        defaults = {"http": 80, "https": 443}
        if (url.scheme, url.host, url.port or defaults.get(url.scheme)) != (
            base.scheme,
            base.host,
            base.port or defaults.get(base.scheme),
        ):
            return None
        return str(url)

    async def bulk_create(
        self, endpoint: str, payloads: list[Resource]
    ) -> list[WriteResult] | None:
        """Create many resources in one ``/Bulk`` request (RFC 7644 §3.7).

        :return: one result per payload, in order; ``None`` when the target refused the Bulk
            request as a whole (the caller then creates one by one).
        """
        operations = [
            {"method": "POST", "path": endpoint, "bulkId": f"b{i}", "data": payload}
            for i, payload in enumerate(payloads)
        ]
        body = {
            "schemas": [BULK_REQUEST],
            "failOnErrors": len(payloads) + 1,
            "Operations": operations,
        }
        response = await self.http.request("POST", "/Bulk", json=body, label="bulk")
        if response.status_code != 200:
            return None
        try:
            answered = response.json().get("Operations") or []
        except (ValueError, AttributeError):
            return None
        by_id = {op.get("bulkId"): op for op in answered if isinstance(op, dict)}
        results = []
        for i in range(len(payloads)):
            op = by_id.get(f"b{i}")
            status = int(str((op or {}).get("status") or 0).split()[0] or 0)
            if op is not None and 200 <= status < 300:
                results.append(await self._bulk_created(op, status))
                continue
            answer = (op or {}).get("response")
            error: dict[str, Any] = answer if isinstance(answer, dict) else {}
            text = f"HTTP {status}"
            if error.get("scimType"):
                text += f" ({error['scimType']})"
            detail = str(
                error.get("detail") or ("no result in the Bulk response" if op is None else "")
            )
            results.append(WriteResult(None, status, f"{text}: {detail[:300]}" if detail else text))
        return results

    async def _bulk_created(self, op: Mapping[str, Any], status: int) -> WriteResult:
        """A Bulk create's result backed by a resource: the operation's ``response`` when it
        is one, else its same-origin ``location`` read back (a location alone is no evidence:
        the caller looks the account up when neither gives a resource)."""
        answer = op.get("response")
        if isinstance(answer, dict) and answer.get("id"):
            return WriteResult(answer, status)
        location = str(op.get("location") or "")
        url = self._same_origin(location) if location else None
        if url is None:
            note = f"Bulk status {status} without a resource or a usable location"
            return WriteResult(None, status, note=note)
        fetched = await self.http.request("GET", url, label="get", expect="resource")
        created = _json(fetched) if fetched.status_code == 200 else None
        if created is not None:
            return WriteResult(created, status)
        note = f"Bulk status {status} without a resource; its location answered {describe(fetched)}"
        return WriteResult(None, status, note=note)

    async def modify(self, endpoint: str, current: Resource, rebuild: Rebuild) -> WriteResult:
        """Change ``current`` as ``rebuild`` says; with PATCH when the target supports it."""
        result = await self._modify_once(endpoint, current, rebuild)
        if result.status == 412:  # changed meanwhile: read it again, retry once
            fresh = await self.read(endpoint, str(current["id"]))
            if fresh is not None:
                result = await self._modify_once(endpoint, fresh, rebuild)
        return result

    async def _modify_once(self, endpoint: str, current: Resource, rebuild: Rebuild) -> WriteResult:
        path = f"{endpoint}/{current['id']}"
        wanted, operations = rebuild(current)
        if not operations:
            # Nothing left to change (a retry whose first attempt was applied): an empty
            # PATCH is a 400 at strict targets, and the resource is already as wanted.
            return WriteResult(current, 200)
        headers = self._if_match(current)
        if self.features.patch:
            body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
            response = await self.http.request(
                "PATCH", path, json=body, headers=headers, label="patch"
            )
        else:
            response = await self.http.request(
                "PUT", path, json=put_body(wanted), headers=headers, label="put"
            )
        if response.status_code not in (200, 204):
            return WriteResult(None, response.status_code, describe(response))
        held = _json(response)
        if held is None:  # PATCH may answer 204 with no body: read what the target kept
            held = await self.read(endpoint, str(current["id"]))
        return WriteResult(held or wanted, response.status_code)

    async def delete(self, endpoint: str, current: Resource) -> WriteResult:
        response = await self.http.request(
            "DELETE", f"{endpoint}/{current['id']}", headers=self._if_match(current), label="delete"
        )
        if response.status_code in (200, 204, 404):  # 404: already gone is what we wanted
            return WriteResult(None, response.status_code)
        return WriteResult(None, response.status_code, describe(response))


class DryRunWriter(ResourceWriter):
    """A writer for previews: reads go to the target, writes are only counted, never sent.

    Each write answers as if the target had taken it, so the planning code above it (find,
    compare, decide) is the same for a preview as for a real reconcile.
    """

    def __init__(self, http: ScimHttp, features: TargetFeatures) -> None:
        super().__init__(http, features)
        self.planned = 0
        """How many writes a real reconcile would have sent."""

    async def create(self, endpoint: str, payload: Resource) -> WriteResult:
        self.planned += 1
        return WriteResult({**payload, "id": ""}, 201)

    async def bulk_create(
        self, endpoint: str, payloads: list[Resource]
    ) -> list[WriteResult] | None:
        self.planned += 1
        return [WriteResult({**payload, "id": ""}, 201) for payload in payloads]

    async def modify(self, endpoint: str, current: Resource, rebuild: Rebuild) -> WriteResult:
        self.planned += 1
        wanted, _operations = rebuild(current)
        return WriteResult(wanted, 200)

    async def delete(self, endpoint: str, current: Resource) -> WriteResult:
        self.planned += 1
        return WriteResult(None, 204)
