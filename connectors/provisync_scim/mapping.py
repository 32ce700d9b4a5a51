"""Target attributes to SCIM and back, comparison, and PATCH operations.

Only the attributes present in a desired user are managed: an attribute the rule does not map
is neither compared nor written. ``manager`` is not mapped (it needs the manager's target id).
Besides the canonical attributes, the enterprise extension's ``costCenter``, ``organization``
and ``division``, and attributes of custom schema extensions named in full
(``urn:...:User:badgeId``), are written into their extension and PATCHed by their full path.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from scim2_models import EnterpriseUser, Group, PatchOp, User

USER_SCHEMA = str(User.__schema__)
GROUP_SCHEMA = str(Group.__schema__)
PATCH_SCHEMA = str(PatchOp.__schema__)
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ENTERPRISE = str(EnterpriseUser.__schema__)

PATHS: dict[str, str] = {
    "userName": "userName",
    "givenName": "name.givenName",
    "familyName": "name.familyName",
    "displayName": "displayName",
    "email": "emails",
    "phone": "phoneNumbers",
    "title": "title",
    "department": f"{ENTERPRISE}:department",
    "employeeId": f"{ENTERPRISE}:employeeNumber",
    "costCenter": f"{ENTERPRISE}:costCenter",
    "organization": f"{ENTERPRISE}:organization",
    "division": f"{ENTERPRISE}:division",
    "active": "active",
}
"""Canonical attribute -> SCIM attribute path (RFC 7644 §3.10) it is written with."""

MANAGED: tuple[str, ...] = tuple(PATHS)
CASE_INSENSITIVE = frozenset({"userName", "email"})
ENTERPRISE_ATTRIBUTES = frozenset(
    {"department", "employeeId", "costCenter", "organization", "division"}
)
CUSTOM = re.compile(r"^(urn:[A-Za-z0-9][A-Za-z0-9:._-]*):([A-Za-z][A-Za-z0-9_]*)$")
"""A custom extension attribute's full name: its schema URN, a colon, the attribute."""


def is_custom(name: str) -> bool:
    return name not in PATHS and CUSTOM.match(name) is not None


def path_of(name: str) -> str:
    """The SCIM attribute path a target attribute is written with (RFC 7644 §3.10)."""
    return PATHS.get(name) or name


def _extension_of(name: str) -> tuple[str, str] | None:
    """(schema, key) of an attribute kept in an extension, else None."""
    if name in ENTERPRISE_ATTRIBUTES:
        return ENTERPRISE, PATHS[name].rsplit(":", 1)[1]
    found = CUSTOM.match(name) if name not in PATHS else None
    return (found.group(1), found.group(2)) if found else None


def managed(attributes: Mapping[str, Any]) -> list[str]:
    """The target attributes of a desired user this connector writes, in a stable order."""
    known = [name for name in MANAGED if name in attributes]
    return known + sorted(name for name in attributes if is_custom(name))


def _typed_value(entries: Any) -> str | None:
    """The work entry of a multi-valued attribute, else the primary one, else the first."""
    if not isinstance(entries, list):
        return None
    items = [e for e in entries if isinstance(e, dict)]
    for pick in (
        lambda e: e.get("type") == "work",
        lambda e: bool(e.get("primary")),
        lambda e: True,
    ):
        for entry in items:
            if pick(entry):
                value = entry.get("value")
                return None if value is None else str(value)
    return None


def read(resource: Mapping[str, Any], attribute: str) -> Any:
    """A canonical attribute's value in a SCIM user resource (``None`` when absent)."""
    if attribute in ("email", "phone"):
        return _typed_value(resource.get(PATHS[attribute]))
    if attribute in ("givenName", "familyName"):
        name = resource.get("name")
        return name.get(attribute) if isinstance(name, dict) else None
    extension_key = _extension_of(attribute)
    if extension_key is not None:
        schema, key = extension_key
        extension = resource.get(schema)
        return extension.get(key) if isinstance(extension, dict) else None
    if attribute == "active":
        value = resource.get("active")
        return True if value is None else value  # many targets do not keep `active`
    return resource.get(attribute)


