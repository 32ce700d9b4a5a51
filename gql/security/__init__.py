"""Security: who may call (tokens, OIDC), what each role may do, secrets at rest, limits.

The app calls :func:`install` from ``create_app``; mutations call
:func:`gql.security.roles.forbidden` first; the schema adds
:func:`gql.security.limits.validation_rules`.
"""

from __future__ import annotations

from typing import Any


def install(app: Any, services: Any, settings: Any) -> None:
    """Authentication, request size limit and CORS in front of ``app``."""
    from gql.security.middleware import install as install_middleware

    install_middleware(app, services, settings)


async def on_ws_connect(context: Any) -> Any:
    """``GraphQLApp.on_ws_connect``: authenticate a WebSocket at ``connection_init``."""
    from gql.security.authn import on_ws_connect as authenticate_ws

    return await authenticate_ws(context)


__all__ = ["install", "on_ws_connect"]
