"""The plugin module the ``provisync`` entry point names: it declares and creates connectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from provisync_jsonfile.connector import JsonFileConnector, JsonFileSettings
from provisync_sdk import (
    Capability,
    Connector,
    ConnectorContext,
    ConnectorType,
    Direction,
    hookimpl,
)

JSONFILE = ConnectorType(
    name="jsonfile",
    title="JSON file directory",
    directions=frozenset({Direction.OUTBOUND, Direction.INBOUND}),
    capabilities=frozenset({Capability.USERS, Capability.GROUPS, Capability.INCREMENTAL_READ}),
    settings_model=JsonFileSettings,
    description="A directory kept as one JSON file: users and groups written and read there.",
)


@hookimpl
def provisync_connector_types() -> Sequence[ConnectorType]:
    """Declare the ``jsonfile`` connector type.

    :return: the one type of this plugin.
    """
    return [JSONFILE]


@hookimpl
def provisync_create_connector(
    connector_type: ConnectorType, settings: BaseModel, context: ConnectorContext
) -> Connector[Any] | None:
    """Create a connector for a ``jsonfile`` connection, and nothing for other types.

    :param connector_type: the type asked for.
    :param settings: validated :class:`JsonFileSettings`.
    :param context: ids for logs and the host's request timeout.
    :return: a :class:`JsonFileConnector`, or ``None`` for another plugin's type.
    """
    if connector_type.name != JSONFILE.name:
        return None
    assert isinstance(settings, JsonFileSettings)
    return JsonFileConnector(settings, context)