def normalise(attribute: str, value: Any) -> Any:
    """A value as compared: blanks are absent, names and emails compare case-insensitively."""
    if attribute == "active":
        if isinstance(value, str):
            return value.strip().lower() not in ("false", "0", "no", "")
        return bool(value) if value is not None else True
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    return text.lower() if attribute in CASE_INSENSITIVE else text


def differing(desired: Mapping[str, Any], resource: Mapping[str, Any]) -> list[str]:
    """The managed attributes whose desired value the resource does not hold."""
    return [
        name
        for name in managed(desired)
        if normalise(name, desired[name]) != normalise(name, read(resource, name))
    ]


def shown(value: Any) -> str | None:
    """A value as shown in an :class:`provisync_sdk.AttributeDifference`."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _set_typed(entries: Any, value: str | None) -> list[dict[str, Any]]:
    items = [dict(e) for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    work = next((e for e in items if e.get("type") == "work"), None)
    if work is None and items and all(not e.get("type") for e in items):
        work = items[0]  # an untyped single entry is the one we read, so it is the one we set
    if value is None:
        return [e for e in items if e is not work]
    if work is not None:
        work["value"] = value
        work.setdefault("type", "work")
        return items
    return [
        *items,
        {"value": value, "type": "work", "primary": not any(e.get("primary") for e in items)},
    ]


def apply(
    resource: Mapping[str, Any], attributes: Mapping[str, Any], names: Iterable[str]
) -> dict[str, Any]:
    """A copy of ``resource`` holding the desired values of ``names``."""
    result: dict[str, Any] = copy.deepcopy(dict(resource))
    for name in names:
        raw = attributes.get(name)
        value: Any = (
            normalise(name, raw)
            if name == "active"
            else (None if shown(raw) is None else str(raw).strip())
        )
        if name in ("email", "phone"):
            entries = _set_typed(result.get(PATHS[name]), value)
            if entries:
                result[PATHS[name]] = entries
            else:
                result.pop(PATHS[name], None)
        elif name in ("givenName", "familyName"):
            _set_in(result, "name", name, value)
        elif (extension_key := _extension_of(name)) is not None:
            schema, key = extension_key
            _set_in(result, schema, key, raw if is_custom(name) and shown(raw) else value)
            schemas = list(result.get("schemas") or [USER_SCHEMA])
            if schema in result and schema not in schemas:
                result["schemas"] = [*schemas, schema]
        elif value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def _set_in(resource: dict[str, Any], parent: str, key: str, value: Any) -> None:
    holder = resource.get(parent)
    holder = dict(holder) if isinstance(holder, dict) else {}
    if value is None:
        holder.pop(key, None)
    else:
        holder[key] = value
    if holder:
        resource[parent] = holder
    else:
        resource.pop(parent, None)


def user_payload(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a ``POST /Users`` for a desired user."""
    return apply({"schemas": [USER_SCHEMA]}, attributes, managed(attributes))


def patch_operations(updated: Mapping[str, Any], names: Iterable[str]) -> list[dict[str, Any]]:
    """PATCH operations setting ``names`` to the values ``updated`` holds (remove when absent).

    Multi-valued attributes (emails, phoneNumbers) are replaced whole, with the target's other
    entries kept, since filtered paths (``emails[type eq "work"]``) are poorly supported.
    """
    operations: list[dict[str, Any]] = []
    for name in names:
        path = path_of(name)
        if name in ("email", "phone", "active"):
            value = updated.get(path)
        else:
            value = read(updated, name)
        if value is None:
            operations.append({"op": "remove", "path": path})
        else:
            operations.append({"op": "replace", "path": path, "value": value})
    return operations


def put_body(updated: Mapping[str, Any]) -> dict[str, Any]:
    """A full replacement of a resource: read-only ``meta`` left out."""
    return {k: v for k, v in updated.items() if k != "meta"}


def group_payload(display_name: str, member_ids: Iterable[str]) -> dict[str, Any]:
    """The body of a ``POST /Groups``."""
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": display_name,
        "members": [{"value": member} for member in sorted(member_ids)],
    }


def member_ids(group: Mapping[str, Any]) -> set[str]:
    """The ids of a group resource's members."""
    members = group.get("members")
    if not isinstance(members, list):
        return set()
    return {str(m["value"]) for m in members if isinstance(m, dict) and m.get("value")}
