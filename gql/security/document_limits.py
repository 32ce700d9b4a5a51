"""Depth and alias limits that stay linear in the document, whatever its fragments do.

Strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` walk every fragment spread again,
with no memo: a chain of fragments that each spread the previous one twice makes them
exponential (24 such fragments blocked the server for minutes). Here each fragment is
measured once, its result remembered, and the walk stops as soon as the limit is passed.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)


class _FragmentMemo:
    """A measure per fragment, computed once; a fragment met again while being measured (a
    cycle, which ``NoFragmentCyclesRule`` reports) counts as nothing."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.done: dict[str, int] = {}
        self.active: set[str] = set()

    def fragment(self, name: str) -> FragmentDefinitionNode | None:
        if name in self.active:
            return None
        found = self.context.get_fragment(name)
        return found if isinstance(found, FragmentDefinitionNode) else None


def depth_limit_rule(max_depth: int) -> type:
    """Refuse operations whose fields nest deeper than ``max_depth`` (introspection ignored)."""

    class OperationDepthLimit(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.memo = _FragmentMemo(context)

        def _depth(self, selection_set: SelectionSetNode | None, budget: int) -> int:
            """Depth below a selection set, capped at ``budget + 1`` (over the limit)."""
            if selection_set is None:
                return 0
            deepest = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    if selection.name.value.startswith("__") or selection.selection_set is None:
                        continue
                    if budget <= 0:
                        return 1  # one more level than allowed: stop here
                    found = 1 + self._depth(selection.selection_set, budget - 1)
                elif isinstance(selection, InlineFragmentNode):
                    found = self._depth(selection.selection_set, budget)
                elif isinstance(selection, FragmentSpreadNode):
                    found = self._spread(selection.name.value, budget)
                else:
                    continue
                deepest = max(deepest, found)
                if deepest > budget:
                    return deepest
            return deepest

        def _spread(self, name: str, budget: int) -> int:
            # A fragment's depth does not depend on where it is spread: measure it once with
            # the full limit, then compare against what is left here.
            if name not in self.memo.done:
                fragment = self.memo.fragment(name)
                if fragment is None:
                    return 0
                self.memo.active.add(name)
                self.memo.done[name] = self._depth(fragment.selection_set, max_depth)
                self.memo.active.discard(name)
            return self.memo.done[name]

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            if self._depth(node.selection_set, max_depth) > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"'{name}' exceeds maximum operation depth of {max_depth}",
                        node,
                        extensions={"code": "QUERY_TOO_DEEP"},
                    )
                )

    return OperationDepthLimit


def alias_limit_rule(max_aliases: int) -> type:
    """Refuse operations with more than ``max_aliases`` aliased fields (fragments included)."""

    class OperationAliasLimit(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.memo = _FragmentMemo(context)

        def _aliases(self, selection_set: SelectionSetNode | None) -> int:
            if selection_set is None:
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    total += 1 if selection.alias else 0
                    total += self._aliases(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    total += self._aliases(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    total += self._spread(selection.name.value)
                if total > max_aliases:
                    return max_aliases + 1
            return total

        def _spread(self, name: str) -> int:
            if name not in self.memo.done:
                fragment = self.memo.fragment(name)
                if fragment is None:
                    return 0
                self.memo.active.add(name)
                self.memo.done[name] = self._aliases(fragment.selection_set)
                self.memo.active.discard(name)
            return self.memo.done[name]

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            if self._aliases(node.selection_set) > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"{max_aliases} aliases is the most one operation may use",
                        node,
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )

    return OperationAliasLimit


__all__ = ["alias_limit_rule", "depth_limit_rule"]
