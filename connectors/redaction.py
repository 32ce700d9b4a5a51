"""One scrubber for every text that comes from a target: no credential leaves in it.

A target may echo what it received (an ``Authorization`` header, basic credentials, a token)
in an error ``detail``; that text becomes an entity's reason, a run's error, a log line or a
kit assertion. :class:`Scrubber` removes a connection's secrets in every encoding we know of
(raw, base64, ``user:password``, URL-encoded, JSON-escaped), any ``Authorization`` value and
whatever follows ``Bearer``/``Basic``, and cuts the text to a sane length.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from pydantic import SecretStr

REDACTED = "[redacted]"
MAX_TEXT = 1000
"""Longest text kept from a target (a reason, an error); longer text is cut."""
MIN_SECRET = 4
"""Shorter values are not treated as secrets (they would blank out ordinary words)."""

_SCHEME_VALUE = re.compile(
    r"(?i)\b(Bearer|Basic|Digest|Negotiate|Token)(\s+|%20|\+)(?!\[redacted\])[^\s\"',;)}\]<>]+"
)
_HEADER_VALUE = re.compile(
    r"(?i)\b(authorization|proxy-authorization|x-api-key|api[-_]?key|access_token|"
    r"client_secret|password|refresh_token|id_token)(\"?\s*[:=]\s*\"?)(?!\[redacted\])"
    r"[^\s\"',;&)}\]<>]+"
)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{12,}={0,2}")
WINDOW = 8
"""A run of base64 that decodes to this many characters of a secret is redacted (a target
that cuts its echo mid-credential leaves a base64 prefix no exact match finds)."""
MIN_TAIL = 6
"""Text that ends with this much of a secret's form was cut mid-secret: the tail goes."""
_API_TOKEN = re.compile(r"\bpsy_[A-Za-z0-9_\-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*")


def secret_windows(value: str) -> set[str]:
    """The pieces of ``value`` that, found decoded in a base64 run, mean the run holds it."""
    return {value[i : i + WINDOW] for i in range(max(1, len(value) - WINDOW + 1))}


def secret_forms(value: str) -> set[str]:
    """The ways ``value`` can be written in a text: raw, base64 (both alphabets, with and
    without padding), URL-encoded and JSON-escaped."""
    forms = {value}
    raw = value.encode()
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode()
        forms.update({text, text.rstrip("=")})
    forms.update({quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]})
    return {form for form in forms if len(form) >= MIN_SECRET}


class Scrubber:
    """Scrubs texts of a set of secrets (and of credentials anyone could recognise)."""

    def __init__(self, secrets: Iterable[str] = (), users: Iterable[str] = ()) -> None:
        plain = [s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET]
        pairs = [f"{user}:{secret}" for user in users if user for secret in plain]
        forms: set[str] = set()
        for value in [*plain, *pairs]:
            forms |= secret_forms(value)
        # Longest first, so a pair is removed whole before its parts.
        self.forms = sorted(forms, key=len, reverse=True)
        self.windows = {window for value in plain for window in secret_windows(value)}

    @classmethod
    def of_settings(cls, values: dict[str, object] | object) -> Scrubber:
        """A scrubber for a connection: its secret fields are the secrets and every short
        plain string (a user name, a client id) may pair with them as ``user:secret``."""
        items = values.items() if isinstance(values, dict) else vars(values).items()
        secrets: list[str] = []
        users: list[str] = []
        for _name, value in items:
            if isinstance(value, SecretStr):
                secrets.append(value.get_secret_value())
            elif isinstance(value, str) and 0 < len(value) <= 256:
                users.append(value)
        return cls(secrets, users)

    def __call__(self, text: str | None, limit: int = MAX_TEXT) -> str | None:
        return None if text is None else scrub(text, self.forms, limit, self.windows)


def _decodes_to_secret(run: str, windows: set[str]) -> bool:
    cut = run.rstrip("=")
    cut = cut[: len(cut) - len(cut) % 4]
    try:
        decoded = base64.b64decode(cut.replace("-", "+").replace("_", "/"), validate=False)
    except ValueError:
        return False
    text = decoded.decode("latin-1")
    return any(window in text for window in windows)


def scrub(
    text: str,
    forms: Iterable[str] = (),
    limit: int = MAX_TEXT,
    windows: set[str] | None = None,
    tails: bool = True,
) -> str:
    """``text`` without the given secret forms (whole, cut off at the end, or as base64 that
    decodes to part of a secret), credentials after an auth scheme or an
    ``Authorization``-like key, API tokens and JWTs; cut to ``limit`` characters."""
    if not isinstance(text, str):
        text = str(text)
    forms = list(forms)
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    for form in forms if tails else ():
        for size in range(min(len(form) - 1, len(text)), MIN_TAIL - 1, -1):
            if text.endswith(form[:size]):
                text = text[:-size] + REDACTED
                break
    if windows:
        text = _BASE64_RUN.sub(
            lambda m: REDACTED if _decodes_to_secret(m.group(0), windows) else m.group(0), text
        )
    text = _SCHEME_VALUE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _HEADER_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _API_TOKEN.sub(REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    if len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


__all__ = ["MAX_TEXT", "REDACTED", "Scrubber", "scrub", "secret_forms", "secret_windows"]
