"""Who is calling: a bearer API token or OIDC JWT turned into a principal, for HTTP and WS."""

from __future__ import annotations

import time
from typing import Any

from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from gql.security.oidc import OidcVerifier
from gql.security.roles import ANONYMOUS, SCOPE_KEY, UNAUTHENTICATED, Principal
from gql.security.tokens import TOKEN_PREFIX, principal_for_token
from gql.store.db import Database

AUTHENTICATOR_KEY = "provisync.authenticator"


class Authenticator:
    def __init__(self, db: Database, settings: Any) -> None:
        self.db = db
        self.required = bool(getattr(settings, "auth_required", False))
        self.oidc = OidcVerifier.from_settings(settings)

    async def principal(self, authorization: str | None) -> Principal | None:
        """The caller named by an ``Authorization`` value; None when it names no one valid."""
        if not authorization:
            return None
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential or len(credential) > 8192:
            return None
        if credential.startswith(TOKEN_PREFIX):
            return await principal_for_token(self.db, credential)
        if self.oidc is not None and credential.count(".") == 2:
            return await self.oidc.verify(credential)
        return None

    async def resolve(self, authorization: str | None) -> Principal | None:
        """The request's principal: None means refuse (bad credentials, or none when required).

        Credentials that are sent must be valid even when authentication is optional.
        """
        if authorization:
            return await self.principal(authorization)
        return UNAUTHENTICATED if self.required else ANONYMOUS


def request_principal(request: Any, settings: Any) -> Principal:
    """The principal the security middleware put on the request's scope (fail closed)."""
    scope = getattr(request, "scope", None)
    state = scope.get("state") if isinstance(scope, dict) else None
    found = state.get(SCOPE_KEY) if isinstance(state, dict) else None
    if isinstance(found, Principal):
        return found
    return UNAUTHENTICATED if getattr(settings, "auth_required", False) else ANONYMOUS


def ws_authorization(context: Any) -> str | None:
    """A socket's credential: the init payload's ``Authorization`` (browsers cannot set
    WebSocket headers), else the handshake's ``Authorization`` header."""
    params = context.connection_params if isinstance(context.connection_params, dict) else {}
    authorization = params.get("Authorization") or params.get("authorization")
    if not isinstance(authorization, str):
        authorization = context.request.headers.get("authorization")
    return authorization if isinstance(authorization, str) else None


async def on_ws_connect(context: Any) -> UnsetType | dict[str, object] | None:
    """graphql-transport-ws ``connection_init``: authenticate, or close the socket (4403).

    The token comes from the init payload (``{"Authorization": "Bearer ..."}``; browsers cannot
    set WebSocket headers) or else from the handshake's ``Authorization`` header.
    """
    request = context.request
    state = request.scope.get("state") or {}
    authenticator = state.get(AUTHENTICATOR_KEY)
    authorization = ws_authorization(context)
    if not isinstance(authenticator, Authenticator):
        if getattr(context.services.settings, "auth_required", False):
            raise ConnectionRejectionError({"message": "authentication is not configured"})
        return UNSET
    principal = await authenticator.resolve(authorization)
    if principal is None or principal.role is None:
        raise ConnectionRejectionError({"message": "authentication required"})
    if principal.expires_at is not None and principal.expires_at <= time.time():
        raise ConnectionRejectionError({"message": "the token has expired"})
    context.principal = principal
    return UNSET
