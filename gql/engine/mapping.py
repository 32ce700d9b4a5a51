"""Attribute mappings between directory users and the SDK's canonical attributes.

A rule's ``attribute_mappings`` maps a canonical attribute (the connector's side) to a
directory field; unmapped canonical attributes use the default field of the same meaning.
``userName`` and ``active`` are always mapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors import USER_ATTRIBUTES
from gql.store.models import DirectoryUser

DEFAULT_FIELDS: dict[str, str] = {
    "userName": "user_name",
    "givenName": "given_name",
    "familyName": "family_name",
    "displayName": "display_name",
    "email": "email",
    "phone": "phone",
    "title": "title",
    "department": "department",
    "employeeId": "employee_id",
    "manager": "manager",
    "active": "active",
}
DIRECTORY_FIELDS = frozenset(DEFAULT_FIELDS.values())
REQUIRED = ("userName", "active")


class InvalidMapping(ValueError):
    """A mapping names an attribute or a field that does not exist."""


def validate_mappings(mappings: Mapping[str, str]) -> dict[str, str]:
    """Check a rule's mappings and return them as a plain dict.

    :raises InvalidMapping: unknown canonical attribute or directory field.
    """
    for attribute, field in mappings.items():
        if attribute not in USER_ATTRIBUTES:
            raise InvalidMapping(
                f"unknown attribute {attribute!r}; known: {', '.join(USER_ATTRIBUTES)}"
            )
        if field not in DIRECTORY_FIELDS:
            raise InvalidMapping(
                f"unknown directory field {field!r}; known: {', '.join(sorted(DIRECTORY_FIELDS))}"
            )
    return dict(mappings)


def field_map(mappings: Mapping[str, str]) -> dict[str, str]:
    """Canonical attribute → directory field, defaults filled in."""
    return {**DEFAULT_FIELDS, **mappings}


def canonical_attributes(user: DirectoryUser, mappings: Mapping[str, str]) -> dict[str, Any]:
    """The canonical attributes of a directory user under a rule's mappings.

    Every mapped attribute is present: an empty value (``None`` or blank) is ``None``, which
    connectors take as desired absence (a cleared phone is removed at the target).
    """
    out: dict[str, Any] = {}
    for attribute, field in field_map(mappings).items():
        value = getattr(user, field)
        out[attribute] = None if value is None or value == "" else value
    out["active"] = bool(user.active)
    return out


def source_attributes(user: DirectoryUser) -> dict[str, Any]:
    """A directory user as a source: its fields by canonical name (blank is ``None``) and its
    extension attributes under ``ext``. Scope filters and mapping expressions read these."""
    out: dict[str, Any] = {}
    for attribute, column in DEFAULT_FIELDS.items():
        value = getattr(user, column)
        out[attribute] = None if value is None or value == "" else value
    out["active"] = bool(user.active)
    out["ext"] = dict(user.extension_attributes or {})
    return out


def directory_values(attributes: Mapping[str, Any], mappings: Mapping[str, str]) -> dict[str, Any]:
    """Directory field values for canonical attributes read from a source (inbound)."""
    fields = field_map(mappings)
    return {fields[name]: value for name, value in attributes.items() if name in fields}


def display_name_of(user: DirectoryUser) -> str:
    full = " ".join(part for part in (user.given_name, user.family_name) if part)
    return user.display_name or full or user.user_name
