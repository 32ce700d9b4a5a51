"""provisync's connector plugin SDK.

A plugin imports only from here::

    from connectors import hookimpl, Connector, ConnectorType, EntityOutcome, ...

and is registered through an entry point in the ``provisync`` group. See ``docs/plugins.md``.
"""

from __future__ import annotations

from connectors.connector import Connector
from connectors.errors import (
    UNCONFIRMED,
    AuthenticationFailed,
    ConnectorError,
    RunFailure,
    TargetUnreachable,
    UnsupportedOperation,
)
from connectors.manager import ConnectorRegistry, RegisteredType, get_plugin_manager
from connectors.markers import NAME, hookimpl, hookspec
from connectors.types import (
    USER_ATTRIBUTES,
    Action,
    AttributeDifference,
    Capability,
    ConnectionTestResult,
    ConnectorContext,
    ConnectorType,
    DeprovisionAction,
    DesiredGroup,
    DesiredUser,
    Direction,
    EntityKind,
    EntityOutcome,
    EntityState,
    GroupRecord,
    MemberRef,
    ReadPage,
    ReconcileRequest,
    Removal,
    UserRecord,
    WriteBackOutcome,
    WriteBackRequest,
)

__all__ = [
    "NAME",
    "UNCONFIRMED",
    "USER_ATTRIBUTES",
    "Action",
    "AttributeDifference",
    "AuthenticationFailed",
    "Capability",
    "ConnectionTestResult",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "ConnectorRegistry",
    "ConnectorType",
    "DeprovisionAction",
    "DesiredGroup",
    "DesiredUser",
    "Direction",
    "EntityKind",
    "EntityOutcome",
    "EntityState",
    "GroupRecord",
    "MemberRef",
    "ReadPage",
    "ReconcileRequest",
    "RegisteredType",
    "Removal",
    "RunFailure",
    "TargetUnreachable",
    "UnsupportedOperation",
    "UserRecord",
    "WriteBackOutcome",
    "WriteBackRequest",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
]
