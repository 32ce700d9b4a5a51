"""Mapping expressions: Google's Common Expression Language (CEL) with mapping functions.

CEL is safe and not Turing-complete (no loops but bounded macros, no I/O). The runtime is
``common-expression-language`` (Rust, about 27 times the evaluations per second of the pure
Python ``cel-python`` on this work: see ``bench/cel_implementations.py``). An expression sees
a source user's canonical attributes as variables (``givenName``, ``email``, ``active``, ...)
and its extension attributes as the map ``ext``. docs/mappings.md documents every function.

Expressions are compiled and checked once (:func:`compile_expression`): syntax, and that
every variable and function it names exists. Errors say where (line:column) and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import cel
from anyascii import anyascii

from provisync_sdk import USER_ATTRIBUTES

EXTENSION_VARIABLE = "ext"
VARIABLES = frozenset((*USER_ATTRIBUTES, EXTENSION_VARIABLE))
MAX_LENGTH = 2000


class ExpressionError(ValueError):
    """An expression that does not compile, names what does not exist, or fails for a user."""


class _FunctionError(ValueError):
    """Raised by a mapping function; its message is shown as is."""


def _text(value: Any, function: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _FunctionError(f"{function}() expects a string, got {_type_name(value)}")
    return str(value)


_TYPE_NAMES = {bool: "bool", int: "int", float: "double", str: "string", list: "list"}


def _type_name(value: Any) -> str:
    return "map" if isinstance(value, dict) else _TYPE_NAMES.get(type(value), "value")


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def join(separator: str, items: Sequence[Any]) -> str | None:
    """``join(" ", [givenName, familyName])``: the non-blank items joined, null when none."""
    parts = [str(i) for i in items if not _blank(i)]
    return separator.join(parts) if parts else None


def coalesce(*items: Any) -> Any:
    """``coalesce(displayName, givenName, userName)``: the first value that is not blank.

    A single list argument is taken as the values (``coalesce([a, b])``)."""
    if len(items) == 1 and isinstance(items[0], list):
        items = tuple(items[0])
    return next((i for i in items if not _blank(i)), None)


def lower(value: Any) -> str | None:
    text = _text(value, "lower")
    return None if text is None else text.lower()


def upper(value: Any) -> str | None:
    text = _text(value, "upper")
    return None if text is None else text.upper()


def trim(value: Any) -> str | None:
    text = _text(value, "trim")
    return None if text is None else text.strip()


def replace(value: Any, old: str, new: str) -> str | None:
    text = _text(value, "replace")
    return None if text is None else text.replace(old, new)


def substring(value: Any, start: int, end: int | None = None) -> str | None:
    """``substring(employeeId, 0, 4)``: characters ``start`` (from 0) up to ``end``."""
    text = _text(value, "substring")
    if text is None:
        return None
    if start < 0 or (end is not None and end < start):
        raise _FunctionError("substring() needs 0 <= start <= end")
    return text[start:end]


def normalize(value: Any) -> str | None:
    """``normalize("Zoë Łukasz")`` is ``"Zoe Lukasz"``: diacritics removed (ASCII letters)."""
    text = _text(value, "normalize")
    return None if text is None else anyascii(text)


def split(value: Any, separator: str) -> list[str]:
    """``split(email, "@")``: the parts (an empty list for null)."""
    text = _text(value, "split")
    return [] if text is None else text.split(separator)


def _day(value: Any, function: str) -> date | None:
    text = _text(value, function)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.rstrip("Z")).date()
    except ValueError:
        raise _FunctionError(f"{function}() got {text!r}, not an ISO date") from None


def parse_date(value: Any, pattern: str) -> str | None:
    """``parseDate("04.03.2021", "%d.%m.%Y")`` is ``"2021-03-04"`` (an ISO date)."""
    text = _text(value, "parseDate")
    if text is None:
        return None
    try:
        return datetime.strptime(text, pattern).date().isoformat()
    except ValueError:
        raise _FunctionError(f"parseDate() could not read {text!r} as {pattern!r}") from None


def format_date(value: Any, pattern: str) -> str | None:
    """``formatDate(ext.hireDate, "%d/%m/%Y")``: an ISO date written with a strftime pattern."""
    day = _day(value, "formatDate")
    return None if day is None else day.strftime(pattern)


def days_between(start: Any, end: Any) -> int | None:
    """``daysBetween(ext.hireDate, "2026-01-01")``: whole days from ``start`` to ``end``."""
    first, last = _day(start, "daysBetween"), _day(end, "daysBetween")
    return None if first is None or last is None else (last - first).days


def lookup(table: Mapping[str, Any], key: Any, default: Any = None) -> Any:
    """``lookup({"Sales": "S01"}, department, "X99")``: the table's value for ``key``."""
    if key is None:
        return default
    return table.get(str(key), default) if isinstance(table, Mapping) else default


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "join": join,
    "coalesce": coalesce,
    "lower": lower,
    "upper": upper,
    "trim": trim,
    "replace": replace,
    "substring": substring,
    "normalize": normalize,
    "split": split,
    "parseDate": parse_date,
    "formatDate": format_date,
    "daysBetween": days_between,
    "lookup": lookup,
}
BUILTINS = frozenset(
    {
        "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double",
        "string", "bytes", "bool", "timestamp", "duration", "dyn", "type", "has",
    }
)  # fmt: skip
"""CEL's own functions (the Rust runtime implements them natively)."""
_MACRO_VARIABLE = re.compile(r"\.(?:map|filter|all|exists|exists_one)\(\s*([A-Za-z_]\w*)\s*,")
_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*)")
_PYTHON_FAILURE = re.compile(r"Python function '(\w+)' failed: \w+: (.*)$", re.S)


