"""WebSockets follow the caller as it is now, not as it was at ``connection_init``.

Each subscribe message re-checks the credential the socket opened with, and a watchdog
re-checks it every few seconds: a revoked token or an expired JWT closes the socket with
4403, ending every operation on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from gql.security.authn import AUTHENTICATOR_KEY, Authenticator, ws_authorization
from gql.security.roles import Principal

log = logging.getLogger("provisync.security")
RECHECK_SECONDS = 2.0
"""How often an open socket's credential is checked again."""


class CallerCheckingWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws, with the caller re-authenticated on every operation and on a timer."""

    recheck_seconds = RECHECK_SECONDS
    watchdog: asyncio.Task[None] | None = None

    def _authenticator(self) -> Authenticator | None:
        request = getattr(self.context, "request", None)
        state = request.scope.get("state") if request is not None else None
        found = state.get(AUTHENTICATOR_KEY) if isinstance(state, dict) else None
        return found if isinstance(found, Authenticator) else None

    async def current_principal(self) -> Principal | None:
        """The socket's caller now; None when its credential no longer names anyone."""
        authenticator = self._authenticator()
        if authenticator is None:
            return getattr(self.context, "principal", None)
        principal = await authenticator.resolve(ws_authorization(self.context))
        if principal is None or principal.role is None:
            return None
        if principal.expires_at is not None and principal.expires_at <= time.time():
            return None
        return principal

    async def refuse(self) -> None:
        log.info("closing a WebSocket: its credential is no longer valid")
        with contextlib.suppress(Exception):
            await self.websocket.close(code=4403, reason="Forbidden")

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.watchdog is None:
            self.watchdog = asyncio.create_task(self._watch())

    async def handle_subscribe(self, message: Any) -> None:
        if self.connection_acknowledged:
            principal = await self.current_principal()
            if principal is None:
                await self.refuse()
                return
            self.context.principal = principal
        await super().handle_subscribe(message)

    async def _watch(self) -> None:
        while True:
            principal = getattr(self.context, "principal", None)
            expires = principal.expires_at if isinstance(principal, Principal) else None
            delay = self.recheck_seconds
            if expires is not None:
                delay = max(0.0, min(delay, expires - time.time()))
            await asyncio.sleep(delay)
            try:
                current = await self.current_principal()
            except Exception:
                log.exception("re-checking a WebSocket's credential failed")
                current = None
            if current is None:
                await self.refuse()
                return
            self.context.principal = current

    async def shutdown(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.watchdog
        await super().shutdown()


__all__ = ["RECHECK_SECONDS", "CallerCheckingWSHandler"]
