"""Per-request DataLoaders. ``summary_counts`` is the shared summary resolver's one query."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from gql.store.models import EntityRetry, ProvisioningConnection, Rule, RuleCounts

Reader = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def load_rule_counts(reader: Reader, rule_ids: Sequence[int]) -> list[dict[str, RuleCounts]]:
    """Tallies by kind for many rules in one statement, whatever the number of states."""
    async with reader() as session:
        rows = list(
            await session.scalars(
                select(RuleCounts).where(col(RuleCounts.rule_id).in_(list(rule_ids)))  # type: ignore[attr-defined]
            )
        )
    by_rule: dict[int, dict[str, RuleCounts]] = {rule_id: {} for rule_id in rule_ids}
    for row in rows:
        by_rule[row.rule_id][row.kind] = row
    return [by_rule[rule_id] for rule_id in rule_ids]


async def load_connections(
    reader: Reader, ids: Sequence[int]
) -> list[ProvisioningConnection | None]:
    async with reader() as session:
        rows = await session.scalars(
            select(ProvisioningConnection).where(col(ProvisioningConnection.id).in_(list(ids)))  # type: ignore[union-attr]
        )
        found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def load_rules(reader: Reader, ids: Sequence[int]) -> list[Rule | None]:
    async with reader() as session:
        rows = await session.scalars(select(Rule).where(col(Rule.id).in_(list(ids))))  # type: ignore[union-attr]
        found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


RetryKey = tuple[int, str, str]
"""(rule id, entity kind, entity key)"""


async def load_retries(reader: Reader, keys: Sequence[RetryKey]) -> list[EntityRetry | None]:
    """The retry-queue entries of many entity states in one statement per rule."""
    by_rule: dict[int, set[str]] = {}
    for rule_id, _kind, key in keys:
        by_rule.setdefault(rule_id, set()).add(key)
    found: dict[RetryKey, EntityRetry] = {}
    async with reader() as session:
        for rule_id, entity_keys in by_rule.items():
            rows = await session.scalars(
                select(EntityRetry).where(
                    EntityRetry.rule_id == rule_id,
                    col(EntityRetry.entity_key).in_(sorted(entity_keys)),
                )
            )
            found.update(((r.rule_id, r.kind, r.entity_key), r) for r in rows)
    return [found.get(key) for key in keys]
