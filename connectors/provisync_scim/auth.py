"""Request authentication: static headers, or OAuth 2.0 client-credentials tokens.

Tokens are cached and fetched again shortly before they expire, or at once when the target
answers 401 to a token it accepted before. No secret ever reaches a message or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import time

import httpx2

from provisync_scim.settings import ScimSettings
from provisync_sdk import AuthenticationFailed, TargetUnreachable

REFRESH_MARGIN = 30.0
"""Seconds before expiry at which a cached token is replaced."""


def _basic(user: str, password: str) -> str:
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class Authenticator:
    """Gives the ``Authorization`` header for the next request of one connection."""

    def __init__(self, settings: ScimSettings, client: httpx2.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_requests = 0

    @property
    def refreshable(self) -> bool:
        """Whether a 401 may be cured by fetching a new token."""
        return self.settings.auth == "oauth2"

    async def header(self) -> str | None:
        s = self.settings
        if s.auth == "bearer" and s.token is not None:
            return "Bearer " + s.token.get_secret_value()
        if s.auth == "basic" and s.password is not None:
            return _basic(s.username or "", s.password.get_secret_value())
        if s.auth == "oauth2":
            return "Bearer " + await self._oauth_token()
        return None

    def invalidate(self, header: str | None) -> None:
        """Forget the cached token if it is the one just refused."""
        if header is not None and self._token is not None and header.endswith(self._token):
            self._token = None

    async def _oauth_token(self) -> str:
        if self._token is not None and time.monotonic() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token is not None and time.monotonic() < self._expires_at:
                return self._token
            self._token, lifetime = await self._fetch_token()
            margin = min(REFRESH_MARGIN, lifetime / 10)
            self._expires_at = time.monotonic() + lifetime - margin
            return self._token

    async def _fetch_token(self) -> tuple[str, float]:
        s = self.settings
        assert s.token_url is not None and s.client_secret is not None
        form = {"grant_type": "client_credentials"}
        if s.scope:
            form["scope"] = s.scope
        headers = {"Accept": "application/json"}
        if s.token_auth_method == "client_secret_basic":
            headers["Authorization"] = _basic(s.client_id or "", s.client_secret.get_secret_value())
        else:
            form["client_id"] = s.client_id or ""
            form["client_secret"] = s.client_secret.get_secret_value()
        self.token_requests += 1
        try:
            response = await self.client.post(s.token_url, data=form, headers=headers)
        except httpx2.HTTPError as exc:
            raise TargetUnreachable(
                f"the OAuth token endpoint does not answer ({type(exc).__name__})"
            ) from None
        if response.status_code in (400, 401, 403):
            error = _oauth_error(response)
            raise AuthenticationFailed(
                f"the OAuth token endpoint refused the client credentials "
                f"(HTTP {response.status_code}{': ' + error if error else ''})"
            )
        if response.status_code >= 300:
            raise TargetUnreachable(
                f"the OAuth token endpoint failed (HTTP {response.status_code})"
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise AuthenticationFailed("the OAuth token endpoint sent no access_token") from None
        return token, max(lifetime, 1.0)


def _oauth_error(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("error") or "")
