"""A rule's attribute mappings: a list of entries, each giving one target attribute its value.

An entry names the ``target`` attribute, where its value comes from (``source``: ``FIELD``,
a source attribute such as ``givenName`` or ``ext.costCenter``; ``CONSTANT``, a JSON value;
``EXPRESSION``, a CEL expression, see :mod:`provisync.engine.expressions`), when it applies
(``ALWAYS``, or ``ON_CREATE``: written when the account is created, never compared or
updated after), and whether it is a matching attribute (``matching``, tried in
``matchingOrder``). Only the listed targets are managed: an attribute no entry names is
neither compared nor written. ``userName`` and ``active`` are always mapped: when no entry
names them, their default entries are added.

Outbound rules map onto the connector's attributes: the canonical vocabulary and whatever
the connector type declares (:attr:`provisync_sdk.ConnectorType.target_attributes`). Inbound
rules map source fields onto directory attributes (canonical names or ``ext.NAME``), with
``FIELD`` entries only.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from provisync.engine.expressions import ExpressionError, compile_expression
from provisync.engine.extensions import NAME as EXTENSION_NAME
from provisync.store.models import DirectoryUser
from provisync_sdk import USER_ATTRIBUTES

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
"""Canonical attribute -> directory column."""
COLUMN_ATTRIBUTES = {column: attribute for attribute, column in DEFAULT_FIELDS.items()}
REQUIRED = ("userName", "active")
EXTENSION_PREFIX = "ext."
MAX_ENTRIES = 200


class Source(StrEnum):
    FIELD = "FIELD"
    CONSTANT = "CONSTANT"
    EXPRESSION = "EXPRESSION"


class Applies(StrEnum):
    ALWAYS = "ALWAYS"
    ON_CREATE = "ON_CREATE"


class InvalidMapping(ValueError):
    """Mappings that cannot be saved; ``problems`` holds (field path, why) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {why}" for where, why in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class MappingEntry:
    """One target attribute and where its value comes from."""

    target: str
    source: Source
    value: Any
    applies: Applies = Applies.ALWAYS
    matching: bool = False
    matching_order: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": self.source.value,
            "value": self.value,
            "applies": self.applies.value,
            "matching": self.matching,
            "matchingOrder": self.matching_order,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MappingEntry:
        return cls(
            target=str(data["target"]),
            source=Source(data.get("source", "FIELD")),
            value=data.get("value"),
            applies=Applies(data.get("applies") or "ALWAYS"),
            matching=bool(data.get("matching")),
            matching_order=data.get("matchingOrder"),
        )


def _field(attribute: str) -> MappingEntry:
    matching = attribute == "userName"
    order = 1 if matching else None
    return MappingEntry(attribute, Source.FIELD, attribute, matching=matching, matching_order=order)


DEFAULT_ENTRIES: tuple[MappingEntry, ...] = tuple(_field(a) for a in DEFAULT_FIELDS)


def default_mappings() -> list[dict[str, Any]]:
    """The default entries as stored: every canonical attribute from its own field."""
    return [e.as_json() for e in DEFAULT_ENTRIES]


def entries_from_legacy(mappings: Mapping[str, str]) -> list[dict[str, Any]]:
    """Today's ``{canonical attribute: directory column}`` overrides as full entries."""
    entries = []
    for entry in DEFAULT_ENTRIES:
        column = mappings.get(entry.target)
        attribute = COLUMN_ATTRIBUTES.get(column, entry.target) if column else entry.target
        entries.append({**entry.as_json(), "value": attribute})
    return entries


def entries_of(stored: Sequence[Mapping[str, Any]] | None) -> list[MappingEntry]:
    """A rule's stored entries (none stored: the defaults), required ones completed."""
    entries = [MappingEntry.from_json(e) for e in stored] if stored else list(DEFAULT_ENTRIES)
    named = {e.target for e in entries}
    entries += [_field(a) for a in REQUIRED if a not in named]
    return entries


def is_source_field(name: str) -> bool:
    """A name a ``FIELD`` entry may read: a canonical attribute or ``ext.NAME``."""
    if name.startswith(EXTENSION_PREFIX):
        return bool(EXTENSION_NAME.match(name[len(EXTENSION_PREFIX) :]))
    return name in USER_ATTRIBUTES


@dataclass(frozen=True, slots=True)
class Targets:
    """What an outbound rule's connector accepts as target attributes."""

    names: frozenset[str]
    pattern: str | None = None

    def accepts(self, name: str) -> bool:
        if name in USER_ATTRIBUTES or name in self.names:
            return True
        return bool(self.pattern and re.fullmatch(self.pattern, name))

    def known(self) -> str:
        listed = ", ".join(sorted({*USER_ATTRIBUTES, *self.names}))
        return listed + (f", and names matching {self.pattern}" if self.pattern else "")


