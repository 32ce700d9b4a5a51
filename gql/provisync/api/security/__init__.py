"""HTTP security: who may call (tokens, OIDC), request limits, CORS, Host checks, and the
GraphQL validation rules that bound every document.

The app calls :func:`install` from ``create_app``; mutations call
:func:`provisync.api.security.guards.forbidden` first; the schema adds
:func:`provisync.api.security.limits.validation_rules`.
"""

from __future__ import annotations

from provisync.api.security.authn import on_ws_connect
from provisync.api.security.middleware import install

__all__ = ["install", "on_ws_connect"]
