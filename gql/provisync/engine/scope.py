"""A rule's user filter: SCIM filter syntax (RFC 7644 §3.4.2.2) over canonical attributes.

Example: ``department eq "Sales" and not (title sw "Intern")``; extension attributes are
named ``ext.NAME`` (``ext.costCenter eq "C-100"``, compared case-sensitively by name, as
stored). Parsing uses scim2-models' grammar; evaluation is ours because the filter applies to
canonical attributes, not to a SCIM resource. Attribute names are case-insensitive, string
comparisons too (as in SCIM).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ScimFilter,
)

from provisync_sdk import USER_ATTRIBUTES

Predicate = Callable[[Mapping[str, Any]], bool]
Getter = Callable[[Mapping[str, Any]], Any]
EXTENSION = "ext"
"""The attribute that holds a user's extension attributes (a name-to-value mapping)."""
_NAMES = {name.lower(): name for name in USER_ATTRIBUTES}


class InvalidFilter(ValueError):
    """The filter text is not a valid scope filter; the message says where and why."""


def compile_scope(text: str | None) -> Predicate:
    """Compile a scope filter; ``None`` or blank means every user.

    :raises InvalidFilter: on a syntax error or an unknown attribute.
    """
    if text is None or not text.strip():
        return lambda _attrs: True
    try:
        ast = ScimFilter(text).ast
    except Exception as exc:
        raise InvalidFilter(f"invalid user filter {text!r}: {exc}") from exc
    return _compile(ast)


def _extension(name: str) -> Getter:
    def get(attrs: Mapping[str, Any]) -> Any:
        extension = attrs.get(EXTENSION)
        return extension.get(name) if isinstance(extension, Mapping) else None

    return get


def _attribute(node: Comparison | Present) -> Getter:
    path = node.attr_path
    if path.uri:
        raise InvalidFilter(f"user filters name plain attributes, not {path}")
    if path.attr.lower() == EXTENSION and path.sub_attr:
        return _extension(path.sub_attr)
    if path.sub_attr:
        raise InvalidFilter(
            f"user filters name plain attributes or ext.NAME, not {path}"
        )
    name = _NAMES.get(path.attr.lower())
    if name is None:
        raise InvalidFilter(
            f"unknown attribute {path.attr!r} in user filter; known: {', '.join(USER_ATTRIBUTES)}"
            " and ext.NAME"
        )
    return lambda attrs: attrs.get(name)


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(op: CompareOperator, actual: Any, expected: Any) -> bool:
    a, e = _fold(actual), _fold(expected)
    if op is CompareOperator.eq:
        return bool(a == e)
    if op is CompareOperator.ne:
        return bool(a != e)
    if a is None:
        return False
    if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
        a, e = str(a), str(e)
        if op is CompareOperator.co:
            return e in a
        return a.startswith(e) if op is CompareOperator.sw else a.endswith(e)
    try:
        if op is CompareOperator.gt:
            return bool(a > e)
        if op is CompareOperator.ge:
            return bool(a >= e)
        if op is CompareOperator.lt:
            return bool(a < e)
        if op is CompareOperator.le:
            return bool(a <= e)
    except TypeError:
        return False
    raise InvalidFilter(f"unsupported operator {op.value}")


def _compile(node: FilterNode) -> Predicate:
    if isinstance(node, Comparison):
        get, op, expected = _attribute(node), node.op, node.value
        return lambda attrs: _compare(op, get(attrs), expected)
    if isinstance(node, Present):
        get = _attribute(node)
        return lambda attrs: get(attrs) not in (None, "", [], {})
    if isinstance(node, Not):
        inner = _compile(node.expr)
        return lambda attrs: not inner(attrs)
    if isinstance(node, LogicalExpr):
        terms = [_compile(term) for term in node.terms]
        if node.op is LogicalOperator.and_:
            return lambda attrs: all(term(attrs) for term in terms)
        return lambda attrs: any(term(attrs) for term in terms)
    raise InvalidFilter(f"unsupported filter expression: {node}")
