"""A Workday simulator: the Human_Resources SOAP contract served from an in-memory tenant.

It is a faithful peer for tests and the demo, reached over HTTP only::

    tenant = SimulatedTenant("acme")
    tenant.hire("Logan", "McNeil", email="lmcneil@example.com", user_name="lmcneil")
    app = build_simulator_app(tenant)
"""

from __future__ import annotations

from connectors.workday.simulator.app import build_simulator_app
from connectors.workday.simulator.model import (
    Email,
    FaultInjection,
    Phone,
    TransactionEntry,
    WorkerData,
)
from connectors.workday.simulator.tenant import SimulatedTenant

__all__ = [
    "Email",
    "FaultInjection",
    "Phone",
    "SimulatedTenant",
    "TransactionEntry",
    "WorkerData",
    "build_simulator_app",
]
