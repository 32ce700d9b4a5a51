"""The ``provisync`` command line.

``rules``, ``status`` and ``resync`` talk to a running server's GraphQL API over HTTP (like any
client), for people without a browser. Their exit codes: 0 done (the run succeeded), 1 the run
failed or was refused, 2 usage error or no such rule, 3 the server cannot be reached or
answered with an error.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from gql.cli_format import RULES_HEADER, outcomes_line, rule_rows, table
from gql.security.tokens import add_token_commands
from gql.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_API = 0, 1, 2, 3
log = logging.getLogger("provisync")


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
    overrides: dict[str, Any] = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    for name in ("host", "port"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gql.app import create_app
    from gql.security.config import auth_default_for_host, auth_notice

    settings = _settings(args)
    if auth_default_for_host(settings.host):
        settings = settings.model_copy(update={"auth_required": True})
    if not settings.secret_key:
        raise CliError(
            "PROVISYNC_SECRET_KEY is not set: it encrypts connection secrets at rest. "
            "Make one with 'provisync secret-key' and keep it safe.",
            EXIT_USAGE,
        )
    log.info("%s", auth_notice(settings))
    # log_config=None: uvicorn's lines go through provisync's handler (text or JSON alike).
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,
    )
    return 0


def cmd_secret_key(_args: argparse.Namespace) -> int:
    """Print a new key for PROVISYNC_SECRET_KEY."""
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from gql.demo.app import DemoDatabaseNotEmpty, run_demo

    try:
        return run_demo(
            host=args.host, port=args.port, database_url=args.database_url, keep=args.keep
        )
    except DemoDatabaseNotEmpty as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc


DEMO_HELP = """Run the whole product on this machine with demo data: 300 directory users, an
inbound Workday rule (the simulator), an outbound SCIM 2.0 rule (a real SCIM server) and a
disabled rule, all served by this one process.

