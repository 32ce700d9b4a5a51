"""AttributeMapping: one entry of a rule's attribute mappings (see docs/mappings.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import strawberry
from strawberry.scalars import JSON

from provisync.api.types.common import as_json
from provisync.engine.mapping import DEFAULT_FIELDS, Applies, Source, entries_of

MappingSource = strawberry.enum(Source, name="MappingSource")
MappingApplies = strawberry.enum(Applies, name="MappingApplies")


@strawberry.type(description="One target attribute of a rule and where its value comes from.")
class AttributeMapping:
    target: str = strawberry.field(description="The target attribute, e.g. displayName.")
    source: MappingSource  # type: ignore[valid-type]
    value: JSON = strawberry.field(
        description="FIELD: a source attribute (givenName, ext.costCenter); CONSTANT: the "
        'value; EXPRESSION: a CEL expression, e.g. join(" ", [givenName, familyName]).'
    )
    applies: MappingApplies  # type: ignore[valid-type]
    matching: bool = strawberry.field(description="Accounts are matched on this attribute.")
    matching_order: int | None = strawberry.field(
        description="The order matching attributes are tried in (1 first)."
    )


@strawberry.input(description="One attribute mapping entry.")
class AttributeMappingInput:
    target: str
    source: MappingSource = Source.FIELD  # type: ignore[valid-type]
    value: JSON | None = strawberry.field(
        default=None, description="A field name, a constant (null: absence) or an expression."
    )
    applies: MappingApplies = Applies.ALWAYS  # type: ignore[valid-type]
    matching: bool = False
    matching_order: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": Source(self.source).value,
            "value": self.value,
            "applies": Applies(self.applies).value,
            "matching": self.matching,
            "matchingOrder": self.matching_order,
        }


def mapping_nodes(stored: Sequence[Mapping[str, Any]] | None) -> list[AttributeMapping]:
    return [
        AttributeMapping(
            target=e.target,
            source=e.source,
            value=as_json(e.value),
            applies=e.applies,
            matching=e.matching,
            matching_order=e.matching_order,
        )
        for e in entries_of(stored)
    ]


def legacy_view(stored: Sequence[Mapping[str, Any]] | None) -> JSON:
    """The deprecated ``attributeMappings``: canonical attribute -> directory field, for the
    FIELD entries that read a fixed field other than the attribute's own."""
    out = {}
    for entry in entries_of(stored):
        if entry.source is Source.FIELD and entry.value != entry.target:
            column = DEFAULT_FIELDS.get(str(entry.value))
            if column:
                out[entry.target] = column
    return as_json(out)
