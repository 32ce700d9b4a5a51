"""Finding existing accounts at the target with as few requests as possible.

A batch is looked up with OR filters (``userName eq "a" or userName eq "b" ...``), one per
chunk, when the target filters and the batch is small next to the target. Otherwise the whole
collection is listed page by page once per connector instance (once per run) into a snapshot
that later batches reuse and that this connector's own writes keep current.

A target that refuses a filter with a 4xx (a strict parser and a ``"`` in a userName) is not a
reason to fail anything: the finder lists the collection instead, for this and later batches.
A listing that answers garbage fails the run (nothing can be compared without it); a read of
one resource that answers garbage is remembered in :attr:`Finder.unreadable`, so only the
entity it was about fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from provisync_scim.discovery import TargetFeatures
from provisync_scim.http import InvalidAnswer, ScimHttp, describe
from provisync_sdk.errors import TargetUnreachable

Resource = dict[str, Any]
KeyOf = Callable[[Mapping[str, Any]], str | None]

LIST_OVER_FILTER = 2
"""List the whole collection when that takes at most this many times the filter requests."""


def quote(value: str) -> str:
    """A SCIM filter string literal (RFC 7644 §3.4.2.2)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ResourceIndex:
    """Resources of one endpoint by id and by match key."""

    def __init__(self, key_of: KeyOf) -> None:
        self.key_of = key_of
        self.by_id: dict[str, Resource] = {}
        self.by_key: dict[str, Resource] = {}

    def add(self, resource: Resource) -> None:
        rid = str(resource.get("id") or "")
        if not rid:
            return
        old = self.by_id.get(rid)
        if old is not None:
            old_key = self.key_of(old)
            if old_key is not None and self.by_key.get(old_key) is old:
                del self.by_key[old_key]
        self.by_id[rid] = resource
        key = self.key_of(resource)
        if key is not None:
            self.by_key.setdefault(key, resource)

    def remove(self, rid: str) -> None:
        old = self.by_id.pop(rid, None)
        if old is not None:
            key = self.key_of(old)
            if key is not None and self.by_key.get(key) is old:
                del self.by_key[key]


class FilterRefused(Exception):
    """The target answered a filtered listing with a 4xx (it cannot parse or run the filter)."""


