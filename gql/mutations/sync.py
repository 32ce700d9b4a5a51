"""fullResync, setRuleEnabled and testProvisioningConnection."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry
from strawberry import relay

from connectors import ConnectorError
from gql.context import Info
from gql.engine.context import ConnectorUnavailable, open_connector
from gql.engine.engine import RunKind
from gql.engine.recorder import admin_event
from gql.engine.scrubbing import scrubber_for
from gql.security.roles import Role, forbidden
from gql.store.models import ProvisioningConnection as ConnectionRow
from gql.store.models import Rule as RuleRow
from gql.store.models import utcnow
from gql.types.common import as_json, node_pk
from gql.types.connection import ConnectionTestResult
from gql.types.errors import (
    ConnectorNotInstalledError,
    ForbiddenError,
    NotFoundError,
    RuleDisabledError,
    connector_missing,
    not_found,
)
from gql.types.rule import Rule
from gql.types.sync_run import SyncRun

FullResyncResult = Annotated[
    SyncRun | NotFoundError | RuleDisabledError | ConnectorNotInstalledError | ForbiddenError,
    strawberry.union("FullResyncResult"),
]
SetRuleEnabledResult = Annotated[
    Rule | NotFoundError | ConnectorNotInstalledError | ForbiddenError,
    strawberry.union("SetRuleEnabledResult"),
]
TestConnectionResult = Annotated[
    ConnectionTestResult | NotFoundError | ConnectorNotInstalledError | ForbiddenError,
    strawberry.union("TestConnectionResult"),
]


async def full_resync(info: Info, rule_id: relay.GlobalID) -> FullResyncResult:
    """Resync every entity of a rule now; returns the run (the one in progress, if any)."""
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    pk = node_pk(rule_id, "Rule")
    if isinstance(pk, NotFoundError):
        return pk
    services = info.context.services
    async with services.db.session() as session:
        rule = await session.get(RuleRow, pk)
        if rule is None:
            return not_found("Rule", rule_id)
        connection = await session.get(ConnectionRow, rule.connection_id)
    if not rule.enabled:
        return RuleDisabledError(
            message=f"rule {rule.name!r} is disabled; enable it to resync",
            code="RULE_DISABLED",
            rule_id=strawberry.ID(str(rule_id)),
        )
    if connection is None or services.registry.get(connection.connector_type) is None:
        return connector_missing(connection.connector_type if connection else "?")
    run = await services.engine.request_run(pk, RunKind.FULL, actor=info.context.actor)
    return SyncRun.from_row(run)


async def set_rule_enabled(
    info: Info, rule_id: relay.GlobalID, enabled: bool
) -> SetRuleEnabledResult:
    """Enable or disable a rule. Enabling starts a full resync."""
    if denied := forbidden(info, Role.OPERATOR):
        return denied
    pk = node_pk(rule_id, "Rule")
    if isinstance(pk, NotFoundError):
        return pk
    services = info.context.services
    async with services.db.session() as session:
        rule = await session.get(RuleRow, pk)
        if rule is None:
            return not_found("Rule", rule_id)
        connection = await session.get(ConnectionRow, rule.connection_id)
        if enabled and (
            connection is None or services.registry.get(connection.connector_type) is None
        ):
            return connector_missing(connection.connector_type if connection else "?")
        changed = rule.enabled != enabled
        if changed:
            rule.enabled, rule.updated_at = enabled, utcnow()
            rule.next_poll_at = None
            session.add(
                admin_event(
                    operation="ENABLE_RULE" if enabled else "DISABLE_RULE",
                    message=f"rule {rule.name!r} {'enabled' if enabled else 'disabled'}",
                    actor=info.context.actor,
                    rule_id=pk,
                )
            )
        await session.commit()
    if changed and enabled:
        await services.engine.request_run(
            pk, RunKind.FULL, actor=info.context.actor, reason="the rule was enabled"
        )
    return Rule.from_row(rule)


async def test_provisioning_connection(
    info: Info, connection_id: relay.GlobalID
) -> TestConnectionResult:
    """Check that a connection's URL and credentials work and what its target supports."""
    if denied := forbidden(info, Role.ADMIN):
        return denied
    pk = node_pk(connection_id, "ProvisioningConnection")
    if isinstance(pk, NotFoundError):
        return pk
    services = info.context.services
    async with services.db.session() as session:
        connection = await session.get(ConnectionRow, pk)
    if connection is None:
        return not_found("ProvisioningConnection", connection_id)
    if services.registry.get(connection.connector_type) is None:
        return connector_missing(connection.connector_type)
    try:
        connector = open_connector(
            services.registry, connection, services.settings.request_timeout, services.settings
        )
    except ConnectorUnavailable as exc:
        return ConnectionTestResult(ok=False, message=str(exc), details=as_json({}))
    scrub = scrubber_for(connection)  # the target's words may echo the credentials
    try:
        result = await asyncio.wait_for(
            connector.test_connection(), services.settings.connector_timeout
        )
        details = {str(k): scrub(str(v)) for k, v in dict(result.details).items()}
        return ConnectionTestResult(
            ok=result.ok, message=scrub(result.message) or "", details=as_json(details)
        )
    except ConnectorError as exc:
        return ConnectionTestResult(ok=False, message=scrub(str(exc)) or "", details=as_json({}))
    except TimeoutError:
        return ConnectionTestResult(
            ok=False, message="the connection test timed out", details=as_json({})
        )
    except Exception as exc:
        return ConnectionTestResult(
            ok=False, message=f"the plugin raised {type(exc).__name__}", details=as_json({})
        )
    finally:
        try:
            await asyncio.wait_for(connector.aclose(), 5)
        except Exception:
            pass
