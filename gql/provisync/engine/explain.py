"""explainEntity: the whole decision for one user or group of an outbound rule, read-only.

Scope (each clause with the value it saw), mapping (each target attribute's inputs and
output), match and comparison (from a dry-run reconcile, which reads the target and writes
nothing: connector types with the PREVIEW capability), the action the next sync would take
and why, and the stored outcome of the last run with its reason trail.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlmodel import col, select

from provisync.engine.context import ConnectorUnavailable, open_connector
from provisync.engine.mapping import MappingEntry, display_name_of, source_attributes
from provisync.engine.mapping_eval import Evaluated, compiled
from provisync.engine.outbound import desired_groups
from provisync.engine.scope_explain import ClauseResult, explain_scope
from provisync.store.models import (
    DirectoryGroup,
    DirectoryUser,
    EntitySyncState,
    HeldOperation,
    Rule,
)
from provisync_sdk import (
    Capability,
    DeprovisionAction,
    DesiredUser,
    Direction,
    EntityKind,
    EntityOutcome,
    EntityState,
    ReconcileRequest,
    Removal,
)


@dataclass(slots=True)
class Explanation:
    """What explainEntity answers (plain data; the API layer shapes it)."""

    kind: EntityKind
    key: str
    display_name: str
    exists: bool = True
    in_scope: bool = False
    scope_filter: str | None = None
    clauses: list[ClauseResult] = field(default_factory=list)
    mapping: Evaluated | None = None
    entries: tuple[MappingEntry, ...] = ()
    matching: list[tuple[str, Any]] = field(default_factory=list)
    planned: EntityOutcome | None = None
    action: str = "NONE"
    why: str = ""
    stored: EntitySyncState | None = None
    held: HeldOperation | None = None
    notes: list[str] = field(default_factory=list)


async def _stored(session: Any, rule_id: int, kind: EntityKind, key: str) -> Any:
    return await session.scalar(
        select(EntitySyncState).where(
            EntitySyncState.rule_id == rule_id,
            EntitySyncState.kind == kind.value,
            EntitySyncState.entity_key == key,
        )
    )


async def _held(session: Any, rule_id: int, kind: EntityKind, key: str) -> Any:
    return await session.scalar(
        select(HeldOperation)
        .where(
            HeldOperation.rule_id == rule_id,
            HeldOperation.kind == kind.value,
            HeldOperation.entity_key == key,
            HeldOperation.status == "HELD",
        )
        .order_by(col(HeldOperation.id).desc())
    )


async def _dry_run(services: Any, connection: Any, request: ReconcileRequest, key: str) -> Any:
    """The connector's dry-run outcome for one entity, or why there is none (a string)."""
    ctype = services.registry.get(connection.connector_type)
    if ctype is None or Capability.PREVIEW not in ctype.capabilities:
        return "the connector cannot preview, so the target was not asked"
    try:
        connector = open_connector(services.registry, connection, services.settings.request_timeout)
    except ConnectorUnavailable as exc:
        return str(exc)
    try:
        outcomes = await asyncio.wait_for(
            connector.reconcile(request), services.settings.connector_timeout
        )
    except Exception as exc:  # the target unreachable, refusing, slow; a plugin's own error
        return f"the target could not be asked: {exc or 'no answer in time'}"
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connector.aclose(), 5)
    return next((o for o in outcomes if o.key == key), "the connector reported nothing for it")


def _why_of(planned: EntityOutcome) -> str:
    if planned.state is EntityState.UNSYNCED and planned.reason and "turned off" in planned.reason:
        return f"skipped: create disabled ({planned.reason})"
    if planned.action.value == "NONE" and planned.state is EntityState.SUCCESS:
        return "the target already holds every desired value"
    changed = ", ".join(d.attribute for d in planned.differences)
    text = planned.action.value.lower() + (f": {changed}" if changed else "")
    return text + (f" ({planned.reason})" if planned.reason else "")


