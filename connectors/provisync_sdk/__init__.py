"""provisync's connector plugin SDK.

A plugin imports only from here::

    from provisync_sdk import hookimpl, Connector, ConnectorType, EntityOutcome, ...

and is registered through an entry point in the ``provisync`` group. See ``docs/plugins.md``.
"""

from __future__ import annotations

from provisync_sdk.connector import Connector
from provisync_sdk.errors import (
    UNCONFIRMED,
    AuthenticationFailed,
    ConnectorError,
    RunFailure,
    TargetUnreachable,
    UnsupportedOperation,
)
from provisync_sdk.markers import NAME, hookimpl, hookspec
from provisync_sdk.types import (
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
    TargetAttribute,
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
    "Removal",
    "RunFailure",
    "TargetAttribute",
    "TargetUnreachable",
    "UnsupportedOperation",
    "UserRecord",
    "WriteBackOutcome",
    "WriteBackRequest",
    "hookimpl",
    "hookspec",
]
