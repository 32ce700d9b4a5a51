"""testAttributeMappings: what a rule's mappings give for one user, touching no target.

The answer is computed by the engine's own mapping code
(:func:`provisync.engine.mapping_eval.compiled` and ``source_attributes``), so it equals what
a resync sends.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from provisync.api.context import Info
from provisync.api.mutations.mapping_input import check_mappings
from provisync.api.security.guards import forbidden
from provisync.api.types.common import as_json, node_pk
from provisync.api.types.errors import (
    ForbiddenError,
    NotFoundError,
    ValidationError,
    invalid,
    not_found,
)
from provisync.api.types.mapping import AttributeMappingInput, MappingApplies, MappingSource
from provisync.engine.mapping import InvalidMapping, source_attributes, validate_mappings
from provisync.engine.mapping_eval import compiled
from provisync.security.roles import Role
from provisync.store.models import DirectoryUser as UserRow
from provisync.store.models import ProvisioningConnection as ConnectionRow
from provisync.store.models import Rule as RuleRow
from provisync_sdk import USER_ATTRIBUTES, Direction

EXTENSION_KEYS = ("ext", "extensionAttributes")


@strawberry.type(description="One target attribute's value (or why it has none) for one user.")
class AttributeMappingOutcome:
    target: str
    source: MappingSource  # type: ignore[valid-type]
    applies: MappingApplies  # type: ignore[valid-type]
    mapping: JSON | None = strawberry.field(
        description="The entry's value: field, constant or expression text."
    )
    value: JSON | None = strawberry.field(
        description="The value sent to the target; null: desired absence."
    )
    error: str | None = strawberry.field(description="Why the expression failed, if it did.")
    inputs: JSON = strawberry.field(description="The source attributes it read, with values.")


@strawberry.type
class AttributeMappingTest:
    results: list[AttributeMappingOutcome]


TestAttributeMappingsResult = Annotated[
    AttributeMappingTest | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("TestAttributeMappingsResult"),
]


def _sample(given: Any) -> dict[str, Any] | ValidationError:
    if not isinstance(given, dict):
        return invalid(("sampleAttributes", "must be a JSON object"))
    unknown = [k for k in given if k not in USER_ATTRIBUTES and k not in EXTENSION_KEYS]
    if unknown:
        return invalid(
            ("sampleAttributes", f"unknown attributes {', '.join(sorted(unknown))}; known: "
             f"{', '.join(USER_ATTRIBUTES)} and ext (extension attributes)")
        )  # fmt: skip
    source: dict[str, Any] = {a: given.get(a) for a in USER_ATTRIBUTES}
    source["active"] = bool(given.get("active", True))
    extension = next((given[k] for k in EXTENSION_KEYS if k in given), None) or {}
    if not isinstance(extension, dict):
        return invalid(("sampleAttributes.ext", "must be a JSON object"))
    source["ext"] = extension
    return source


async def test_attribute_mappings(
    info: Info,
    rule_id: relay.GlobalID | None = None,
    mappings: list[AttributeMappingInput] | None = None,
    user_id: relay.GlobalID | None = None,
    sample_attributes: JSON | None = None,
) -> TestAttributeMappingsResult:
    """Evaluate mappings (a rule's, or the given ones checked as a save would check them)
    for a directory user or sample attributes."""
    if denied := forbidden(info, Role.VIEWER):
        return denied
    if rule_id is None and mappings is None:
        return invalid(("ruleId", "give a rule, mappings, or both"))
    if (user_id is None) == (sample_attributes is None):
        return invalid(("userId", "give either a user or sample attributes"))
    async with info.context.reader() as session:
        entries: list[dict[str, Any]] | None = [m.as_json() for m in mappings] if mappings else None
        if rule_id is not None:
            pk = node_pk(rule_id, "Rule")
            if isinstance(pk, NotFoundError):
                return pk
            rule = await session.get(RuleRow, pk)
            if rule is None:
                return not_found("Rule", rule_id)
            connection = await session.get(ConnectionRow, rule.connection_id)
            registry = info.context.services.registry
            ctype = registry.get(connection.connector_type) if connection else None
            if entries is not None and ctype is not None:
                entries, problems = check_mappings(ctype, Direction(rule.direction), entries)
                if problems:
                    return invalid(*problems)
            elif entries is None:
                entries = list(rule.mappings)
        elif entries is not None:
            try:
                entries = validate_mappings(entries)
            except InvalidMapping as exc:
                return invalid(*exc.problems)
        if user_id is not None:
            user_pk = node_pk(user_id, "DirectoryUser")
            if isinstance(user_pk, NotFoundError):
                return user_pk
            user = await session.get(UserRow, user_pk)
            if user is None:
                return not_found("DirectoryUser", user_id)
            source: dict[str, Any] | ValidationError = source_attributes(user)
        else:
            source = _sample(sample_attributes)
    if isinstance(source, ValidationError):
        return source
    mapping = compiled(entries)
    evaluated = mapping.evaluate(source, with_inputs=True)
    return AttributeMappingTest(
        results=[
            AttributeMappingOutcome(
                target=entry.target,
                source=entry.source,
                applies=entry.applies,
                mapping=as_json(entry.value),
                value=as_json(evaluated.values.get(entry.target)),
                error=evaluated.errors.get(entry.target),
                inputs=as_json(evaluated.inputs.get(entry.target, {})),
            )
            for entry in mapping.entries
        ]
    )
