"""Structured logs: JSON lines when ``PROVISYNC_LOG_FORMAT=json``, and run context on records.

A sync run executes in its own asyncio task; :func:`bind_run` puts the rule and run ids in a
context variable of that task, and :class:`RunContextFilter` copies them onto every record
logged while it runs (the engine's lines and the plugin's alike). Ids passed with ``extra=``
win over the context.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

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
        if record.exc_info:
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


def configure_logging(log_format: str = "text", level: int | str = logging.INFO) -> None:
    """Send the root logger's records to stderr as text or JSON lines, with run context.

    Outgoing HTTP requests (httpx, httpx2) are logged at DEBUG, and Alembic's INFO lines not at
    all unless the level is DEBUG.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RunContextFilter())
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
    "TextFormatter",
    "bind_run",
    "configure_logging",
    "current_run",
]
