"""OIDC bearer JWTs checked against the issuer's JWKS: signature, issuer, audience, expiry."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import jwt

from gql.security.roles import Principal, Role

log = logging.getLogger("provisync.security")
LEEWAY_SECONDS = 30


class OidcVerifier:
    """Verifies JWTs; the issuer's keys are fetched once and cached (refetched on a new kid)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str | None,
        jwks_url: str | None,
        role_claim: str,
        algorithms: list[str],
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.role_claim = role_claim
        self.algorithms = algorithms
        url = jwks_url or issuer.rstrip("/") + "/.well-known/jwks.json"
        self.jwks = jwt.PyJWKClient(
            url, cache_keys=True, cache_jwk_set=True, lifespan=300, timeout=int(timeout)
        )

    @classmethod
    def from_settings(cls, settings: Any) -> OidcVerifier | None:
        issuer = getattr(settings, "oidc_issuer", None)
        if not issuer:
            return None
        return cls(
            issuer=issuer,
            audience=getattr(settings, "oidc_audience", None),
            jwks_url=getattr(settings, "oidc_jwks_url", None),
            role_claim=getattr(settings, "oidc_role_claim", "provisync_role"),
            algorithms=list(getattr(settings, "oidc_algorithms", ["RS256"])),
            timeout=float(getattr(settings, "request_timeout", 10.0)),
        )

    def verify_sync(self, token: str) -> Principal | None:
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "iss", "sub"] + (["aud"] if self.audience else []),
                    "verify_aud": self.audience is not None,
                },
            )
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            # The reason, never the token.
            log.info("JWT refused: %s", type(exc).__name__)
            return None
        role = Role.parse(_claim(claims, self.role_claim))
        if role is None:
            log.info("JWT refused: no provisync role in claim %r", self.role_claim)
            return None
        name = claims.get("preferred_username") or claims.get("email") or claims["sub"]
        expires = claims.get("exp")
        return Principal(
            f"oidc:{name}", role, float(expires) if isinstance(expires, (int, float)) else None
        )

    async def verify(self, token: str) -> Principal | None:
        # PyJWKClient fetches with urllib (blocking); keep it off the event loop.
        return await asyncio.to_thread(self.verify_sync, token)


def _claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by dotted path (``realm_access.roles``); lists give their first known role."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, list):
        known = [item for item in value if Role.parse(item) is not None]
        return max(known, key=lambda item: Role.parse(item) or 0) if known else None
    return value
