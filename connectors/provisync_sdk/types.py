"""Plain data that connectors and the engine exchange.

Connectors report what they saw and did with these types; the engine alone turns them into
stored states, audit events and summaries. Everything here is immutable and free of I/O.

User attributes use one canonical vocabulary (:data:`USER_ATTRIBUTES`), so a connector maps
only between that vocabulary and its own system's schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

if TYPE_CHECKING:
    from provisync_sdk.connector import Connector


class Direction(StrEnum):
    """Which way a rule moves identities."""

    INBOUND = "INBOUND"
    """From an outside system into the directory."""
    OUTBOUND = "OUTBOUND"
    """From the directory to an outside system."""


class EntityKind(StrEnum):
    """What kind of identity an entity is."""

    USER = "USER"
    GROUP = "GROUP"


class EntityState(StrEnum):
    """Where one impacted entity stands at the target (see DESIGN.md for exact meanings)."""

    SUCCESS = "SUCCESS"
    UNSYNCED = "UNSYNCED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"


class Action(StrEnum):
    """What a connector did (or would do) to one entity at the target."""

    NONE = "NONE"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DISABLE = "DISABLE"
    DELETE = "DELETE"
    WRITE_BACK = "WRITE_BACK"


class DeprovisionAction(StrEnum):
    """What happens at the target to an entity that leaves a rule's scope."""

    DISABLE = "DISABLE"
    DELETE = "DELETE"
    NOTHING = "NOTHING"


class Capability(StrEnum):
    """What a connector type can do."""

    USERS = "USERS"
    GROUPS = "GROUPS"
    WRITE_BACK = "WRITE_BACK"
    INCREMENTAL_READ = "INCREMENTAL_READ"
    PREVIEW = "PREVIEW"
    """Answers a dry-run reconcile (:attr:`ReconcileRequest.dry_run`) without writing."""


USER_ATTRIBUTES: tuple[str, ...] = (
    "userName",
    "givenName",
    "familyName",
    "displayName",
    "email",
    "phone",
    "title",
    "department",
    "employeeId",
    "manager",
    "active",
)
"""The canonical user attributes. ``userName`` and ``active`` are always present."""


@dataclass(frozen=True, slots=True)
class TargetAttribute:
    """An attribute a connector type accepts as a mapping target, beyond the canonical ones.

    :param name: the name mappings use (``costCenter``, or a SCIM extension attribute's
        full name ``urn:...:User:badge``); desired values and differences carry it.
    :param type: ``string``, ``boolean``, ``integer``, ``decimal``, ``dateTime`` or
        ``reference``.
    :param multi_valued: whether it holds a list.
    :param description: one line for consoles.
    """

    name: str
    type: str = "string"
    multi_valued: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class ConnectorType:
    """A kind of outside system a plugin can talk to.

    :param name: stable identifier stored with every provisioning connection (``scim``).
    :param title: human name shown in consoles.
    :param directions: the rule directions this connector can serve.
    :param capabilities: what the connector supports.
    :param settings_model: pydantic model validating a connection's settings; fields typed
        :class:`pydantic.SecretStr` are secrets: stored apart and never shown again.
    :param description: one paragraph for consoles.
    :param connector_class: the :class:`~provisync_sdk.connector.Connector` subclass the host
        creates for a connection of this type, as ``connector_class(settings, context)`` with
        settings already validated by ``settings_model``. A plugin that sets it needs no
        ``provisync_create_connector`` hook; one that leaves it ``None`` must implement that hook.
    :param target_attributes: what an outbound rule may map onto besides the canonical
        attributes (:data:`USER_ATTRIBUTES`); the host refuses mappings onto anything else.
    :param custom_target_pattern: a regular expression of further target names the connector
        accepts (the SCIM connector: attributes of custom schema extensions by full name).
    """

    name: str
    title: str
    directions: frozenset[Direction]
    capabilities: frozenset[Capability]
    settings_model: type[BaseModel]
    description: str = ""
    connector_class: type[Connector[Any]] | None = None
    target_attributes: tuple[TargetAttribute, ...] = ()
    custom_target_pattern: str | None = None

    @property
    def secret_fields(self) -> tuple[str, ...]:
        """Names of the settings fields that hold secrets."""
        return tuple(
            name
            for name, info in self.settings_model.model_fields.items()
            if _is_secret(info.annotation)
        )


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(arg is SecretStr for arg in getattr(annotation, "__args__", ()))


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What the host tells a connector instance about where it runs.

    :param connection_id: the provisioning connection's id, for log lines.
    :param connection_name: the provisioning connection's name, for log lines.
    :param request_timeout: seconds one outside request may take before it is abandoned.
    """

    connection_id: str
    connection_name: str
    request_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as read from a source system.

    :param key: the source's stable id for the user (a Workday WID, a directory id).
    :param attributes: canonical attributes (see :data:`USER_ATTRIBUTES`).
    :param effective_from: ISO date from which the record applies (future hires), if known.
    :param extension_attributes: named values besides the canonical attributes (a location,
        a cost centre, ...), stored as the directory user's extension attributes. A name whose
        value is ``None`` is removed from the user; names not reported are left alone.
    """

    key: str
    attributes: Mapping[str, Any]
    effective_from: str | None = None
    extension_attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def user_name(self) -> str:
        return str(self.attributes.get("userName") or "")

    @property
    def active(self) -> bool:
        return bool(self.attributes.get("active", True))


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A group member: its source key and, once known, its id at the target."""

    key: str
    target_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A group as read from a source system."""

    key: str
    display_name: str
    members: tuple[MemberRef, ...] = ()


