"""The Workday plugin: registered through the ``provisync`` entry point like any other."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from provisync_sdk import (
    Capability,
    Connector,
    ConnectorContext,
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
    capabilities=frozenset(
        {Capability.USERS, Capability.WRITE_BACK, Capability.INCREMENTAL_READ}
    ),
    settings_model=WorkdaySettings,
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


@hookimpl
def provisync_create_connector(
    connector_type: ConnectorType, settings: BaseModel, context: ConnectorContext
) -> Connector[BaseModel] | None:
    """Create a Workday connector for a ``workday`` connection.

    :param connector_type: the type asked for.
    :param settings: validated :class:`WorkdaySettings`.
    :param context: ids for logs and the host's request timeout.
    :return: a :class:`WorkdayConnector`, or ``None`` for another plugin's type.
    """
    if connector_type.name != WORKDAY.name:
        return None
    if not isinstance(settings, WorkdaySettings):
        settings = WorkdaySettings.model_validate(settings.model_dump())
    return WorkdayConnector(settings, context)  # type: ignore[return-value]
