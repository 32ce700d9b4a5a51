"""Per-request DataLoaders. ``summary_counts`` is the shared summary resolver's one query."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from gql.store.models import ProvisioningConnection, Rule, RuleCounts

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
