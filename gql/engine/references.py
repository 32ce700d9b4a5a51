"""References to deleted directory objects: rules stop naming a group that no longer exists.

A rule's ``group_ids`` names directory groups by id. Left alone after a delete, the id would
name nothing (or, where ids were reused, an unrelated group). The engine's side of a group
delete: every rule naming it drops it, audited, in the transaction of the delete.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from gql.engine.recorder import admin_event
from gql.store.models import Rule, utcnow


async def forget_group(
    session: AsyncSession, group_id: int, group_name: str, actor: str
) -> list[int]:
    """Remove a deleted group from the rules that sync it (no commit).

    :return: the ids of the rules that named it (their groups must be pushed again, so the
        group's copy at their targets is deprovisioned).
    """
    changed: list[int] = []
    for rule in await session.scalars(select(Rule)):
        if group_id not in rule.group_ids:
            continue
        rule.group_ids = [g for g in rule.group_ids if g != group_id]
        rule.updated_at = utcnow()
        session.add(rule)
        assert rule.id is not None
        changed.append(rule.id)
        session.add(
            admin_event(
                operation="UPDATE_RULE",
                message=f"directory group {group_name!r} (id {group_id}) was deleted: "
                f"removed from the groups of rule {rule.name!r}",
                actor=actor,
                rule_id=rule.id,
            )
        )
    return changed
