"""A Workday simulator: the Human_Resources SOAP contract served from an in-memory tenant.

It is a faithful peer for tests and the demo, reached over HTTP only::

    tenant = SimulatedTenant("acme")
    tenant.hire("Logan", "McNeil", email="lmcneil@example.com", user_name="lmcneil")
    app = build_simulator_app(tenant)
"""

from __future__ import annotations

from provisync_workday.simulator.app import build_simulator_app
from provisync_workday.simulator.model import (
    Email,
    FaultInjection,
    Phone,
    TransactionEntry,
    WorkerData,
)
from provisync_workday.simulator.tenant import SimulatedTenant

__all__ = [
    "Email",
    "FaultInjection",
    "Phone",
    "SimulatedTenant",
    "TransactionEntry",
    "WorkerData",
    "build_simulator_app",
]
