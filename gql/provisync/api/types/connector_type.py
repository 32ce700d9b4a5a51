"""ConnectorType: a registered plugin's kind of outside system, with its settings schema."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from provisync.api.types.common import as_json
from provisync.api.types.enums import ConnectorCapability, SyncDirection
from provisync_sdk.manager import RegisteredType


@strawberry.type
class ConnectorType:
    name: str
    title: str
    description: str
    plugin: str = strawberry.field(description="The plugin (entry-point name) that provides it.")
    directions: list[SyncDirection]  # type: ignore[valid-type]
    capabilities: list[ConnectorCapability]  # type: ignore[valid-type]
    settings_schema: JSON = strawberry.field(description="JSON Schema of the settings, for forms.")
    secret_fields: list[str] = strawberry.field(description="Settings that are write-only.")

    @classmethod
    def from_registered(cls, registered: RegisteredType) -> ConnectorType:
        ctype = registered.connector_type
        return cls(
            name=ctype.name,
            title=ctype.title,
            description=ctype.description,
            plugin=registered.plugin_name,
            directions=sorted(ctype.directions),
            capabilities=sorted(ctype.capabilities),
            settings_schema=as_json(ctype.settings_model.model_json_schema()),
            secret_fields=list(ctype.secret_fields),
        )
