"""The connector conformance kit: standard scenarios a connector plugin's tests turn on.

In the plugin's ``conftest.py``::

    pytest_plugins = ["provisync_sdk.testing.conformance"]

    @pytest.fixture
    def conformance_target() -> ConformanceTarget:
        return ConformanceTarget(connector_type="mytype", settings={...})

and in a test module::

    class TestMyConnector(ConnectorConformance):
        pass

See ``docs/plugins.md``.
"""

from __future__ import annotations

from provisync_sdk.testing.session import Kit, KitSession
from provisync_sdk.testing.suite import (
    ConnectorConformance,
    InboundConformance,
    OutboundConformance,
)
from provisync_sdk.testing.target import ConformanceTarget

__all__ = [
    "ConformanceTarget",
    "ConnectorConformance",
    "InboundConformance",
    "Kit",
    "KitSession",
    "OutboundConformance",
]
