"""The fault mixes of issue 13, shared by the scenario tests and ``bench/truth.py``.

Each mix sets up the proxy and answers the connection settings it needs: one request per
user (no /Bulk), so a fraction of requests is a fraction of users.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.faults import FaultProxy, FaultRule

# One request per user, so a fraction of requests is a fraction of users.
PER_REQUEST = {"use_bulk": False, "concurrency": 8}


def throttled(proxy: FaultProxy) -> dict[str, Any]:
    proxy.add(
        FaultRule("429", fraction=0.1, retry_after="0"),
        FaultRule("503", fraction=0.1, retry_after="0"),
    )
    return PER_REQUEST


def hangs(proxy: FaultProxy) -> dict[str, Any]:
    proxy.hang_seconds = 2.0
    proxy.add(
        FaultRule("hang_forward", method="POST", path="/Groups", nth=1),  # a lost group create
        FaultRule("hang_forward", path="/Users|/Groups", fraction=0.1),
    )
    # long enough for a clean listing of 1,000 users on a busy machine, short next to a hang
    return {**PER_REQUEST, "request_timeout": 1.0}


def garbage(proxy: FaultProxy) -> dict[str, Any]:
    for fault in ("invalid_json", "html", "truncated", "not_scim"):
        proxy.add(FaultRule(fault, path="/Users|/Groups", fraction=0.025))
    return PER_REQUEST


def refused(proxy: FaultProxy) -> dict[str, Any]:
    return PER_REQUEST  # the target itself refuses REFUSED with a 400, every time


def killed(proxy: FaultProxy) -> dict[str, Any]:
    proxy.add(FaultRule("down", method="POST", path="/Users", nth=60, back_after=1.5))
    return {**PER_REQUEST, "max_retries": 1}


MIXES: dict[str, Callable[[FaultProxy], dict[str, Any]]] = {
    "throttled": throttled,
    "hangs": hangs,
    "garbage": garbage,
    "refused": refused,
    "killed": killed,
}
