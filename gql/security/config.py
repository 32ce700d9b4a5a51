"""Security settings (``PROVISYNC_*``), mixed into :class:`gql.settings.Settings`."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]", "*.localhost")
"""Host names served by default: only names that can only mean this machine."""


class SecuritySettings(BaseSettings):
    """Authentication, secrets at rest, and limits on hostile requests."""

    auth_required: bool = Field(
        default=False,
        description="Require a bearer token on /graphql and /metrics. `provisync serve` turns "
        "it on on every address unless PROVISYNC_AUTH_REQUIRED=false is set explicitly.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(LOOPBACK_HOSTS),
        description="Host header values served (comma-separated; '*.example.com' wildcards, "
        "'*' for any); others get a 400 (DNS rebinding). Default: loopback names.",
    )
    allowed_targets: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="When set, connection URLs may only name these hosts or CIDRs "
        "(comma-separated). Link-local and metadata addresses are refused in any case.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Fernet key(s) encrypting connection secrets at rest; comma-separated for "
        "rotation (the first encrypts, all decrypt).",
        repr=False,
    )
    oidc_issuer: str | None = Field(default=None, description="Issuer (`iss`) of accepted JWTs.")
    oidc_audience: str | None = Field(default=None, description="Audience (`aud`) JWTs must name.")
    oidc_jwks_url: str | None = Field(
        default=None,
        description="JWKS URL of the issuer (default: <issuer>/.well-known/jwks.json).",
    )
    oidc_role_claim: str = Field(default="provisync_role", description="JWT claim with the role.")
    oidc_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["RS256", "ES256", "PS256"],
        description="Signature algorithms accepted for JWTs (comma-separated).",
    )
    introspection: bool = Field(default=True, description="Allow schema introspection queries.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed by CORS (comma-separated)."
    )
    max_request_bytes: int = Field(
        default=1_000_000, description="Largest request body /graphql accepts (413 beyond)."
    )
    query_max_cost: int = Field(
        default=50_000,
        description="Largest estimated cost of one query: fields times the page sizes above them.",
    )

    @field_validator(
        "cors_origins", "oidc_algorithms", "allowed_hosts", "allowed_targets", mode="before"
    )
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only listens on this machine."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def auth_default_for_host(host: str, environ: Any = None) -> bool | None:
    """``provisync serve``: ``True`` unless the environment decides (on every address).

    ``host`` is kept for callers; loopback is no exemption for the production command (a web
    page the administrator visits can reach a loopback server).
    """
    environ = os.environ if environ is None else environ
    if "PROVISYNC_AUTH_REQUIRED" in environ:
        return None
    return True


def auth_notice(settings: Any) -> str:
    """One line for the startup log saying whether credentials are needed."""
    if getattr(settings, "auth_required", False):
        return (
            "authentication required: send Authorization: Bearer <token> "
            "(see provisync token create)"
        )
    host = getattr(settings, "host", "?")
    where = "loopback" if is_loopback(str(host)) else "PROVISYNC_AUTH_REQUIRED=false"
    return f"no credentials are needed on {host} ({where}): every caller is an admin"
