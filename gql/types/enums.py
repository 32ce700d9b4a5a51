"""GraphQL enums (names are part of the public contract)."""

from __future__ import annotations

from enum import Enum

import strawberry

from connectors import Action, Capability, DeprovisionAction, Direction, EntityKind, EntityState

SyncDirection = strawberry.enum(Direction, name="SyncDirection")
EntityKindEnum = strawberry.enum(EntityKind, name="EntityKind")
EntitySyncState = strawberry.enum(EntityState, name="EntitySyncState")
SyncAction = strawberry.enum(Action, name="SyncAction")
DeprovisionActionEnum = strawberry.enum(DeprovisionAction, name="DeprovisionAction")
ConnectorCapability = strawberry.enum(Capability, name="ConnectorCapability")


@strawberry.enum
class SyncStatus(Enum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    FAILED = "FAILED"


@strawberry.enum
class SyncRunStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.enum
class SyncRunKind(Enum):
    FULL = "FULL"
    INCREMENTAL = "INCREMENTAL"
    POLL = "POLL"
    WRITE_BACK = "WRITE_BACK"
    PREVIEW = "PREVIEW"
    RELEASE = "RELEASE"
    ON_DEMAND = "ON_DEMAND"
    RETRY = "RETRY"


@strawberry.enum
class EndpointKind(Enum):
    DIRECTORY = "DIRECTORY"
    CONNECTION = "CONNECTION"
