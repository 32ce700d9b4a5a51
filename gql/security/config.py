"""Security settings (``PROVISYNC_*``), mixed into :class:`gql.settings.Settings`."""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode


class SecuritySettings(BaseSettings):
    """Authentication, secrets at rest, and limits on hostile requests."""

    auth_required: bool = Field(
        default=False,
        description="Require a bearer token on /graphql. `provisync serve` turns it on for "
        "non-loopback addresses unless PROVISYNC_AUTH_REQUIRED says otherwise.",
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

    @field_validator("cors_origins", "oidc_algorithms", mode="before")
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
    """``True`` when ``host`` is not loopback and the environment does not decide; else None."""
    environ = os.environ if environ is None else environ
    if "PROVISYNC_AUTH_REQUIRED" in environ:
        return None
    return None if is_loopback(host) else True


def auth_notice(settings: Any) -> str:
    """One line for the startup log saying whether credentials are needed."""
    if getattr(settings, "auth_required", False):
        return (
            "authentication required: send Authorization: Bearer <token> "
            "(see provisync token create)"
        )
    host = getattr(settings, "host", "?")
    return f"no credentials are needed on {host} (loopback): every caller is an admin"
