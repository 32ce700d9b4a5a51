"""Structured logs: JSON lines when ``PROVISYNC_LOG_FORMAT=json``, and run context on records.

A sync run executes in its own asyncio task; :func:`bind_run` puts the rule and run ids in a
context variable of that task, and :class:`RunContextFilter` copies them onto every record
logged while it runs (the engine's lines and the plugin's alike). Ids passed with ``extra=``
win over the context.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from connectors.redaction import MIN_SECRET, scrub, secret_forms, secret_windows

_RUN: ContextVar[tuple[int | None, int | None]] = ContextVar("provisync_run", default=(None, None))
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def bind_run(rule_id: int | None, run_id: int | None) -> None:
    """Mark the current task as working on a run (call it at the start of the run's task)."""
    _RUN.set((rule_id, run_id))


def current_run() -> tuple[int | None, int | None]:
    """The (rule id, run id) of the run the current task works on, or (None, None)."""
    return _RUN.get()


class RunContextFilter(logging.Filter):
    """Adds ``rule_id`` and ``run_id`` to records logged while a run is in progress."""

    def filter(self, record: logging.LogRecord) -> bool:
        rule_id, run_id = _RUN.get()
        if getattr(record, "rule_id", None) is None and rule_id is not None:
            record.rule_id = rule_id
        if getattr(record, "run_id", None) is None and run_id is not None:
            record.run_id = run_id
        return True


_KNOWN_SECRETS: OrderedDict[str, None] = OrderedDict()
_KNOWN_WINDOWS: OrderedDict[str, None] = OrderedDict()
_KNOWN_LOCK = threading.Lock()
MAX_KNOWN_SECRETS = 2000
_QUERY_CREDENTIAL = re.compile(
    r"(?i)([?&][^=&\s]*(?:token|auth|key|secret|password|passwd|credential|session|jwt)"
    r"[^=&\s]*=)[^&\s]*"
)


def remember_secrets(values: Iterable[str]) -> None:
    """Secrets no log line may show, in any form (the engine adds each connection's)."""
    with _KNOWN_LOCK:
        for value in values:
            if len(value) < MIN_SECRET:
                continue
            pairs = ((_KNOWN_SECRETS, secret_forms(value)), (_KNOWN_WINDOWS, secret_windows(value)))
            for known, parts in pairs:
                for part in parts:
                    known[part] = None
                    known.move_to_end(part)
        for known in (_KNOWN_SECRETS, _KNOWN_WINDOWS):
            while len(known) > MAX_KNOWN_SECRETS:
                known.popitem(last=False)


def scrub_log_text(text: str) -> str:
    """A log line without known secrets, credentials after auth schemes, or credentials in
    query strings (``?access_token=...``); never cut."""
    with _KNOWN_LOCK:
        forms = sorted(_KNOWN_SECRETS, key=len, reverse=True)
        windows = set(_KNOWN_WINDOWS)
    text = _QUERY_CREDENTIAL.sub(lambda m: m.group(1) + "[redacted]", text)
    return scrub(text, forms, limit=1 << 30, windows=windows, tails=False)


class SecretRedactingFilter(logging.Filter):
    """Scrubs every record's message and traceback before any formatter sees it (text and
    JSON alike). The access log's request line is a record too, so a token sent in a query
    string is not written."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = scrub_log_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub_log_text(logging.Formatter().formatException(record.exc_info))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                plain = isinstance(value, (str, int, float, bool, type(None)))
                entry[key] = value if plain else str(value)
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic line, with ``rule=... run=...`` appended on run lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rule_id, run_id = getattr(record, "rule_id", None), getattr(record, "run_id", None)
        if rule_id is not None or run_id is not None:
            line += f" [rule={rule_id} run={run_id}]"
        return line


# HTTP clients log one INFO line per request: hundreds per resync. They are DEBUG detail here.
HTTP_CLIENT_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2")
# Alembic's "Context impl SQLiteImpl." and "Will assume transactional DDL." say nothing useful.
QUIET_LOGGERS = ("alembic",)


class DemoteToDebug(logging.Filter):
    """Re-level a logger's records as DEBUG, and drop them unless DEBUG is on for the logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True  # warnings and errors keep their level
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def make_handler(log_format: str = "text", stream: Any = None) -> logging.Handler:
    """The handler provisync logs through: text or JSON lines, run context, secrets scrubbed."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RunContextFilter())
    handler.addFilter(SecretRedactingFilter())
    return handler


def configure_logging(log_format: str = "text", level: int | str = logging.INFO) -> None:
    """Send the root logger's records to stderr as text or JSON lines, with run context.

    Outgoing HTTP requests (httpx, httpx2) are logged at DEBUG, and Alembic's INFO lines not at
    all unless the level is DEBUG.
    """
    handler = make_handler(log_format)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    demote = DemoteToDebug()
    for name in HTTP_CLIENT_LOGGERS:
        client = logging.getLogger(name)
        if not any(isinstance(f, DemoteToDebug) for f in client.filters):
            client.addFilter(demote)
    for name in QUIET_LOGGERS:
        quiet = logging.getLogger(name)
        quiet.setLevel(logging.DEBUG if root.isEnabledFor(logging.DEBUG) else logging.WARNING)


__all__ = [
    "DemoteToDebug",
    "JsonFormatter",
    "RunContextFilter",
    "SecretRedactingFilter",
    "TextFormatter",
    "bind_run",
    "configure_logging",
    "current_run",
    "make_handler",
    "remember_secrets",
    "scrub_log_text",
]
