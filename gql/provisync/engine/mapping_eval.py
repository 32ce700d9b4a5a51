"""Mapping entries compiled once and evaluated per user, as a resync does.

A rule's entries compile into a :class:`CompiledMapping`, cached by the entries' content, so
a resync of any size compiles each expression once (and a changed rule compiles anew).
FIELD and CONSTANT entries never reach CEL: only real expressions pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from provisync.engine.expressions import (
    Expression,
    ExpressionError,
    compile_expression,
    context_for,
    extension_names,
)
from provisync.engine.mapping import Applies, MappingEntry, Source, entries_of, read_field


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One user's mapped values: every managed target attribute, ``None`` meaning absence.

    :param values: target attribute -> desired value.
    :param errors: target attribute -> why its expression failed for this user.
    :param inputs: target attribute -> the source attributes its entry read, with values.
    """

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """A rule's entries, expressions compiled."""

    entries: tuple[MappingEntry, ...]
    expressions: Mapping[str, Expression]
    create_only: frozenset[str]
    matching: tuple[str, ...]
    """Matching attributes in the order they are tried."""
    reads: Mapping[str, tuple[str, ...]]
    """Target -> the source attributes (``ext.NAME`` for extensions) its entry reads."""
    extensions: frozenset[str] = frozenset()
    """The extension attributes the expressions name."""

    def evaluate(self, source: Mapping[str, Any], *, with_inputs: bool = False) -> Evaluated:
        """The target values of one source user (``source_attributes`` of the user)."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        context: Any = None
        for entry in self.entries:
            if entry.source is Source.FIELD:
                value = read_field(source, entry.value)
            elif entry.source is Source.CONSTANT:
                value = entry.value
            else:
                if context is None:
                    context = context_for(source, self.extensions)
                try:
                    value = self.expressions[entry.target].evaluate(context)
                except ExpressionError as exc:
                    errors[entry.target] = str(exc)
                    continue
            if entry.target == "active":
                value = _active(value)
            values[entry.target] = None if _empty(value) else value
        inputs: dict[str, dict[str, Any]] = {}
        if with_inputs:
            inputs = {
                target: {name: read_field(source, name) for name in names}
                for target, names in self.reads.items()
            }
        return Evaluated(values, errors, inputs)


def _active(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return True if value is None else bool(value)


def _reads(entry: MappingEntry, expression: Expression | None) -> tuple[str, ...]:
    if entry.source is Source.FIELD:
        return (str(entry.value),)
    if expression is None:
        return ()
    names = [n for n in expression.program.variables() if n != "ext"]
    names += sorted(f"ext.{m}" for m in extension_names(expression.source))
    return tuple(names)


@lru_cache(maxsize=512)
def _compiled(key: str) -> CompiledMapping:
    entries = tuple(entries_of(json.loads(key)))
    expressions = {
        e.target: compile_expression(str(e.value)) for e in entries if e.source is Source.EXPRESSION
    }
    matching = tuple(
        e.target
        for e in sorted(
            (e for e in entries if e.matching), key=lambda e: (e.matching_order or 0, e.target)
        )
    )
    return CompiledMapping(
        entries=entries,
        expressions=expressions,
        create_only=frozenset(e.target for e in entries if e.applies is Applies.ON_CREATE),
        matching=matching or ("userName",),
        reads={e.target: _reads(e, expressions.get(e.target)) for e in entries},
        extensions=frozenset().union(*(extension_names(x.source) for x in expressions.values())),
    )


def compiled(stored: Sequence[Mapping[str, Any]] | None) -> CompiledMapping:
    """The compiled form of a rule's stored entries (cached by content).

    :raises ExpressionError: a stored expression no longer compiles (saved entries are
        checked, so only a hand-edited database gets here).
    """
    return _compiled(json.dumps(list(stored or []), sort_keys=True, default=str))
