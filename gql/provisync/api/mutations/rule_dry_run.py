"""updateRule(..., dryRun: true): the change previewed, nothing saved."""

from __future__ import annotations

from typing import Any

from provisync.api.context import Info
from provisync.api.types.errors import ValidationError, invalid
from provisync.api.types.rule_change_preview import RuleChangePreview
from provisync.engine.dry_run import preview_change
from provisync.store.models import Rule as RuleRow
from provisync_sdk import Direction


async def dry_run_update(
    info: Info, row: RuleRow, connector_type: str, values: dict[str, Any]
) -> RuleChangePreview | ValidationError:
    """Preview the change of ``row`` (a detached copy of the stored rule) to ``values``."""
    services = info.context.services
    outbound = values["direction"] == Direction.OUTBOUND.value
    if outbound and not services.engine.can_preview(connector_type):
        return invalid(("dryRun", f"connector type {connector_type!r} cannot preview a change"))
    try:
        found = await preview_change(services, row, values, info.context.actor)
    except TimeoutError:
        return invalid(("dryRun", "the preview is still running; follow the rule's latest run"))
    return RuleChangePreview.of(found)
