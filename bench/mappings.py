"""Mapping expressions against plain field mappings, as the engine evaluates them.

(1) The mapping step: 100,000 directory users (``--quick``: 10,000) through a rule of 12
expression mappings and through a rule of 12 plain field mappings: per user the engine's own
``compiled(entries).evaluate(source_attributes(user))``, the rule compiled once (cached).
(2) A first full resync of 10,000 users (``--quick``: 1,000) to scim2-server, each variant on
its own fresh server, the mapping included: users mapped in batches of 500 and reconciled
by the SCIM connector, as the engine does (the connector called directly, like
``bench/scim_resync.py``). Last line: JSON with ``expressions_per_second``,
``mapping_overhead_ratio`` (mapping step, expressions over plain) and
``resync_overhead_ratio`` (the resync, expressions over plain).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scim_resync import BATCH, start_server  # noqa: E402
from provisync.engine.mapping import DEFAULT_FIELDS, source_attributes  # noqa: E402
from provisync.engine.mapping_eval import compiled  # noqa: E402
from provisync.store.models import DirectoryUser  # noqa: E402
from provisync_scim.connector import ScimConnector  # noqa: E402
from provisync_scim.settings import ScimSettings  # noqa: E402
from provisync_sdk import ConnectorContext, DesiredUser, EntityState, ReconcileRequest  # noqa: E402


def field(target: str, value: str | None = None) -> dict[str, Any]:
    return {"target": target, "source": "FIELD", "value": value or target}


def expression(target: str, text: str) -> dict[str, Any]:
    return {"target": target, "source": "EXPRESSION", "value": text}


PLAIN = [field(a) for a in DEFAULT_FIELDS] + [field("nickName", "ext.nick")]
EXPRESSIONS = [
    field("userName"),
    field("active"),
    expression("givenName", "normalize(givenName)"),
    expression("familyName", "upper(familyName)"),
    expression("displayName", 'join(" ", [givenName, familyName])'),
    expression("email", "lower(email)"),
    expression("phone", 'replace(phone, " ", "")'),
    expression("title", 'coalesce(title, "Staff")'),
    expression("department", 'lookup({"Sales": "S-01", "Legal": "L-02"}, department, "X-99")'),
    expression("employeeId", 'formatDate(ext.hireDate, "%Y%m%d")'),
    expression("manager", 'split(email, "@")[0]'),
    expression("costCenter", 'substring(employeeId, 0, 4)'),
    expression("organization", 'size(userName) > 3 ? "Acme" : "Acme Ltd"'),
    expression("division", 'daysBetween(ext.hireDate, "2026-01-01") > 365 ? "Core" : "New"'),
]
"""12 expressions (and userName, active plain)."""
TARGET_EXPRESSIONS = [e for e in EXPRESSIONS if e["target"] not in ("costCenter", "organization", "division")]
"""What the SCIM resync maps: the canonical targets (9 expressions)."""


def users(count: int) -> list[DirectoryUser]:
    return [
        DirectoryUser(
            id=i + 1,
            user_name=f"user{i:06d}",
            given_name="Zoë",
            family_name=f"Müller{i}",
            display_name=None,
            email=f"Zoe.Muller{i}@Example.com",
            phone="+1 555 0100",
            title=None if i % 3 else "Engineer",
            department=("Sales", "Legal", "Research")[i % 3],
            employee_id=f"E{i:06d}",
            active=True,
            extension_attributes={"hireDate": "2021-03-04", "nick": f"z{i}"},
        )
        for i in range(count)
    ]


def mapping_step(entries: list[dict[str, Any]], people: list[DirectoryUser]) -> float:
    started = time.perf_counter()
    for at in range(0, len(people), BATCH):
        mapping = compiled(entries)  # once per batch, like the engine (a cache hit)
        for user in people[at : at + BATCH]:
            evaluated = mapping.evaluate(source_attributes(user))
            assert not evaluated.errors, evaluated.errors
    return time.perf_counter() - started


async def resync(base_url: str, entries: list[dict[str, Any]], people: list[DirectoryUser]) -> float:
    connector = ScimConnector(ScimSettings(base_url=base_url), ConnectorContext("bench", "bench", 30))
    success = 0
    started = time.perf_counter()
    try:
        for at in range(0, len(people), BATCH):
            mapping = compiled(entries)
            desired = [
                DesiredUser(key=str(u.id), attributes=mapping.evaluate(source_attributes(u)).values)
                for u in people[at : at + BATCH]
            ]
            outcomes = await connector.reconcile(ReconcileRequest(users=desired))
            success += sum(1 for o in outcomes if o.state is EntityState.SUCCESS)
    finally:
        await connector.aclose()
    elapsed = time.perf_counter() - started
    assert success == len(people), f"{success} of {len(people)} synced"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 users mapped, 1,000 synced")
    args = parser.parse_args()
    mapped, synced = (10_000, 1_000) if args.quick else (100_000, 10_000)
    people = users(mapped)
    compiled(PLAIN), compiled(EXPRESSIONS)  # compiled once, before timing, as a rule is
    mapping_step(PLAIN, people[:1000])  # warm up
    plain = mapping_step(PLAIN, people)
    with_expressions = mapping_step(EXPRESSIONS, people)
    rate = mapped * 12 / with_expressions
    print(f"(1) mapping step, {mapped} users: plain {plain:.2f}s, 12 expressions "
          f"{with_expressions:.2f}s ({rate:,.0f} expressions/s, {mapped / with_expressions:,.0f} users/s)")  # fmt: skip
    servers = [start_server(), start_server()]
    try:
        plain_sync = asyncio.run(resync(servers[0][1], PLAIN[:-1], people[:synced]))
        expression_sync = asyncio.run(resync(servers[1][1], TARGET_EXPRESSIONS, people[:synced]))
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(10)
    print(f"(2) first resync of {synced} users to scim2-server: plain {plain_sync:.2f}s, "
          f"expressions {expression_sync:.2f}s")  # fmt: skip
    print(
        json.dumps(
            {
                "expressions_per_second": round(rate),
                "mapping_overhead_ratio": round(with_expressions / plain, 2),
                "resync_overhead_ratio": round(expression_sync / plain_sync, 3),
                "users_mapped": mapped,
                "users_synced": synced,
                "plain_mapping_s": round(plain, 3),
                "expression_mapping_s": round(with_expressions, 3),
                "plain_resync_s": round(plain_sync, 3),
                "expression_resync_s": round(expression_sync, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
