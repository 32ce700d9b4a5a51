"""A scope filter's decision for one entity, clause by clause (for ``explainEntity``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim2_models.path import Comparison, FilterNode, LogicalExpr, Not, Present, ScimFilter

from provisync.engine.scope import _attribute, _compare, compile_scope


@dataclass(frozen=True, slots=True)
class ClauseResult:
    """One comparison of the filter: what it says, the value it saw, and its result."""

    clause: str
    attribute: str
    value: Any
    result: bool


def _clauses(node: FilterNode, attrs: Mapping[str, Any], out: list[ClauseResult]) -> None:
    if isinstance(node, Comparison):
        value = _attribute(node)(attrs)
        result = _compare(node.op, value, node.value)
        out.append(ClauseResult(str(node), str(node.attr_path), value, result))
    elif isinstance(node, Present):
        value = _attribute(node)(attrs)
        present = value not in (None, "", [], {})
        out.append(ClauseResult(str(node), str(node.attr_path), value, present))
    elif isinstance(node, Not):
        _clauses(node.expr, attrs, out)
    elif isinstance(node, LogicalExpr):
        for term in node.terms:
            _clauses(term, attrs, out)


def explain_scope(text: str | None, attrs: Mapping[str, Any]) -> tuple[bool, list[ClauseResult]]:
    """Whether the entity is in scope, and each comparison's value and result."""
    in_scope = compile_scope(text)(attrs)
    if text is None or not text.strip():
        return in_scope, []
    clauses: list[ClauseResult] = []
    _clauses(ScimFilter(text).ast, attrs, clauses)
    return in_scope, clauses
