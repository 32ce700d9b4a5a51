"""API tokens: made once, stored only as SHA-256 hashes, sent as ``Authorization: Bearer``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from provisync.engine.recorder import admin_event
from provisync.security.roles import Principal, Role
from provisync.store.db import Database, upgrade_async
from provisync.store.models import ApiToken, utcnow

TOKEN_PREFIX = "psy_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, not on every request."""


class TokenError(Exception):
    """A token cannot be created or revoked (bad role, name taken, no such token)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_token(db: Database, *, name: str, role: str, actor: str) -> str:
    """Store a new token's hash and audit it. :return: the token (shown once, never stored)."""
    parsed = Role.parse(role)
    if parsed is None:
        raise TokenError(f"unknown role {role!r}: use viewer, operator or admin")
    name = name.strip()
    if not name:
        raise TokenError("a token needs a name")
    token = new_token()
    async with db.session() as session:
        taken = await session.scalar(
            select(ApiToken).where(ApiToken.name == name, col(ApiToken.revoked_at).is_(None))
        )
        if taken is not None:
            raise TokenError(f"an active token named {name!r} exists; revoke it first")
        session.add(ApiToken(name=name, role=parsed.name.lower(), hash=hash_token(token)))
        session.add(
            admin_event(
                operation="CREATE_TOKEN",
                message=f"API token {name!r} created with role {parsed.name.lower()}",
                actor=actor,
            )
        )
        await session.commit()
    return token


async def revoke_token(db: Database, *, name: str, actor: str) -> int:
    """Revoke the active tokens named ``name``. :return: how many were revoked."""
    async with db.session() as session:
        rows = list(
            await session.scalars(
                select(ApiToken).where(ApiToken.name == name, col(ApiToken.revoked_at).is_(None))
            )
        )
        if not rows:
            raise TokenError(f"no active token named {name!r}")
        now = utcnow()
        for row in rows:
            row.revoked_at = now
        session.add(
            admin_event(
                operation="REVOKE_TOKEN", message=f"API token {name!r} revoked", actor=actor
            )
        )
        await session.commit()
    return len(rows)


async def principal_for_token(db: Database, token: str) -> Principal | None:
    """The principal of an active token, or None."""
    digest = hash_token(token)
    async with db.session() as session:
        row = await session.scalar(
            select(ApiToken).where(ApiToken.hash == digest, col(ApiToken.revoked_at).is_(None))
        )
        if row is None:
            return None
        role = Role.parse(row.role)
        now = utcnow()
        last = row.last_used_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=now.tzinfo)
        if last is None or now - last > LAST_USED_RESOLUTION:
            row.last_used_at = now
            await session.commit()
    return Principal(f"token:{row.name}", role) if role is not None else None


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


async def _with_db(settings: Any, action: Any) -> Any:
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        return await action(db)
    finally:
        await db.dispose()


def cmd_token_create(args: argparse.Namespace, settings: Any) -> int:
    """``provisync token create``: the token is the last word of the last line printed."""
    try:
        token = asyncio.run(
            _with_db(
                settings,
                lambda db: create_token(db, name=args.name, role=args.role, actor=cli_actor()),
            )
        )
    except TokenError as exc:
        print(f"error: {exc}")
        return 1
    print(f"created API token {args.name!r} with role {args.role.lower()}.")
    print("It is shown only now; send it as 'Authorization: Bearer <token>'.")
    print(f"token: {token}")
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Any) -> int:
    """``provisync token revoke NAME``."""
    try:
        asyncio.run(
            _with_db(settings, lambda db: revoke_token(db, name=args.name, actor=cli_actor()))
        )
    except TokenError as exc:
        print(f"error: {exc}")
        return 1
    print(f"revoked API token {args.name!r}")
    return 0


def add_token_commands(sub: Any, database_arg: Any, settings_of: Any) -> argparse.ArgumentParser:
    """Add ``token create`` and ``token revoke`` to the CLI's subparsers."""
    token = sub.add_parser("token", help="create and revoke API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token and print it once")
    create.add_argument("--role", required=True, choices=["viewer", "operator", "admin"])
    create.add_argument("--name", required=True)
    database_arg(create)
    create.set_defaults(func=lambda args: cmd_token_create(args, settings_of(args)))
    revoke = token_sub.add_parser("revoke", help="revoke the active token with this name")
    revoke.add_argument("name")
    database_arg(revoke)
    revoke.set_defaults(func=lambda args: cmd_token_revoke(args, settings_of(args)))
    return token  # type: ignore[no-any-return]
