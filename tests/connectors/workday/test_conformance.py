"""The built-in Workday connector passes the conformance kit, against the simulator over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from provisync_sdk.testing import ConformanceTarget, InboundConformance
from provisync_workday.simulator import SimulatedTenant
from tests.connectors.workday.conftest import PASSWORD, USER

pytest_plugins = ["provisync_sdk.testing.conformance"]
REJECTED = "pending.process"  # a worker with a business process in progress


@pytest.fixture
def conformance_target(tenant: SimulatedTenant, base_url: str) -> ConformanceTarget:
    by_name: dict[str, str] = {}

    def seed_users(records: Sequence[Mapping[str, Any]]) -> None:
        for record in records:
            worker = tenant.hire(
                str(record.get("givenName") or "Seed"),
                str(record.get("familyName") or "Worker"),
                user_name=str(record["userName"]),
                email=record.get("email"),
            )
            by_name[str(record["userName"])] = worker.wid
            if record["userName"] == REJECTED:
                tenant.faults.pending_business_process.add(worker.wid)

    def change_user(user_name: str, changes: Mapping[str, Any]) -> None:
        fields = {"business_title": changes["title"]} if "title" in changes else {}
        tenant.change(by_name[user_name], **fields)

    return ConformanceTarget(
        connector_type="workday",
        settings={
            "base_url": base_url,
            "tenant": "acme",
            "username": USER,
            "page_size": 2,
            "retry_backoff": 0.01,
            "write_back_attributes": ["email", "phone"],
        },
        secrets={"password": PASSWORD},
        seed_users=seed_users,
        change_user=change_user,
        rejected_write_back_user_name=REJECTED,
        unreachable_settings={
            "base_url": "http://127.0.0.1:9",
            "tenant": "acme",
            "username": USER,
            "max_retries": 0,
        },
        write_back_values={"phone": "+1 555-0100", "email": "written.back@example.com"},
        timeout=20,
    )


class TestWorkdayConformance(InboundConformance):
    pass
