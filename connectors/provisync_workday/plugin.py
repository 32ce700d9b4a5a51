"""The Workday plugin: registered through the ``provisync`` entry point like any other."""

from __future__ import annotations

from collections.abc import Sequence

from provisync_sdk import (
    Capability,
    ConnectorType,
    Direction,
    hookimpl,
)
from provisync_workday.connector import WorkdayConnector
from provisync_workday.settings import WorkdaySettings

WORKDAY = ConnectorType(
    name="workday",
    title="Workday",
    directions=frozenset({Direction.INBOUND}),
    capabilities=frozenset({Capability.USERS, Capability.WRITE_BACK, Capability.INCREMENTAL_READ}),
    settings_model=WorkdaySettings,
    connector_class=WorkdayConnector,
    description=(
        "Imports Workday workers into the directory through Human_Resources Get_Workers "
        "(paged, incremental with the transaction log) and writes email, phone and user "
        "name back to Workday."
    ),
)


@hookimpl
def provisync_connector_types() -> Sequence[ConnectorType]:
    """Declare the Workday connector type.

    :return: the one Workday type.
    """
    return [WORKDAY]
