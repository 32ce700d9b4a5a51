"""The plugin module the ``provisync`` entry point names: it declares the connector type,
which carries its connector class, so the host creates connectors without another hook."""

from __future__ import annotations

from collections.abc import Sequence

from provisync_jsonfile.connector import JsonFileConnector, JsonFileSettings
from provisync_sdk import (
    Capability,
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
    connector_class=JsonFileConnector,
    description="A directory kept as one JSON file: users and groups written and read there.",
)


@hookimpl
def provisync_connector_types() -> Sequence[ConnectorType]:
    """Declare the ``jsonfile`` connector type.

    :return: the one type of this plugin.
    """
    return [JSONFILE]
