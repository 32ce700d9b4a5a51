"""The hooks a connector plugin implements.

A plugin is a module or object with functions decorated by ``provisync_sdk.hookimpl``, found
through the ``provisync`` entry-point group. Every hook here is documented in full; a test
checks that each has a docstring naming its parameters and return value.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from provisync_sdk.connector import Connector
from provisync_sdk.markers import hookspec
from provisync_sdk.types import ConnectorContext, ConnectorType


@hookspec
def provisync_connector_types() -> Sequence[ConnectorType]:
    """Declare the connector types this plugin provides.

    Called once when the plugin manager is built. Names must be unique across all plugins;
    the host refuses a second plugin that claims a taken name.

    :return: the connector types of this plugin.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def provisync_create_connector(
    connector_type: ConnectorType, settings: BaseModel, context: ConnectorContext
) -> Connector[BaseModel] | None:
    """Create a connector instance for one provisioning connection.

    :param connector_type: the type asked for; return ``None`` unless it is one of yours.
    :param settings: the connection's settings, already validated by the type's
        ``settings_model`` (secrets included, as :class:`pydantic.SecretStr`).
    :param context: connection ids for log lines and the host's request timeout.
    :return: a :class:`~provisync_sdk.connector.Connector`, or ``None`` for another's type.
    """
    raise NotImplementedError