@dataclass(frozen=True, slots=True)
class DesiredUser:
    """A user as the target should hold it after an outbound sync.

    :param key: the directory's id for the user.
    :param attributes: the rule's mapped canonical attributes: every attribute the rule manages.
        A managed attribute whose value is ``None`` is desired *absence*: the target must not
        hold a value for it (a cleared phone is removed at the target). An attribute not in
        the mapping at all is not managed: neither compared nor written.
    :param target_id: the account id at the target from the last sync, if any (a hint).
    :param create_only: managed attributes written only when the account is created (a rule's
        "on create only" mappings): sent in the create, never compared or updated after.
    """

    key: str
    attributes: Mapping[str, Any]
    target_id: str | None = None
    create_only: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DesiredGroup:
    """A group as the target should hold it; members carry known target ids.

    :param managed_members: the target ids of the members provisync put in (or kept in) this
        group at the target by earlier syncs, as the connector last reported them in
        :attr:`EntityOutcome.managed_members`. Under a ``merge`` membership a connector removes
        the managed members that are no longer wanted and leaves every other member alone.
    """

    key: str
    display_name: str
    members: tuple[MemberRef, ...] = ()
    target_id: str | None = None
    managed_members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Removal:
    """An entity that left the rule's scope, to be deprovisioned at the target."""

    kind: EntityKind
    key: str
    target_id: str | None
    action: DeprovisionAction
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReconcileRequest:
    """One batch of outbound work. Users come before groups so members can be resolved.

    :param matching_attributes: see the attribute.
    :param dry_run: report what the reconcile would do and write nothing (a preview). Sent
        only to connector types with :attr:`Capability.PREVIEW`. The connector may read the
        target (discovery, lookups, listing) but sends no write of any kind; it answers one
        outcome per entity as the real call would: ``action`` what it would do, ``state`` the
        state the entity would then be in, ``target_id`` of a matched account, and for an
        UPDATE the ``differences`` it would change (source value: desired; target value:
        current).
    """

    users: Sequence[DesiredUser] = ()
    groups: Sequence[DesiredGroup] = ()
    removals: Sequence[Removal] = ()
    dry_run: bool = False
    matching_attributes: tuple[str, ...] = ()
    """The rule's matching attributes, in the order to try them (empty: the connector's own
    choice). A connector that matches on one attribute uses the first it supports."""


@dataclass(frozen=True, slots=True)
class AttributeDifference:
    """One attribute that differs between source and target. Never holds a secret."""

    attribute: str
    source_value: str | None
    target_value: str | None


@dataclass(frozen=True, slots=True)
class EntityOutcome:
    """What happened to one entity: the state it is in now, and why.

    :param kind: user or group.
    :param key: the entity's source key.
    :param state: its state at the target after the operation.
    :param action: what was done (or :attr:`Action.NONE`).
    :param reason: why it is not SUCCESS (HTTP status and detail, SOAP fault text, ...).
    :param differences: for PARTIAL, the attributes that differ.
    :param target_id: the entity's id at the target, when it has one.
    :param removed: the entity was deprovisioned and leaves the rule's states.
    :param managed_members: for a group, the target ids of the members the connector now
        manages in it (the engine stores them and hands them back in
        :attr:`DesiredGroup.managed_members`); ``None`` keeps what was stored.
    """

    kind: EntityKind
    key: str
    state: EntityState
    action: Action = Action.NONE
    reason: str | None = None
    differences: tuple[AttributeDifference, ...] = ()
    target_id: str | None = None
    removed: bool = False
    managed_members: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ReadPage:
    """One page of a source read.

    :param records: the entities read on this page.
    :param failures: entities the connector could not read or parse, as FAILED outcomes.
    :param watermark: where the next incremental read starts; the last page's wins.
    :param total: how many entities the whole read returns, when the source says.
    """

    records: Sequence[UserRecord | GroupRecord] = ()
    failures: Sequence[EntityOutcome] = ()
    watermark: str | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class WriteBackRequest:
    """Directory changes to write back to the source for one user."""

    key: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WriteBackOutcome:
    """The result of one user's write-back; ``reason`` says why it failed."""

    key: str
    ok: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionTestResult:
    """Whether a connection's URL and credentials work, and what the target supports."""

    ok: bool
    message: str
    details: Mapping[str, str] = field(default_factory=dict)
