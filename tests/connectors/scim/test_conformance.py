"""The built-in SCIM connector passes the conformance kit, against scim2-server over HTTP."""

from __future__ import annotations

import pytest

from connectors.testing import ConformanceTarget, OutboundConformance
from tests.connectors.scim.conftest import REJECTED
from tests.connectors.scim.target import Control
from tests.support.servers import free_port
from tests.support.truth import ScimReader

pytest_plugins = ["connectors.testing.conformance"]


@pytest.fixture
def conformance_target(base_url: str, target: Control) -> ConformanceTarget:
    return ConformanceTarget(
        connector_type="scim",
        settings={"base_url": base_url, "backoff_base": 0.01, "group_membership": "overwrite"},
        count_writes=target.writes,
        rejected_user_name=REJECTED,
        unreachable_settings={"base_url": f"http://127.0.0.1:{free_port()}/v2", "max_retries": 0},
        timeout=20,
        truth_reader=ScimReader(base_url),
    )


class TestScimConformance(OutboundConformance):
    pass
