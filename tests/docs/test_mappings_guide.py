"""docs/mappings.md documents every mapping function, and its examples evaluate as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from provisync.engine.expressions import FUNCTIONS, compile_expression, context_for, extension_names

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "mappings.md"
SAMPLE = {
    "givenName": "Zoë",
    "familyName": "Müller",
    "displayName": None,
    "userName": "zmuller",
    "email": "Zoe.Muller@Example.com",
    "department": "Sales",
    "title": "Sr. Engineer",
    "employeeId": "E001234",
    "ext": {"hireDate": "2021-03-04", "site": "Berlin"},
}
ROW = re.compile(r"^\| (.+?) \| `(.+?)` \| `(.+?)` \|$", re.M)


def examples() -> list[tuple[str, str, str]]:
    return ROW.findall(GUIDE.read_text())


def test_every_function_is_documented_with_an_example() -> None:
    documented = {re.match(r"`(\w+)\(", first).group(1) for first, _, _ in examples()  # type: ignore[union-attr]
                  if re.match(r"`(\w+)\(", first)}  # fmt: skip
    assert documented >= set(FUNCTIONS)


@pytest.mark.parametrize(("what", "expression", "result"), examples())
def test_documented_example_evaluates_as_written(what: str, expression: str, result: str) -> None:
    compiled = compile_expression(expression)
    context = context_for(SAMPLE, extension_names(expression))
    assert compiled.evaluate(context) == json.loads(result), what