def _where(source: str, name: str) -> str:
    """``line:column`` of the first whole-word occurrence of ``name`` in ``source``."""
    found = re.search(rf"(?<![\w.]){re.escape(name)}\b", source)
    if found is None:
        return "1:1"
    before = source[: found.start()]
    return f"{before.count(chr(10)) + 1}:{found.start() - before.rfind(chr(10))}"


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled, checked expression."""

    source: str
    program: Any

    def evaluate(self, context: Any) -> Any:
        """The value for one user (``context`` from :func:`context_for`).

        :raises ExpressionError: the expression failed for this user (a type mismatch, a
            missing map key, a function given what it cannot take); says why.
        """
        try:
            return self.program.execute(context)
        except KeyError as exc:
            key = exc.args[0] if exc.args else "?"
            raise ExpressionError(
                f"no such key {key!r} (test with has(ext.{key}) or use lookup())"
            ) from None
        except (RuntimeError, TypeError, ValueError, OverflowError) as exc:
            raise ExpressionError(_reason(str(exc))) from None


def _reason(message: str) -> str:
    failed = _PYTHON_FAILURE.search(message)
    if failed:
        return failed.group(2).strip()
    return message.split(". Check that", 1)[0].split(". CEL does not", 1)[0].strip()


def compile_expression(source: str) -> Expression:
    """Compile and check one expression.

    :raises ExpressionError: a syntax error (with line:column), an unknown variable or
        function (with where it is), or an expression too long.
    """
    if not source.strip():
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError) as exc:
        found = _POSITION.search(str(exc))
        if found:
            line, column, why = found.groups()
            raise ExpressionError(f"at {line}:{column}: {why.strip()}") from None
        raise ExpressionError(str(exc)) from None
    bound = set(_MACRO_VARIABLE.findall(source))
    for name in program.variables():
        if name not in VARIABLES and name not in bound:
            raise ExpressionError(
                f"at {_where(source, name)}: unknown attribute {name!r}; known: "
                f"{', '.join(sorted(VARIABLES))} (extension attributes as ext.NAME)"
            )
    for name in program.functions():
        if name.startswith("_") or name in FUNCTIONS or name in BUILTINS or "@" in name:
            continue
        raise ExpressionError(
            f"at {_where(source, name)}: unknown function {name!r}; known: "
            f"{', '.join(sorted(FUNCTIONS))} and CEL's own"
        )
    return Expression(source=source, program=program)


def extension_names(source: str) -> frozenset[str]:
    """The extension attributes an expression names as ``ext.NAME``."""
    return frozenset(re.findall(r"(?<![\w.])ext\.([A-Za-z]\w*)", source))


def context_for(attributes: Mapping[str, Any], named: frozenset[str] = frozenset()) -> Any:
    """The evaluation context of one source user (canonical attributes and ``ext``).

    :param named: extension attributes the expressions name: a user without one sees
        ``null`` (not a missing key), as for a blank canonical attribute.
    """
    variables = {name: attributes.get(name) for name in USER_ATTRIBUTES}
    extension = dict.fromkeys(named)
    extension.update(attributes.get(EXTENSION_VARIABLE) or {})
    variables[EXTENSION_VARIABLE] = extension
    return cel.Context(variables, FUNCTIONS)
