"""The plugin module named by the ``scim`` entry point of the ``provisync`` group."""

from __future__ import annotations

from collections.abc import Sequence

from provisync_scim.connector import ScimConnector
from provisync_scim.mapping import CUSTOM
from provisync_scim.settings import ScimSettings
from provisync_sdk import (
    Capability,
    ConnectorType,
    Direction,
    TargetAttribute,
    hookimpl,
)

SCIM_TYPE = ConnectorType(
    name="scim",
    title="SCIM 2.0",
    directions=frozenset({Direction.OUTBOUND}),
    capabilities=frozenset({Capability.USERS, Capability.GROUPS, Capability.PREVIEW}),
    settings_model=ScimSettings,
    connector_class=ScimConnector,
    description=(
        "Provisions directory users and groups to any SCIM 2.0 service provider "
        "(RFC 7643, RFC 7644): PATCH or PUT, filters or paged listing, as the target supports."
    ),
    target_attributes=(
        TargetAttribute("costCenter", description="Enterprise extension: cost center."),
        TargetAttribute("organization", description="Enterprise extension: organization."),
        TargetAttribute("division", description="Enterprise extension: division."),
    ),
    custom_target_pattern=CUSTOM.pattern.strip("^$"),
)


@hookimpl
def provisync_connector_types() -> Sequence[ConnectorType]:
    """The SCIM 2.0 connector type."""
    return [SCIM_TYPE]