The demo never touches your data: it ignores PROVISYNC_DATABASE_URL and creates a SQLite
database in a new temporary folder, which it removes when it stops (unless --keep).
With --database-url it uses that database instead, and only if it is empty (no tables):
it refuses any other, with exit code 2."""


def _demo_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="an EMPTY database to seed (refused when it has tables); default: a SQLite "
        "file in a new temporary folder. PROVISYNC_DATABASE_URL is ignored.",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary folder (database and key) when the demo stops",
    )


def cmd_export_schema(args: argparse.Namespace) -> int:
    from gql.schema import schema

    text = schema.as_str() + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from gql.store.db import is_sqlite, upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    print(f"database migrated to the latest revision: {_redact(settings.database_url)}")
    if not is_sqlite(settings.database_url):
        import asyncio

        from gql.queue.jobs import JobQueue

        created = asyncio.run(JobQueue(settings.database_url).install_schema())
        print("job queue tables " + ("created" if created else "present"))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio

    from gql.queue.worker import run_worker
    from gql.store.db import is_sqlite

    settings = _settings(args).model_copy(update={"execution": "queue"})
    if is_sqlite(settings.database_url):
        raise CliError(
            "provisync worker needs PostgreSQL: set PROVISYNC_DATABASE_URL="
            "postgresql+psycopg://... and run 'provisync db upgrade' first",
            EXIT_USAGE,
        )
    asyncio.run(run_worker(settings, args.concurrency))
    return EXIT_OK


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# talking to a running server ------------------------------------------------------------

RULE_FIELDS = """id name enabled status direction lastSync lastRunError
  source { name kind } target { name kind }
  summary { lastSync
    users { impacted success unsynced partialSynced failed writeBackFailures }
    groups { impacted success unsynced partialSynced failed writeBackFailures } }"""
RUN_FIELDS = "id status kind label error progress { processed total } outcomes { outcome count }"


class CliError(Exception):
    """Ends a command with a message on stderr and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class ApiClient:
    """GraphQL over HTTP to a running provisync, with an optional bearer token."""

    def __init__(self, url: str, token: str | None) -> None:
        import httpx2

        self.token = token
        logging.getLogger("httpx2").setLevel(logging.WARNING)  # no line per request
        self.url = url.rstrip("/")
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx2.Client(base_url=self.url, headers=headers, timeout=30)
        self.errors: tuple[type[Exception], ...] = (httpx2.HTTPError,)

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.http.post("/graphql", json={"query": query, "variables": variables})
        except self.errors as exc:
            raise CliError(f"cannot reach provisync at {self.url}: {exc}", EXIT_API) from exc
        if response.status_code == 401 and self.token:
            raise CliError(
                f"{self.url} refused the token (HTTP 401): it is unknown, revoked or expired; "
                "check --token or PROVISYNC_TOKEN",
                EXIT_API,
            )
        if response.status_code == 401:
            raise CliError(
                f"{self.url} needs an API token (HTTP 401): pass --token or set PROVISYNC_TOKEN",
                EXIT_API,
            )
        if response.status_code == 403:
            raise CliError(
                f"{self.url} refused the request (HTTP 403): "
                f"{_api_message(response) or 'the token may not do this'}",
                EXIT_API,
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise CliError(f"{self.url} answered HTTP {response.status_code}", EXIT_API) from exc
        if body.get("errors"):
            raise CliError(f"the API answered: {body['errors'][0].get('message')}", EXIT_API)
        if response.status_code >= 400 or not isinstance(body.get("data"), dict):
            raise CliError(f"{self.url} answered HTTP {response.status_code}", EXIT_API)
        return body["data"]  # type: ignore[no-any-return]


def _api_message(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    return str(errors[0].get("message")) if errors else None


def _rule_pk_from_global_id(text: str) -> bool:
    try:
        decoded = base64.b64decode(text, validate=True).decode()
    except ValueError:
        return False
    kind, _, pk = decoded.partition(":")
    return kind == "Rule" and pk.isdigit()


def _all_rules(api: ApiClient, fields: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    after = None
    while True:
        page = api(
            "query($after: String) { rules(first: 100, after: $after) {"
            " pageInfo { hasNextPage endCursor } edges { node { " + fields + " } } } }",
            {"after": after},
        )["rules"]
        rules += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return rules
        after = page["pageInfo"]["endCursor"]


def find_rule(api: ApiClient, wanted: str) -> dict[str, Any]:
    """The rule named by a global id or by its name: exact, then without regard to case, then
    a unique prefix (case-insensitive too)."""
    if _rule_pk_from_global_id(wanted):
        rule = api("query($id: ID!) { rule(id: $id) { " + RULE_FIELDS + " } }", {"id": wanted})
        if rule["rule"] is None:
            raise CliError(f"no rule with id {wanted}", EXIT_USAGE)
        return rule["rule"]  # type: ignore[no-any-return]
    rules = _all_rules(api, RULE_FIELDS)
    folded = wanted.casefold()
    matches = (
        [r for r in rules if r["name"] == wanted]
        or [r for r in rules if r["name"].casefold() == folded]
        or [r for r in rules if r["name"].casefold().startswith(folded)]
    )
    if not matches:
        raise CliError(f"no rule named {wanted!r} (provisync rules lists them)", EXIT_USAGE)
    if len(matches) > 1:
        named = ", ".join(f"{r['name']!r} ({r['id']})" for r in matches)
        raise CliError(f"{len(matches)} rules match {wanted!r}: {named}; name one more fully", 2)
    return matches[0]


def cmd_rules(args: argparse.Namespace) -> int:
    rules = _all_rules(ApiClient(args.url, args.token or None), RULE_FIELDS)
    if args.json:
        print(json.dumps(rules, indent=2))
        return EXIT_OK
    if not rules:
        print("no rules")
        return EXIT_OK
    rows = [row for rule in rules for row in rule_rows(rule)]
    print(table([RULES_HEADER, *rows]))
    return EXIT_OK


def _counts_line(counts: dict[str, Any]) -> str:
    line = (
        f"impacted {counts['impacted']}  success {counts['success']}  "
        f"unsynced {counts['unsynced']}  partial {counts['partialSynced']}  "
        f"failed {counts['failed']}"
    )
    if counts["writeBackFailures"] is not None:
        line += f"  write-back failures {counts['writeBackFailures']}"
    return line


def cmd_status(args: argparse.Namespace) -> int:
    api = ApiClient(args.url, args.token or None)
    rule = find_rule(api, args.rule)
    if args.json:
        print(json.dumps(rule, indent=2))
        return EXIT_OK
    print(f"{rule['name']}  ({rule['id']})")
    facts = [
        ("Sync Status", rule["status"]),
        ("Last Sync", rule["lastSync"] or "never"),
        ("Sync Direction", rule["direction"]),
        ("Source", rule["source"]["name"]),
        ("Target", rule["target"]["name"]),
    ]
    if rule["lastRunError"]:
        facts.append(("Last run error", rule["lastRunError"]))
    summary = rule["summary"]
    if summary is None:
        facts.append(("Summary", "hidden: the rule is disabled"))
    else:
        facts += [("Users", _counts_line(summary["users"]))]
        facts += [("Groups", _counts_line(summary["groups"]))]
    for label, value in facts:
        print(f"  {label + ':':<16}{value}")
    return EXIT_OK


def _progress_line(run: dict[str, Any], width: int = 30) -> str:
    processed, total = run["progress"]["processed"], run["progress"]["total"]
    if total:
        filled = min(width, width * processed // total)
        return f"[{'#' * filled}{'.' * (width - filled)}] {processed}/{total} {run['status']}"
    return f"[{'.' * width}] {processed} {run['status']}"


def _wait_run(api: ApiClient, run: dict[str, Any], interval: float) -> dict[str, Any]:
    """Poll the run until it ends, drawing a progress bar on stderr."""
    tty = sys.stderr.isatty()
    shown = ""
    while True:
        line = _progress_line(run)
        if line != shown:
            sys.stderr.write(("\r" + line) if tty else line + "\n")
            sys.stderr.flush()
            shown = line
        if run["status"] in ("SUCCEEDED", "FAILED"):
            if tty:
                sys.stderr.write("\n")
            return run
        time.sleep(interval)
        node = api(
            "query($id: ID!) { node(id: $id) { ... on SyncRun { " + RUN_FIELDS + " } } }",
            {"id": run["id"]},
        )["node"]
        if node is None:
            raise CliError(f"run {run['id']} disappeared (was its rule deleted?)", EXIT_FAILED)
        run = node


def cmd_resync(args: argparse.Namespace) -> int:
    api = ApiClient(args.url, args.token or None)
    rule = find_rule(api, args.rule)
    result = api(
        "mutation($id: ID!) { fullResync(ruleId: $id) { __typename"
        " ... on SyncRun { " + RUN_FIELDS + " } ... on Error { code message } } }",
        {"id": rule["id"]},
    )["fullResync"]
    if result["__typename"] != "SyncRun":
        code = EXIT_USAGE if result.get("code") == "NOT_FOUND" else EXIT_FAILED
        raise CliError(f"full resync refused ({result.get('code')}): {result.get('message')}", code)
    print(f"full resync of {rule['name']!r}: run {result['id']} {result['status']}")
    if not args.wait:
        return EXIT_OK
    run = _wait_run(api, result, args.interval)
    if run["status"] == "FAILED":
        print(f"run {run['id']} FAILED: {run['error']}")
        print(f"outcomes: {outcomes_line(run)}")
        return EXIT_FAILED
    print(f"run {run['id']} SUCCEEDED: {run['progress']['processed']} processed")
    print(f"outcomes: {outcomes_line(run)}")
    return EXIT_OK


def _client_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("PROVISYNC_URL", "http://127.0.0.1:8000"),
        help="the provisync server (default: $PROVISYNC_URL, else http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("PROVISYNC_TOKEN"),
        help="API token, sent as a bearer token (default: $PROVISYNC_TOKEN)",
    )


def _add_client_commands(sub: Any) -> None:
    rules = sub.add_parser("rules", help="list the rules of a running server (a table)")
    _client_args(rules)
    rules.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rules.set_defaults(func=cmd_rules)
    status = sub.add_parser("status", help="show one rule's sync status and summary")
    status.add_argument("rule", metavar="RULE", help="the rule's name or global id")
    _client_args(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)
    resync = sub.add_parser(
        "resync",
        help="start a full resync of a rule",
        description="Start a full resync. Exit codes: 0 started (with --wait: succeeded), "
        "1 failed or refused, 2 no such rule, 3 server unreachable or API error.",
    )
    resync.add_argument("rule", metavar="RULE", help="the rule's name or global id")
    _client_args(resync)
    resync.add_argument("--wait", action="store_true", help="follow the run until it ends")
    resync.add_argument(
        "--interval", type=float, default=0.5, help="seconds between progress checks"
    )
    resync.set_defaults(func=cmd_resync)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="provisync",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="run the whole product on this machine with demo data (never your database)",
        description=DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _demo_args(demo)
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
    worker = sub.add_parser(
        "worker",
        help="execute queued sync runs (scale-out mode, PostgreSQL)",
        description="Take sync jobs from the PostgreSQL job queue until SIGINT or SIGTERM. "
        "API replicas queue runs when PROVISYNC_EXECUTION=queue.",
    )
    _database_arg(worker)
    worker.add_argument(
        "--concurrency", type=int, default=4, help="runs of different rules at once (default 4)"
    )
    worker.set_defaults(func=cmd_worker)
    key = sub.add_parser("secret-key", help="print a new key for PROVISYNC_SECRET_KEY")
    key.set_defaults(func=cmd_secret_key)
    add_token_commands(sub, _database_arg, _settings)
    _add_client_commands(sub)
    from gql.audit_cli import add_audit_commands

    # This module itself, not an import of it: under ``python -m gql.cli`` the two differ,
    # and main() catches only its own CliError.
    add_audit_commands(sub, _client_args, sys.modules[__name__])
    return parser


def main(argv: list[str] | None = None) -> int:
    from gql.observability.logs import configure_logging

    try:
        settings = Settings()
        log_format, level = settings.log_format, settings.log_level.upper()
    except Exception:  # a bad setting is reported by the command that needs it
        log_format, level = "text", "INFO"
    configure_logging(log_format, level)
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except CliError as exc:
        print(f"provisync {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `provisync rules --json | head`: the reader left; stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
