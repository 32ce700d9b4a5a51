"""explainEntity: why a user or group of a rule is where it is, and what the next sync does."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from provisync.api.context import Info
from provisync.api.security.guards import forbidden
from provisync.api.types.common import as_json, aware, node_pk
from provisync.api.types.entity_state import AttributeDifference
from provisync.api.types.enums import EntityKindEnum
from provisync.api.types.errors import (
    ForbiddenError,
    NotFoundError,
    ValidationError,
    invalid,
    not_found,
)
from provisync.api.types.mapping_tester import AttributeMappingOutcome
from provisync.engine.explain import Explanation, explain_group, explain_user
from provisync.security.roles import Role
from provisync.store.models import ProvisioningConnection as ConnectionRow
from provisync.store.models import Rule as RuleRow


@strawberry.type
class ScopeClause:
    clause: str
    attribute: str
    value: JSON | None = strawberry.field(description="The value the clause saw.")
    result: bool


@strawberry.type
class ScopeDecision:
    filter: str | None
    in_scope: bool
    clauses: list[ScopeClause]


@strawberry.type
class MatchAttempt:
    attribute: str
    value: JSON | None


@strawberry.type
class MatchDecision:
    attempts: list[MatchAttempt] = strawberry.field(
        description="The matching attributes, in the order they are tried, with their values."
    )
    target_id: str | None = strawberry.field(
        description="The account the target holds for it (the candidate matched), if any."
    )


@strawberry.type
class LastOutcome:
    state: str
    action: str
    reason: str | None
    target_id: str | None
    differences: list[AttributeDifference]
    updated_at: datetime
    trail: list[str] = strawberry.field(description="The compact reason trail it keeps.")


@strawberry.type(description="The whole decision for one entity of a rule; nothing is written.")
class EntityExplanation:
    kind: EntityKindEnum  # type: ignore[valid-type]
    entity_key: str
    display_name: str
    exists: bool = strawberry.field(description="Whether the directory entity still exists.")
    scope: ScopeDecision
    mapping: list[AttributeMappingOutcome]
    match: MatchDecision
    comparison: list[AttributeDifference] = strawberry.field(
        description="What the next sync would change: desired (source) beside current (target)."
    )
    action: str = strawberry.field(
        description="CREATE, UPDATE, NONE, DISABLE, DELETE; SKIP (out of scope), HOLD "
        "(deletion protection), FAIL (mapping), UNKNOWN (the target could not be asked)."
    )
    why: str
    last_run: LastOutcome | None
    notes: list[str]


ExplainEntityResult = Annotated[
    EntityExplanation | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("ExplainEntityResult"),
]


def _shaped(found: Explanation) -> EntityExplanation:
    mapping: list[AttributeMappingOutcome] = []
    if found.mapping is not None:
        evaluated = found.mapping
        mapping = [
            AttributeMappingOutcome(
                target=entry.target,
                source=entry.source,
                applies=entry.applies,
                mapping=as_json(entry.value),
                value=as_json(evaluated.values.get(entry.target)),
                error=evaluated.errors.get(entry.target),
                inputs=as_json(evaluated.inputs.get(entry.target, {})),
            )
            for entry in found.entries
        ]
    planned = found.planned
    stored = found.stored
    return EntityExplanation(
        kind=found.kind,
        entity_key=found.key,
        display_name=found.display_name,
        exists=found.exists,
        scope=ScopeDecision(
            filter=found.scope_filter,
            in_scope=found.in_scope,
            clauses=[
                ScopeClause(
                    clause=c.clause, attribute=c.attribute, value=as_json(c.value), result=c.result
                )
                for c in found.clauses
            ],
        ),
        mapping=mapping,
        match=MatchDecision(
            attempts=[MatchAttempt(attribute=a, value=as_json(v)) for a, v in found.matching],
            target_id=planned.target_id if planned else (stored.target_id if stored else None),
        ),
        comparison=[
            AttributeDifference(
                attribute=d.attribute, source_value=d.source_value, target_value=d.target_value
            )
            for d in (planned.differences if planned else ())
        ],
        action=found.action,
        why=found.why,
        last_run=LastOutcome(
            state=stored.state,
            action=stored.action,
            reason=stored.reason,
            target_id=stored.target_id,
            differences=[AttributeDifference(**d) for d in stored.differences],
            updated_at=aware(stored.updated_at) or stored.updated_at,
            trail=list(stored.decision or []),
        )
        if stored
        else None,
        notes=found.notes,
    )


async def explain_entity(
    info: Info,
    rule_id: relay.GlobalID,
    user_id: relay.GlobalID | None = None,
    group_id: relay.GlobalID | None = None,
) -> ExplainEntityResult:
    """Explain one user or group of a rule: read-only (the target is only read)."""
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    if (user_id is None) == (group_id is None):
        return invalid(("userId", "give either a user or a group"))
    pk = node_pk(rule_id, "Rule")
    if isinstance(pk, NotFoundError):
        return pk
    entity = (
        node_pk(user_id, "DirectoryUser")
        if user_id is not None
        else node_pk(group_id, "DirectoryGroup")  # type: ignore[arg-type]
    )
    if isinstance(entity, NotFoundError):
        return entity
    services = info.context.services
    async with services.db.session() as session:
        rule = await session.get(RuleRow, pk)
        if rule is None:
            return not_found("Rule", rule_id)
        connection = await session.get(ConnectionRow, rule.connection_id)
    if connection is None:
        return not_found("ProvisioningConnection", rule_id)
    if user_id is not None:
        found = await explain_user(services, rule, connection, entity)
    else:
        found = await explain_group(services, rule, connection, entity)
    return _shaped(found)
