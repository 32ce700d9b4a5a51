"""A rule's mappings as given to createRule and updateRule, checked before anything is saved.

``mappings`` (entries) is the input; the deprecated ``attributeMappings`` (canonical
attribute -> directory field) is still taken and turned into entries.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import strawberry

from provisync.api.types.mapping import AttributeMappingInput
from provisync.engine.mapping import (
    DEFAULT_FIELDS,
    InvalidMapping,
    Targets,
    default_mappings,
    entries_from_legacy,
    validate_mappings,
)
from provisync_sdk import USER_ATTRIBUTES, ConnectorType, Direction

Problems = list[tuple[str, str]]


def _legacy(given: Any) -> list[dict[str, Any]] | Problems:
    if not isinstance(given, Mapping):
        return [("attributeMappings", "must be a JSON object")]
    for attribute, column in given.items():
        if attribute not in USER_ATTRIBUTES:
            known = ", ".join(USER_ATTRIBUTES)
            return [("attributeMappings", f"unknown attribute {attribute!r}; known: {known}")]
        if column not in DEFAULT_FIELDS.values():
            known = ", ".join(sorted(DEFAULT_FIELDS.values()))
            return [("attributeMappings", f"unknown directory field {column!r}; known: {known}")]
    return entries_from_legacy(given)


def given_mappings(
    entries: list[AttributeMappingInput] | Any | None, legacy: Any, current: list[dict[str, Any]]
) -> list[dict[str, Any]] | Problems:
    """The entries a create or update asks for (``current`` when it asks for no change).

    :return: the entries, or problems with the deprecated input's shape.
    """
    if entries is not strawberry.UNSET and entries is not None:
        return [e.as_json() for e in entries]
    if legacy is not strawberry.UNSET and legacy is not None:
        return _legacy(legacy)
    if entries is None or legacy is None:
        return default_mappings()  # asked for explicitly: back to the defaults
    return current


def targets_of(ctype: ConnectorType) -> Targets:
    """What an outbound rule to this connector type may map onto."""
    names = frozenset(t.name for t in ctype.target_attributes)
    return Targets(names, ctype.custom_target_pattern)


def check_mappings(
    ctype: ConnectorType, direction: Direction, entries: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], Problems]:
    """Validate entries against the direction and the connector's targets (expressions
    compiled); return them as stored and the problems found."""
    try:
        checked = validate_mappings(
            entries, inbound=direction is Direction.INBOUND, targets=targets_of(ctype)
        )
    except InvalidMapping as exc:
        return entries, exc.problems
    return checked, []


def _declared_only_by_pattern(ctype: ConnectorType, entries: list[dict[str, Any]]) -> list[str]:
    static = {t.name for t in ctype.target_attributes}
    return [
        str(e["target"])
        for e in entries
        if e["target"] not in USER_ATTRIBUTES and e["target"] not in static
    ]


async def confirm_with_target(
    services: Any, connection: Any, ctype: ConnectorType, entries: list[dict[str, Any]]
) -> Problems:
    """Ask the target whether it has the attributes only the type's pattern admits (a SCIM
    target's custom extension attributes, from its ``/Schemas``)."""
    wanted = _declared_only_by_pattern(ctype, entries)
    if not wanted:
        return []
    from provisync.engine.context import ConnectorUnavailable, open_connector

    where = {str(e["target"]): f"mappings[{i}].target" for i, e in enumerate(entries)}
    try:
        connector = open_connector(services.registry, connection, services.settings.request_timeout)
    except ConnectorUnavailable as exc:
        return [(where[wanted[0]], f"cannot ask the target about {wanted[0]!r}: {exc}")]
    try:
        declared = await asyncio.wait_for(
            connector.target_attributes(), services.settings.connector_timeout
        )
    except Exception as exc:  # unreachable, refused, timed out, or a plugin's own error
        reason = str(exc) or "the target did not answer in time"
        return [(where[wanted[0]], f"cannot read the target's attributes to check it: {reason}")]
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connector.aclose(), 5)
    if declared is None:
        return []  # the target cannot tell: the connector type's pattern is all we know
    names = {a.name for a in declared}
    return [
        (where[name], f"the target's schema has no attribute {name!r}; it declares: "
         f"{', '.join(sorted(names)) or 'none'}")
        for name in wanted
        if name not in names
    ]  # fmt: skip
