"""The typed per-request GraphQL context: services, DataLoaders and the caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeAlias

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from gql.loaders import RetryKey, load_connections, load_retries, load_rule_counts, load_rules
from gql.security.authn import request_principal
from gql.security.roles import Principal
from gql.services import Services
from gql.store.models import EntityRetry, ProvisioningConnection, Rule, RuleCounts


@dataclass
class Context:
    services: Services
    request: Any = None
    response: Any = None
    principal: Principal | None = None
    """The caller; by default the one the security middleware put on the request."""
    connection_params: Any = None
    """The WebSocket ``connection_init`` payload (set by Strawberry)."""
    rule_counts: DataLoader[int, dict[str, RuleCounts]] = field(init=False)
    connections: DataLoader[int, ProvisioningConnection | None] = field(init=False)
    rules: DataLoader[int, Rule | None] = field(init=False)
    retries: DataLoader[RetryKey, EntityRetry | None] = field(init=False)
    _session: AsyncSession | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        if self.principal is None:
            self.principal = request_principal(self.request, self.services.settings)
        self.rule_counts = DataLoader(partial(load_rule_counts, self.reader), cache=True)
        self.connections = DataLoader(partial(load_connections, self.reader))
        self.rules = DataLoader(partial(load_rules, self.reader))
        self.retries = DataLoader(partial(load_retries, self.reader))

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """The request's one read session, used by one resolver at a time.

        Reads of a request share a session (and so a connection) instead of checking one out
        per resolver: on a page of rules that checkout was most of the cost. Mutations write
        through sessions of their own (``services.db.session()``).
        """
        async with self._lock:
            if self._session is None:
                self._session = self.services.db.sessions()
            yield self._session

    async def close(self) -> None:
        """End the request's read session (the ``RequestSession`` extension calls this)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    @property
    def actor(self) -> str:
        """The caller's name, as audit events record it."""
        return self.principal.name if self.principal is not None else "anonymous"

    @property
    def db(self) -> Any:
        return self.services.db

    def page_size(self, first: int | None) -> int:
        limit = self.services.settings.max_page_size
        if first is None:
            return min(20, limit)
        if first < 0:
            raise ValueError("first must not be negative")
        if first > limit:
            raise ValueError(f"first must be at most {limit}")
        return first


def peek(loader: DataLoader[Any, Any], key: Any) -> tuple[bool, Any]:
    """A value the loader already holds, without awaiting: (found, value)."""
    future = loader.cache_map.get(key)
    if (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        return True, future.result()
    return False, None


Info: TypeAlias = StrawberryInfo[Context, None]
