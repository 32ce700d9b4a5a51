"""Connection secrets encrypted at rest with Fernet (``PROVISYNC_SECRET_KEY``).

Each secret value is stored as ``enc:v1:<fernet token of its JSON>``, so the names of the
secrets that hold a value stay visible (``secretsSet``) without decrypting anything. Values
stored before encryption existed (no prefix) are read as they are and encrypted on the next
write.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger("provisync.security")
PREFIX = "enc:v1:"


class SecretsUnreadable(Exception):
    """Stored secrets cannot be decrypted with any configured key."""


class _Keyring:
    """Every key this process was configured with; the first of each setting encrypts.

    Decryption tries all of them, so apps with different keys in one process (tests) and key
    rotation (``new,old``) both work. Without a configured key a key for this process only is
    made, with a warning: secrets written then cannot be read after a restart.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[bytes, Fernet] = {}
        self._ephemeral: bytes | None = None

    def _add(self, key: bytes) -> Fernet:
        with self._lock:
            if key not in self._keys:
                self._keys[key] = Fernet(key)
            return self._keys[key]

    def encryptor(self, secret_key: str | None) -> Fernet:
        keys = parse_keys(secret_key)
        if not keys:
            with self._lock:
                if self._ephemeral is None:
                    log.warning(
                        "PROVISYNC_SECRET_KEY is not set: connection secrets are encrypted with "
                        "a key that lasts only as long as this process"
                    )
                    self._ephemeral = Fernet.generate_key()
                keys = [self._ephemeral]
        fernets = [self._add(key) for key in keys]
        return fernets[0]

    def decryptor(self) -> MultiFernet:
        with self._lock:
            fernets = list(self._keys.values())
        if not fernets:
            raise SecretsUnreadable("no secret key is configured")
        return MultiFernet(fernets)


KEYRING = _Keyring()


def parse_keys(secret_key: str | None) -> list[bytes]:
    """The keys of a ``PROVISYNC_SECRET_KEY`` value (comma-separated); invalid ones raise."""
    keys = [part.strip().encode() for part in (secret_key or "").split(",") if part.strip()]
    for key in keys:
        Fernet(key)  # raises ValueError on a malformed key, naming no key material
    return keys


def configure(settings: Any) -> None:
    """Register the keys of ``settings`` (call once per app; cheap to repeat)."""
    KEYRING.encryptor(getattr(settings, "secret_key", None))


def encrypt_secrets(values: Mapping[str, Any], settings: Any) -> dict[str, Any]:
    """Secrets as stored: each non-null value encrypted with the settings' key."""
    fernet = KEYRING.encryptor(getattr(settings, "secret_key", None))
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or (isinstance(value, str) and value.startswith(PREFIX)):
            out[name] = value
        else:
            out[name] = PREFIX + fernet.encrypt(json.dumps(value).encode()).decode()
    return out


def decrypt_secrets(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Plain secrets from their stored form.

    :raises SecretsUnreadable: no configured key opens them (the message names no secret).
    """
    out: dict[str, Any] = {}
    encrypted = {k: v for k, v in stored.items() if isinstance(v, str) and v.startswith(PREFIX)}
    if encrypted:
        if not KEYRING._keys:
            configure(_environment_settings())
        decryptor = KEYRING.decryptor()
    for name, value in stored.items():
        if name in encrypted:
            try:
                out[name] = json.loads(decryptor.decrypt(value[len(PREFIX) :].encode()))
            except InvalidToken:
                raise SecretsUnreadable(
                    f"secret {name!r} cannot be decrypted with PROVISYNC_SECRET_KEY"
                ) from None
        else:
            out[name] = value
    return out


def _environment_settings() -> Any:
    from provisync.settings import get_settings

    return get_settings()


def load_or_create_key_file(path: Path) -> str:
    """A Fernet key kept in ``path`` (made, readable by the owner only, when missing).

    For the demo: its SQLite file outlives the process, so its key must too.
    """
    if path.exists():
        return path.read_text().strip()
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
