"""The connector instance contract: one configured connection to one outside system.

A plugin's :func:`~provisync_sdk.hookspecs.provisync_create_connector` returns a subclass of
:class:`Connector`. The engine calls its coroutines with a timeout of its own; a method the
connector type does not support raises :class:`~provisync_sdk.errors.UnsupportedOperation`
(the defaults here do).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel

from provisync_sdk.errors import UnsupportedOperation
from provisync_sdk.types import (
    ConnectionTestResult,
    ConnectorContext,
    EntityKind,
    EntityOutcome,
    ReadPage,
    ReconcileRequest,
    TargetAttribute,
    WriteBackOutcome,
    WriteBackRequest,
)

SettingsT = TypeVar("SettingsT", bound=BaseModel)


class Connector(Generic[SettingsT]):
    """Base class of connector instances.

    :param settings: the connection's validated settings, secrets included.
    :param context: where the instance runs (ids for logs, the request timeout).
    """

    def __init__(self, settings: SettingsT, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context

    async def test_connection(self) -> ConnectionTestResult:
        """Check that the URL answers and the credentials are accepted.

        :return: whether it works, a message for people, and what the target supports.
        """
        raise UnsupportedOperation("this connector cannot test its connection")

    def read(self, kind: EntityKind, watermark: str | None = None) -> AsyncIterator[ReadPage]:
        """Read the entities of one kind from the source, page by page.

        :param kind: users or groups.
        :param watermark: ``None`` for a full read; else the watermark of a previous read,
            to read only what changed since (connectors with ``INCREMENTAL_READ``).
        :return: an async iterator of pages; the last page carries the new watermark.
        :raises RunFailure: when the source cannot be read as a whole.
        """
        raise UnsupportedOperation("this connector cannot read from its system")

    async def reconcile(self, request: ReconcileRequest) -> Sequence[EntityOutcome]:
        """Make the target hold the desired entities, and deprovision the removals.

        With ``request.dry_run`` set (only for connector types declaring
        :attr:`~provisync_sdk.types.Capability.PREVIEW`), write nothing and report what would be
        done instead (see :class:`~provisync_sdk.types.ReconcileRequest`).

        :param request: one batch of desired users, groups and removals.
        :return: one outcome per entity of the request, in any order.
        :raises RunFailure: when the target fails as a whole (unreachable, unauthorized).
        """
        raise UnsupportedOperation("this connector cannot write to its system")

    async def write_back(self, requests: Sequence[WriteBackRequest]) -> Sequence[WriteBackOutcome]:
        """Write directory changes back to the source (connectors with ``WRITE_BACK``).

        :param requests: per user, the canonical attributes to write back.
        :return: one outcome per request.
        :raises RunFailure: when the source fails as a whole.
        """
        raise UnsupportedOperation("this connector cannot write back")

    def write_back_attributes(self) -> frozenset[str]:
        """The canonical attributes this connection writes back to its source.

        The engine calls :meth:`write_back` when one of these changes in the directory, and an
        inbound sync leaves them as the directory holds them (the directory is their authority).

        :return: canonical attribute names; empty (the default) when nothing writes back.
        """
        return frozenset()

    async def target_attributes(self) -> Sequence[TargetAttribute] | None:
        """The attributes this connection's target accepts beyond the canonical ones, as the
        target itself declares them (a SCIM target's ``/Schemas``).

        The host asks when a rule maps onto a name that only the connector type's
        :attr:`~provisync_sdk.types.ConnectorType.custom_target_pattern` admits, and refuses the
        mapping when the answer does not list it.

        :return: the attributes, or ``None`` (the default) when the target cannot tell.
        :raises RunFailure: when the target cannot be reached or refuses the credentials.
        """
        return None

    async def aclose(self) -> None:
        """Release sessions and sockets. Called once when the engine is done with the instance."""