async def explain_user(services: Any, rule: Rule, connection: Any, user_id: int) -> Explanation:
    key = str(user_id)
    async with services.db.session() as session:
        user = await session.get(DirectoryUser, user_id)
        stored = await _stored(session, rule.id or 0, EntityKind.USER, key)
        held = await _held(session, rule.id or 0, EntityKind.USER, key)
    name = stored.display_name if stored else key
    out = Explanation(EntityKind.USER, key, name, stored=stored, held=held)
    out.scope_filter = rule.user_filter
    if not rule.enabled:
        out.notes.append("the rule is disabled: nothing runs until it is enabled")
    if rule.direction == Direction.INBOUND.value:
        out.notes.append("an inbound rule decides when it reads the source: see the last run")
    if user is None:
        out.exists = False
        if stored is None:
            out.action, out.why = "NONE", "the directory user does not exist"
            return out
    else:
        out.display_name = display_name_of(user)
        source = source_attributes(user)
        out.in_scope, out.clauses = explain_scope(rule.user_filter, source)
        mapping = compiled(rule.mappings)
        out.mapping = mapping.evaluate(source, with_inputs=True)
        out.entries = mapping.entries
        out.matching = [(a, out.mapping.values.get(a)) for a in mapping.matching]
    if rule.direction == Direction.INBOUND.value:
        out.action = stored.action if stored else "NONE"
        out.why = "; ".join(stored.decision or []) if stored else "not read from the source yet"
        return out
    if out.in_scope and out.mapping is not None:
        if out.mapping.errors:
            out.action = "FAIL"
            out.why = "mapping failed: " + "; ".join(
                f"{t}: {e}" for t, e in sorted(out.mapping.errors.items())
            )
            return out
        desired = DesiredUser(
            key=key,
            attributes=out.mapping.values,
            target_id=stored.target_id if stored else None,
            create_only=compiled(rule.mappings).create_only,
        )
        request = ReconcileRequest(
            users=[desired], dry_run=True, matching_attributes=compiled(rule.mappings).matching
        )
    elif stored is None:
        out.action, out.why = "SKIP", "skipped: out of scope (the rule never provisioned it)"
        return out
    else:
        action = DeprovisionAction(rule.deprovision_action)
        if held is not None:
            out.action = "HOLD"
            out.why = f"held: deletion protection holds its {held.action.lower()}"
            return out
        if action is DeprovisionAction.NOTHING:
            out.action = "NONE"
            out.why = "left the scope: the rule does nothing at the target when users leave"
            return out
        left = "the directory user was deleted" if user is None else "left the scope"
        request = ReconcileRequest(
            removals=[
                Removal(kind=EntityKind.USER, key=key, target_id=stored.target_id, action=action)
            ],
            dry_run=True,
        )
        out.why = f"{left}: deprovision ({action.value.lower()})"
    planned = await _dry_run(services, connection, request, key)
    if isinstance(planned, str):
        out.notes.append(planned)
        out.action = "UNKNOWN" if out.in_scope else out.action or "UNKNOWN"
        if out.in_scope:
            out.why = "in scope; " + planned
        return out
    out.planned = planned
    out.action = planned.action.value
    out.why = _why_of(planned) if out.in_scope else f"{out.why}; {_why_of(planned)}"
    return out


async def explain_group(services: Any, rule: Rule, connection: Any, group_id: int) -> Explanation:
    key = str(group_id)
    async with services.db.session() as session:
        group = await session.get(DirectoryGroup, group_id)
        stored = await _stored(session, rule.id or 0, EntityKind.GROUP, key)
        held = await _held(session, rule.id or 0, EntityKind.GROUP, key)
        in_scope_users = set(
            await session.scalars(
                select(EntitySyncState.entity_key).where(
                    EntitySyncState.rule_id == rule.id,
                    EntitySyncState.kind == EntityKind.USER.value,
                )
            )
        )
    out = Explanation(
        EntityKind.GROUP, key, group.display_name if group else key, stored=stored, held=held
    )
    out.exists = group is not None
    out.in_scope = group is not None and group_id in rule.group_ids
    if not out.in_scope:
        if stored is None:
            out.action, out.why = "SKIP", "skipped: the group is not one of the rule's groups"
        elif held is not None:
            out.action = "HOLD"
            out.why = f"held: deletion protection holds its {held.action.lower()}"
        else:
            out.action = rule.deprovision_action
            out.why = f"no longer one of the rule's groups: deprovision ({out.action.lower()})"
        return out
    # desired_groups reads only the run's database, rule and rule id.
    reads = SimpleNamespace(db=services.db, rule=rule, rule_id=rule.id or 0)
    desired, _names = await desired_groups(reads, [group_id], in_scope_users)  # type: ignore[arg-type]
    planned = await _dry_run(
        services, connection, ReconcileRequest(groups=desired, dry_run=True), key
    )
    if isinstance(planned, str):
        out.action, out.why = "UNKNOWN", planned
        return out
    out.planned = planned
    out.action, out.why = planned.action.value, _why_of(planned)
    return out