def _entry(index: int, data: Any, inbound: bool, targets: Targets) -> MappingEntry:
    where = f"mappings[{index}]"
    if not isinstance(data, Mapping):
        raise InvalidMapping([(where, "must be an object")])
    try:
        entry = MappingEntry.from_json(data)
    except (KeyError, ValueError) as exc:
        raise InvalidMapping([(where, f"needs target, source and value ({exc})")]) from None
    if entry.applies is Applies.ON_CREATE and inbound:
        raise InvalidMapping([(f"{where}.applies", "inbound rules apply every entry always")])
    if inbound:
        if entry.target not in DEFAULT_FIELDS:
            raise InvalidMapping(
                [(f"{where}.target", f"unknown directory attribute {entry.target!r}; known: "
                  f"{', '.join(DEFAULT_FIELDS)} (extension attributes come from the connector)")]
            )  # fmt: skip
        if entry.source is not Source.FIELD:
            raise InvalidMapping(
                [(f"{where}.source", "inbound rules map source fields (FIELD) only")]
            )
        if not isinstance(entry.value, str) or not entry.value:
            raise InvalidMapping([(f"{where}.value", "names the source's attribute")])
        return entry
    if not targets.accepts(entry.target):
        raise InvalidMapping(
            [(f"{where}.target", f"the target does not accept {entry.target!r}; known: "
              f"{targets.known()}")]
        )  # fmt: skip
    if entry.source is Source.FIELD and not (
        isinstance(entry.value, str) and is_source_field(entry.value)
    ):
        raise InvalidMapping(
            [(f"{where}.value", f"unknown source field {entry.value!r}; known: "
              f"{', '.join(USER_ATTRIBUTES)} and ext.NAME")]
        )  # fmt: skip
    if entry.source is Source.EXPRESSION:
        if not isinstance(entry.value, str):
            raise InvalidMapping([(f"{where}.value", "an expression is a string")])
        try:
            compile_expression(entry.value)
        except ExpressionError as exc:
            raise InvalidMapping([(f"{where}.value", f"{entry.target}: {exc}")]) from None
    if entry.source is Source.CONSTANT and isinstance(entry.value, dict):
        raise InvalidMapping([(f"{where}.value", "a constant is a string, number, bool or list")])
    return entry


def validate_mappings(
    data: Any, *, inbound: bool = False, targets: Targets | None = None
) -> list[dict[str, Any]]:
    """Check a rule's entries (expressions compiled) and return them as stored.

    :raises InvalidMapping: every problem found, each with where (``mappings[2].value``) and
        why (for an expression: line:column and the reason).
    """
    targets = targets or Targets(frozenset())
    if not isinstance(data, list):
        raise InvalidMapping([("mappings", "must be a list of entries")])
    if len(data) > MAX_ENTRIES:
        raise InvalidMapping([("mappings", f"at most {MAX_ENTRIES} entries")])
    problems: list[tuple[str, str]] = []
    entries: list[MappingEntry] = []
    for index, item in enumerate(data):
        try:
            entries.append(_entry(index, item, inbound, targets))
        except InvalidMapping as exc:
            problems += exc.problems
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if entry.target in seen:
            problems.append((f"mappings[{index}].target", f"{entry.target!r} is mapped twice"))
        seen.add(entry.target)
    orders = [e.matching_order for e in entries if e.matching]
    if len(set(orders)) != len(orders):
        problems.append(("mappings", "matching attributes need distinct matchingOrder values"))
    if problems:
        raise InvalidMapping(problems)
    return [e.as_json() for e in entries_of([e.as_json() for e in entries])]


def _column(attribute: str) -> str:
    return DEFAULT_FIELDS.get(attribute, attribute)


def field_map(stored: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """Inbound: source attribute -> directory column (or ``ext.NAME``) of FIELD entries."""
    return {
        str(e.value): _column(e.target) for e in entries_of(stored) if e.source is Source.FIELD
    }


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


def read_field(attributes: Mapping[str, Any], name: str) -> Any:
    """A FIELD entry's value in source attributes (``ext.NAME`` reads the extension)."""
    if name.startswith(EXTENSION_PREFIX):
        extension = attributes.get("ext")
        return extension.get(name[len(EXTENSION_PREFIX) :]) if extension else None
    return attributes.get(name)


def write_back_values(
    user: DirectoryUser, stored: Sequence[Mapping[str, Any]] | None, names: Iterable[str]
) -> dict[str, Any]:
    """Inbound write-back: the directory's values of source attributes ``names``."""
    fields = field_map(stored)
    source = source_attributes(user)
    out: dict[str, Any] = {}
    for name in names:
        column = fields.get(name)
        attribute = COLUMN_ATTRIBUTES.get(column, column) if column else None
        out[name] = read_field(source, attribute) if attribute else None
    return out


def targets_named(names: Collection[str], pattern: str | None = None) -> Targets:
    return Targets(frozenset(names), pattern)


def display_name_of(user: DirectoryUser) -> str:
    full = " ".join(part for part in (user.given_name, user.family_name) if part)
    return user.display_name or full or user.user_name
