"""Demo data: a directory, real targets, rules, and a few realistic problems.

- Directory: 300 people in five departments and seven groups.
- "Workday → Directory": an enabled inbound rule from the Workday simulator, with write-back of
  email and phone; two write-backs fail the way they do in real tenants (a phone without a
  country code, a contact change while a business process is pending).
- "Directory → Acme SaaS": an enabled outbound rule to a real SCIM 2.0 server; the target
  rejects one account, and one account that existed there before differs while updates are off.
- "Directory → Staging": a disabled rule (its summary is hidden while disabled).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from provisync.demo.directory import GROUPS, demo_users
from provisync.demo.scim_target import build_scim_target_app, seed_existing_account
from provisync.engine.engine import RunKind
from provisync.engine.mapping import source_attributes
from provisync.engine.mapping_eval import compiled
from provisync.security.crypto import encrypt_secrets
from provisync.services import Services
from provisync.store.models import (
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
    ProvisioningConnection,
    Rule,
)
from provisync_scim.mapping import user_payload
from provisync_workday.simulator import SimulatedTenant, build_simulator_app

log = logging.getLogger("provisync.demo")
WORKDAY_USER, WORKDAY_PASSWORD = "isu_provisync", "demo-workday-password"
WORKDAY_WORKERS = 40


@dataclass
class DemoTargets:
    """The outside systems the demo serves from its own process."""

    base_url: str
    workday: SimulatedTenant
    scim_apps: dict[str, Any]

    @classmethod
    def create(cls, base_url: str) -> DemoTargets:
        tenant = SimulatedTenant("acme", {WORKDAY_USER: WORKDAY_PASSWORD})
        wids = tenant.generate(WORKDAY_WORKERS, domain="acme.example")
        # A contact change is already in progress for this worker: write-back will fail.
        tenant.faults.pending_business_process.add(wids[3])
        return cls(base_url=base_url, workday=tenant, scim_apps=_scim_apps())

    def routes(self) -> Iterator[tuple[str, Any]]:
        yield "/workday", build_simulator_app(self.workday)
        yield from self.scim_apps.items()


# Two people of the demo directory with a problem at the SCIM target: one account the target
# refuses, and one that existed there before provisync with another title.
REJECTED_AT_SCIM = demo_users()[1].user_name
LEGACY_AT_SCIM = demo_users()[2].user_name


def _scim_apps() -> dict[str, Any]:
    return {"/scim": build_scim_target_app(reject_user_names={REJECTED_AT_SCIM})}


async def _seed_directory(services: Services) -> None:
    async with services.db.session() as session:
        if await session.scalar(select(func.count()).select_from(DirectoryUser)):
            return
        users = [DirectoryUser(**vars(u)) for u in demo_users()]
        session.add_all(users)
        groups = {name: DirectoryGroup(display_name=name) for name in GROUPS}
        session.add_all(groups.values())
        await session.flush()
        for user in users:
            for name in (user.department, "All Staff"):
                group = groups.get(name or "")
                if group is not None:
                    session.add(GroupMembership(group_id=group.id or 0, user_id=user.id or 0))
        for user in users[::25]:
            session.add(GroupMembership(group_id=groups["On-call"].id or 0, user_id=user.id or 0))
        await session.commit()


async def _connection(
    services: Services,
    name: str,
    connector_type: str,
    settings: dict[str, Any],
    secrets: dict[str, Any],
) -> int:
    async with services.db.session() as session:
        row = await session.scalar(
            select(ProvisioningConnection).where(ProvisioningConnection.name == name)
        )
        if row is None:
            row = ProvisioningConnection(
                name=name,
                connector_type=connector_type,
                settings=settings,
                secrets=encrypt_secrets(secrets, services.settings),
            )
            session.add(row)
            await session.commit()
        return row.id or 0


async def _rule(services: Services, **fields: Any) -> tuple[int, bool]:
    async with services.db.session() as session:
        row = await session.scalar(select(Rule).where(Rule.name == fields["name"]))
        if row is not None:
            return row.id or 0, False
        row = Rule(**fields)
        session.add(row)
        await session.commit()
        return row.id or 0, True


async def seed_demo(services: Services, targets: DemoTargets) -> None:
    """Create the demo's data (once per database) and start the first resyncs."""
    await _seed_directory(services)
    engine = services.engine
    workday = await _connection(
        services,
        "Acme Workday",
        "workday",
        {
            "base_url": f"{targets.base_url}/workday",
            "tenant": "acme",
            "username": WORKDAY_USER,
            "page_size": 25,
            "write_back_attributes": ["email", "phone"],
        },
        {"password": WORKDAY_PASSWORD},
    )
    inbound, created = await _rule(
        services,
        name="Workday → Directory",
        enabled=True,
        direction="INBOUND",
        connection_id=workday,
        poll_interval_seconds=900,
    )
    if created:
        await engine.request_run(inbound, RunKind.FULL, actor="demo")
        await engine.wait_idle(timeout=120)
        await _seed_write_back_failures(services, inbound, targets.workday)
    if targets.scim_apps:
        await _seed_scim(services, targets)


async def _seed_write_back_failures(
    services: Services, rule_id: int, tenant: SimulatedTenant
) -> None:
    """Two directory edits whose write-back Workday refuses, for realistic reasons."""
    async with services.db.session() as session:
        users = list(
            await session.scalars(
                select(DirectoryUser)
                .where(DirectoryUser.source_rule_id == rule_id)
                .order_by(DirectoryUser.id)  # type: ignore[arg-type]
            )
        )
        if len(users) < 4:
            return
        pending = next(
            (u for u in users if u.source_key in tenant.faults.pending_business_process), users[3]
        )
        users[1].phone = "555-0199"  # no country code: Workday's phone validation refuses it
        pending.email = f"{pending.user_name}@new.acme.example"
        await session.commit()
        edits = {users[1].id or 0: {"phone"}, pending.id or 0: {"email"}}
    for user_id, fields in edits.items():
        services.engine.users_changed([user_id], fields)
    await services.engine.wait_idle(timeout=60)


async def _seed_scim(services: Services, targets: DemoTargets) -> None:
    scim = await _connection(
        services,
        "Acme SaaS (SCIM 2.0)",
        "scim",
        {"base_url": f"{targets.base_url}/scim/v2", "update_enabled": False},
        {},
    )
    async with services.db.session() as session:
        group_ids = list(
            await session.scalars(
                select(DirectoryGroup.id).where(
                    col(DirectoryGroup.display_name).in_(("Engineering", "On-call"))
                )
            )
        )
        sample = await session.scalar(
            select(DirectoryUser).where(DirectoryUser.user_name == LEGACY_AT_SCIM)
        )
    if sample is not None:
        # An account that exists at the target already, with another title; updates are off
        # for this connection, so it stays PARTIAL with the difference shown.
        existing = user_payload(
            {**compiled(None).evaluate(source_attributes(sample)).values, "title": "Contractor"}
        )
        existing.pop("userName", None)
        existing.pop("schemas", None)
        await seed_existing_account(targets.scim_apps["/scim"], sample.user_name, **existing)
    outbound, created = await _rule(
        services,
        name="Directory → Acme SaaS",
        enabled=True,
        direction="OUTBOUND",
        connection_id=scim,
        group_ids=group_ids,
        deprovision_action="DISABLE",
    )
    await _rule(
        services,
        name="Directory → Staging",
        enabled=False,
        direction="OUTBOUND",
        connection_id=scim,
        user_filter='department eq "Engineering"',
    )
    if created:
        await services.engine.request_run(outbound, RunKind.FULL, actor="demo")
        await services.engine.wait_idle(timeout=120)