class Finder:
    """Looks up the resources of one endpoint by a match key (userName, email, displayName).

    :param filter_path: the SCIM attribute path the key is filtered on.
    :param key_of: the normalised key of a resource, as ``normalise_key`` gives for a wanted one.
    """

    def __init__(
        self,
        http: ScimHttp,
        features: TargetFeatures,
        endpoint: str,
        filter_path: str,
        key_of: KeyOf,
        normalise_key: Callable[[str], str],
        *,
        chunk: int,
        page_size: int,
    ) -> None:
        self.http = http
        self.features = features
        self.endpoint = endpoint
        self.filter_path = filter_path
        self.key_of = key_of
        self.normalise_key = normalise_key
        self.chunk = max(1, min(chunk, features.filter_max_results or chunk))
        self.page_size = page_size
        self.snapshot: ResourceIndex | None = None
        self.filter_refused: str | None = None
        """Why the target refused a filter, once it did; lookups then list instead."""
        self.unreadable: dict[str, str] = {}
        """Resource ids whose read answered garbage, with what came back."""

    def remember(self, resource: Resource) -> None:
        """Keep the snapshot current after this connector wrote ``resource``."""
        if self.snapshot is not None:
            self.snapshot.add(resource)

    def forget(self, rid: str) -> None:
        if self.snapshot is not None:
            self.snapshot.remove(rid)

    async def find(
        self, keys: Sequence[str], hints: Iterable[str] = ()
    ) -> tuple[dict[str, Resource], dict[str, Resource]]:
        """Existing resources for ``keys`` (by normalised key) and for id ``hints`` (by id).

        A hint whose resource is gone is simply absent from the second mapping.
        """
        wanted = sorted({self.normalise_key(k) for k in keys if k})
        hints = [h for h in dict.fromkeys(hints) if h]
        if self.snapshot is None and await self._should_list(len(wanted)):
            await self.load_snapshot()
        found = self.snapshot
        if found is None:
            try:
                found = await self._filtered(wanted)
            except FilterRefused as refused:
                self.filter_refused = str(refused)
                await self.load_snapshot()
                found = self.snapshot
                assert found is not None
        by_key = {k: found.by_key[k] for k in wanted if k in found.by_key}
        by_id = {h: found.by_id[h] for h in hints if h in found.by_id}
        if self.snapshot is None:  # a filter only saw the keys asked for: verify other hints
            for hint in hints:
                if hint not in by_id:
                    try:
                        resource = await self.get(hint)
                    except InvalidAnswer as garbage:
                        self.unreadable[hint] = str(garbage)
                        continue
                    if resource is not None:
                        by_id[hint] = resource
        return by_key, by_id

    async def find_fresh(self, key: str) -> Resource | None:
        """The resource with this key as the target holds it now, never from the snapshot
        (after a 409 or a create answered without a resource, the snapshot cannot know)."""
        wanted = self.normalise_key(key)
        found = None
        if self.features.filter and not self.filter_refused:
            try:
                found = (await self._filtered([wanted])).by_key.get(wanted)
            except FilterRefused as refused:  # a strict parser: list instead, as find() does
                self.filter_refused = str(refused)
        if self.filter_refused or not self.features.filter:
            await self.load_snapshot()
            found = self.snapshot.by_key.get(wanted) if self.snapshot is not None else None
        if found is not None:
            self.remember(found)
        return found

    async def get(self, rid: str) -> Resource | None:
        """One resource by id; ``None`` when the target does not know it.

        :raises InvalidAnswer: the target answered 200 with something that is not the resource.
        """
        response = await self.http.request(
            "GET", f"{self.endpoint}/{rid}", label="get", expect="resource"
        )
        if response.status_code == 200:
            return self.http.document(response)
        if response.status_code in (400, 404):
            return None
        raise TargetUnreachable(
            f"the SCIM target failed to read {self.endpoint} ({describe(response)})"
        )

    async def _should_list(self, wanted: int) -> bool:
        if not self.features.filter or self.filter_refused:
            return True
        filters = math.ceil(wanted / self.chunk)
        if filters <= 1:
            return False
        total = await self.count()
        return math.ceil(total / self.page_size) <= filters * LIST_OVER_FILTER

    async def count(self) -> int:
        """How many resources the endpoint holds (one small request)."""
        page = await self._page({"startIndex": 1, "count": 0}, "count")
        return int(page.get("totalResults") or 0)

    async def load_snapshot(self) -> None:
        """List the whole collection page by page."""
        index = ResourceIndex(self.key_of)
        start = 1
        while True:
            page = await self._page({"startIndex": start, "count": self.page_size}, "list")
            resources = [r for r in page.get("Resources") or [] if isinstance(r, dict)]
            for resource in resources:
                index.add(resource)
            start += len(resources)
            total = int(page.get("totalResults") or 0)
            if not resources or start > total:
                break
        self.snapshot = index

    async def _filtered(self, wanted: Sequence[str]) -> ResourceIndex:
        index = ResourceIndex(self.key_of)
        for at in range(0, len(wanted), self.chunk):
            expression = " or ".join(
                f"{self.filter_path} eq {quote(key)}" for key in wanted[at : at + self.chunk]
            )
            start = 1
            while True:
                page = await self._page(
                    {"filter": expression, "startIndex": start, "count": self.chunk * 2},
                    "filter",
                    filtered=True,
                )
                resources = [r for r in page.get("Resources") or [] if isinstance(r, dict)]
                for resource in resources:
                    index.add(resource)
                start += len(resources)
                if not resources or start > int(page.get("totalResults") or 0):
                    break
        return index

    async def _page(
        self, params: dict[str, Any], label: str, *, filtered: bool = False
    ) -> dict[str, Any]:
        response = await self.http.request(
            "GET", self.endpoint, params=params, label=label, expect="list"
        )
        status = response.status_code
        if filtered and 400 <= status < 500 and status not in (401, 403, 429):
            raise FilterRefused(f"GET {self.endpoint} with a filter answered {describe(response)}")
        if status != 200:
            # Without a way to read the target nothing can be compared: the run fails.
            raise TargetUnreachable(
                f"the SCIM target failed to list {self.endpoint} ({describe(response)})"
            )
        try:
            return self.http.document(response, expect="list")
        except InvalidAnswer as garbage:
            raise garbage.run_failure() from None
