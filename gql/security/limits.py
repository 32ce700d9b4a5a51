"""Limits on hostile queries, as validation rules built once per schema (see build_schema).

The cost of a query is an estimate of how many values it can return: each field costs one for
every time it can appear, and a field taking ``first`` multiplies what it selects by its page
size (the literal, the largest page for a variable, the default page when left out).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions.base_extension import SchemaExtension

from gql.security.roles import principal_of

DEFAULT_PAGE = 20
MAX_WALK_DEPTH = 64
"""Deeper selections are the depth limiter's to refuse; the estimate stops there."""


def query_cost_rule(max_cost: int, max_page: int, default_page: int = DEFAULT_PAGE) -> type:
    """A validation rule refusing operations whose estimated cost is over ``max_cost``.

    The cost of a selection set is linear in its multiplier, so each fragment's cost is
    computed once for a multiplier of one and scaled where it is spread; every sum is capped
    just over the limit, so the walk stops as soon as the answer is known.
    """
    cap = max_cost + 1

    class QueryCostLimit(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.fragment_costs: dict[str, int] = {}
            self.measuring: set[str] = set()

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            if root is None:
                return
            if self._cost(node.selection_set, root, 0) > max_cost:
                self.report_error(
                    GraphQLError(
                        f"the query's estimated cost is over the limit of {max_cost}: "
                        "ask for smaller pages (first) or fewer nested lists",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY"},
                    )
                )

        def _page(self, node: FieldNode, has_first: bool) -> int:
            if not has_first:
                return 1
            for argument in node.arguments or ():
                if argument.name.value != "first":
                    continue
                if isinstance(argument.value, IntValueNode):
                    return max(0, min(int(argument.value.value), max_page))
                if isinstance(argument.value, VariableNode):
                    return max_page
            return min(default_page, max_page)

        def _cost(
            self,
            selection_set: SelectionSetNode | None,
            parent: GraphQLNamedType | None,
            depth: int,
        ) -> int:
            """Cost of a selection set for a multiplier of one, capped at ``max_cost + 1``."""
            if selection_set is None or depth > MAX_WALK_DEPTH:
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    total += 1
                    fields = getattr(parent, "fields", None) or {}
                    definition = fields.get(selection.name.value)
                    if definition is not None and selection.selection_set is not None:
                        page = max(self._page(selection, "first" in definition.args), 1)
                        below = self._cost(
                            selection.selection_set, get_named_type(definition.type), depth + 1
                        )
                        total += min(page * below, cap)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    target = (
                        self.context.schema.get_type(condition.name.value) if condition else parent
                    )
                    total += self._cost(selection.selection_set, target, depth + 1)
                elif isinstance(selection, FragmentSpreadNode):
                    total += self._spread(selection.name.value, depth)
                if total >= cap:
                    return cap
            return total

        def _spread(self, name: str, depth: int) -> int:
            if name not in self.fragment_costs:
                fragment = self.context.get_fragment(name)
                if fragment is None or name in self.measuring:
                    return 0  # unknown or cyclic: other rules report those
                self.measuring.add(name)
                target = self.context.schema.get_type(fragment.type_condition.name.value)
                self.fragment_costs[name] = self._cost(fragment.selection_set, target, depth + 1)
                self.measuring.discard(name)
            return self.fragment_costs[name]

    return QueryCostLimit


def validation_rules(settings: Any) -> list[type]:
    """The security validation rules of a schema: query cost, and introspection when off."""
    rules: list[type] = [
        query_cost_rule(
            int(getattr(settings, "query_max_cost", 50_000)),
            int(getattr(settings, "max_page_size", 100)),
        )
    ]
    if not getattr(settings, "introspection", True):
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules


class CallerRequired(SchemaExtension):
    """No operation runs for a caller without a role (a safety net behind the middleware)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if context is not None and principal_of(context).role is None:
            self.execution_context.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})
                ],
            )
        yield


SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def strip_suggestions(errors: Any) -> None:
    """Remove "Did you mean 'rules'?" from each error's message (in place)."""
    for error in errors or ():
        message = getattr(error, "message", None)
        if isinstance(message, str) and "Did you mean" in message:
            error.message = SUGGESTION.sub("", message)


class HideSuggestions(SchemaExtension):
    """Error messages name no field, argument, enum value or type the caller did not write,
    when introspection is off (they would reveal the schema) and for callers without a role."""

    def __init__(self, *, always: bool) -> None:
        self.always = always

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if not self.always and (context is None or principal_of(context).role is not None):
            return
        strip_suggestions(getattr(self.execution_context, "pre_execution_errors", None))
        strip_suggestions(getattr(self.execution_context.result, "errors", None))
