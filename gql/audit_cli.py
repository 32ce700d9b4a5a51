"""``provisync audit export``: download ``GET /audit/export`` from a running server.

It streams to a file (or stdout) as the server streams, and draws a progress bar on stderr
from the row count the server announces. Exit codes as the other client commands: 0 done,
2 usage error or no such rule, 3 the server cannot be reached or refused.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import IO, Any

ROWS_HEADER = "x-provisync-export-rows"


class Progress:
    """``[#####.....] 12,000/100,000 rows  3.1 MB  9,500 rows/s`` on stderr, now and then."""

    def __init__(self, total: int | None, stream: IO[str], width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.rows = self.size = 0
        self.started = self.shown = time.monotonic()
        self.tty = stream.isatty()

    def advance(self, rows: int, size: int) -> None:
        self.rows, self.size = self.rows + rows, self.size + size
        now = time.monotonic()
        if now - self.shown >= (0.2 if self.tty else 2.0):
            self.shown = now
            self._draw(end=False)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        tail = f"{self.size / 1e6:.1f} MB  {self.rows / elapsed:,.0f} rows/s"
        if self.total:
            filled = min(self.width, self.width * self.rows // self.total)
            bar = "#" * filled + "." * (self.width - filled)
            return f"[{bar}] {self.rows:,}/{self.total:,} rows  {tail}"
        return f"{self.rows:,} rows  {tail}"

    def _draw(self, *, end: bool) -> None:
        if self.tty:
            self.stream.write("\r" + self.line() + ("\n" if end else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def finish(self) -> None:
        self._draw(end=True)


def cmd_audit_export(args: argparse.Namespace) -> int:
    import httpx2

    cli = args.cli
    EXIT_API, EXIT_OK, EXIT_USAGE = cli.EXIT_API, cli.EXIT_OK, cli.EXIT_USAGE
    ApiClient, CliError, find_rule = cli.ApiClient, cli.CliError, cli.find_rule
    params: dict[str, str] = {"format": args.format}
    api = ApiClient(args.url, args.token or None)
    if args.rule:
        params["rule"] = find_rule(api, args.rule)["id"]
    for name in ("since", "until"):
        if getattr(args, name):
            params[name] = getattr(args, name)
    if args.include_states:
        params["include"] = "states"
    out: IO[bytes] = sys.stdout.buffer if args.output in (None, "-") else open(args.output, "wb")
    try:
        with api.http.stream("GET", "/audit/export", params=params, timeout=None) as response:
            if response.status_code != 200:
                response.read()
                try:
                    message = response.json()["error"]["message"]
                except (ValueError, KeyError, TypeError):
                    message = f"HTTP {response.status_code}"
                code = EXIT_USAGE if response.status_code in (400, 404) else EXIT_API
                raise CliError(f"the export was refused: {message}", code)
            total = response.headers.get(ROWS_HEADER, "")
            progress = Progress(int(total) if total.isdigit() else None, sys.stderr)
            skip_header = args.format == "csv"
            for chunk in response.iter_bytes():
                out.write(chunk)
                rows = chunk.count(b"\n")
                if skip_header and rows:
                    rows, skip_header = rows - 1, False
                progress.advance(rows, len(chunk))
            progress.finish()
    except httpx2.HTTPError as exc:
        raise CliError(f"cannot reach provisync at {api.url}: {exc}", EXIT_API) from exc
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    return EXIT_OK


def add_audit_commands(
    sub: Any, client_args: Callable[[argparse.ArgumentParser], None], cli: ModuleType
) -> None:
    """``provisync audit export``; ``cli`` is the running :mod:`gql.cli` (its client, errors)."""
    audit = sub.add_parser("audit", help="the audit log of a running server")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_sub.add_parser(
        "export",
        help="download audit events (and entity states) as CSV or JSONL",
        description="Stream GET /audit/export to a file, with a progress bar on stderr. "
        "Exit codes: 0 done, 2 bad parameters or no such rule, 3 server unreachable or refused.",
    )
    export.add_argument("--rule", help="only this rule (its name or global id)")
    export.add_argument("--since", help="from this ISO 8601 date or time (inclusive, UTC)")
    export.add_argument("--until", help="up to this ISO 8601 date or time (exclusive, UTC)")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument(
        "--include-states", action="store_true", help="also the entity states, after the events"
    )
    export.add_argument("--output", "-o", help="write to this file (default: stdout)")
    client_args(export)
    export.set_defaults(func=cmd_audit_export, cli=cli)
