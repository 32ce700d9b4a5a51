"""The ``provisync`` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from gql.settings import Settings


def _server_args(parser: argparse.ArgumentParser, port: int = 8000) -> None:
    parser.add_argument("--host", default=os.environ.get("PROVISYNC_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PROVISYNC_PORT", port)))
    _database_arg(parser)


def _database_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PROVISYNC_DATABASE_URL"),
        help="SQLAlchemy URL (default: $PROVISYNC_DATABASE_URL, else the SQLite file provisync.db)",
    )


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    for name in ("host", "port"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gql.app import create_app

    settings = _settings(args)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from gql.demo.app import run_demo

    return run_demo(host=args.host, port=args.port, database_url=args.database_url)


def cmd_export_schema(args: argparse.Namespace) -> int:
    from gql.schema import schema

    text = schema.as_str() + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from gql.store.db import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    print(f"database migrated to the latest revision: {_redact(settings.database_url)}")
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="provisync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the whole product on this machine with demo data")
    _server_args(demo)
    demo.set_defaults(func=cmd_demo)
    serve = sub.add_parser("serve", help="run the GraphQL API and the in-process sync engine")
    _server_args(serve)
    serve.set_defaults(func=cmd_serve)
    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(func=cmd_export_schema)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="migrate the database to the latest revision")
    _database_arg(upgrade)
    upgrade.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
