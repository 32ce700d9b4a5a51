"""Extension attributes: the named values a directory user or group carries besides its
fixed fields (a cost centre, a location, a hire date, ...).

They are a JSON object of name to value. Names are identifiers (so a mapping expression can
say ``ext.costCenter`` and a scope filter ``ext.costCenter eq "C-100"``); values are strings,
numbers, booleans, or lists of those. A change names only what it changes: a name set to
``null`` is removed, names left out keep their values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_ATTRIBUTES = 100
MAX_TEXT = 2048
MAX_LIST = 100
_SCALARS = (str, int, float, bool)


class InvalidExtensionAttributes(ValueError):
    """Extension attributes that cannot be stored; ``problems`` says which and why."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in problems))
        self.problems = problems


def _value_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return f"is longer than {MAX_TEXT} characters" if len(value) > MAX_TEXT else None
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            return f"holds more than {MAX_LIST} values"
        for item in value:
            if not isinstance(item, _SCALARS):
                return "lists hold strings, numbers or booleans only"
            if isinstance(item, str) and len(item) > MAX_TEXT:
                return f"holds a value longer than {MAX_TEXT} characters"
        return None
    return "must be a string, a number, a boolean, a list of those, or null to remove it"


def merged(current: Mapping[str, Any], change: Any) -> dict[str, Any]:
    """``current`` with ``change`` applied (null removes a name).

    :raises InvalidExtensionAttributes: a name or a value that cannot be stored.
    """
    if not isinstance(change, Mapping):
        raise InvalidExtensionAttributes([("extensionAttributes", "must be a JSON object")])
    problems: list[tuple[str, str]] = []
    result = dict(current)
    for name, value in change.items():
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(
                (
                    f"extensionAttributes.{name}",
                    "a name starts with a letter and holds letters, digits and _ (at most 64)",
                )
            )
            continue
        if value is None or value == "":
            result.pop(name, None)
            continue
        problem = _value_problem(value)
        if problem:
            problems.append((f"extensionAttributes.{name}", problem))
        else:
            result[name] = value
    if len(result) > MAX_ATTRIBUTES:
        problems.append(("extensionAttributes", f"at most {MAX_ATTRIBUTES} attributes"))
    if problems:
        raise InvalidExtensionAttributes(problems)
    return result
