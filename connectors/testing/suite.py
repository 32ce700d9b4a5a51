"""The standard scenarios: subclass the class that matches your connector's directions.

:class:`OutboundConformance` for targets, :class:`InboundConformance` for sources, and
:class:`ConnectorConformance` for a connector that is both. Scenarios that do not apply to the
type under test (a capability it does not declare, a hint its target does not offer) are
skipped with a reason that names it.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connectors import ConnectionTestResult, Connector, Direction, ReconcileRequest, RunFailure
from connectors.testing.inbound import InboundScenarios
from connectors.testing.outbound import OutboundScenarios, desired_user
from connectors.testing.session import Kit, KitSession, scenario
from connectors.testing.truthful import TruthScenarios


class CommonScenarios:
    """Scenarios for every connector: registration, connection tests, whole-run failures."""

    @scenario("registered through the plugin manager")
    def test_registration(self, conformance_kit: Kit) -> None:
        ctype = conformance_kit.connector_type
        registry = conformance_kit.registry
        plugin = registry.plugin_of(ctype.name)
        assert not [p for p in registry.problems if f"plugin {plugin} " in p], registry.problems
        assert ctype.directions, "a connector type serves at least one direction"
        assert ctype.settings_model.model_json_schema()["properties"] is not None
        target = conformance_kit.target
        settings = registry.validate_settings(ctype.name, target.settings, target.secrets)
        for name in ctype.secret_fields:
            value = getattr(settings, name)
            assert value is None or isinstance(value, SecretStr), name
        for name in target.secrets:
            assert name in ctype.secret_fields, f"secret {name!r} is not a SecretStr field"

        async def scenario(session: KitSession) -> None:
            assert isinstance(session.connector, Connector)

        conformance_kit.run(scenario)

    @scenario("connection test")
    def test_connection(self, conformance_kit: Kit) -> None:
        async def scenario(session: KitSession) -> None:
            result = await session.call(session.connector.test_connection(), "test_connection")
            assert isinstance(result, ConnectionTestResult), result
            assert result.ok, f"the connection test failed: {result.message}"
            assert result.message, "a connection test says something to people"
            session.check_text(result.message, "the connection test message")
            for value in result.details.values():
                session.check_text(value, "the connection test details")

        conformance_kit.run(scenario)

    @scenario("connection test of an unreachable target")
    def test_connection_unreachable(self, conformance_kit: Kit) -> None:
        settings = conformance_kit.require_hint("unreachable_settings")

        async def scenario(session: KitSession) -> None:
            try:
                result = await session.call(session.connector.test_connection(), "test_connection")
            except RunFailure as exc:  # also an honest answer
                session.check_text(str(exc), "a run failure")
                return
            assert not result.ok, "the connection test passed against an unreachable target"
            assert result.message, "a failed connection test says why"
            session.check_text(result.message, "the connection test message")

        conformance_kit.run(scenario, settings=settings)

    @scenario("an unreachable target fails the run")
    def test_unreachable_target_fails_the_run(self, conformance_kit: Kit) -> None:
        settings = conformance_kit.require_hint("unreachable_settings")
        outbound = Direction.OUTBOUND in conformance_kit.connector_type.directions

        async def scenario(session: KitSession) -> None:
            with pytest.raises(RunFailure) as failure:
                if outbound:
                    await session.call(
                        session.connector.reconcile(ReconcileRequest(users=[desired_user("x")])),
                        "reconcile",
                    )
                else:
                    await session.read_users()
            session.check_text(str(failure.value), "a run failure")
            session.created.clear()

        conformance_kit.run(scenario, settings=settings)


class OutboundConformance(CommonScenarios, OutboundScenarios, TruthScenarios):
    """For connectors that write to a target: ``class TestX(OutboundConformance): pass``."""


class InboundConformance(CommonScenarios, InboundScenarios):
    """For connectors that read from a source: ``class TestX(InboundConformance): pass``."""


class ConnectorConformance(CommonScenarios, OutboundScenarios, TruthScenarios, InboundScenarios):
    """Every scenario; subclass it as ``class TestMyConnector(ConnectorConformance): pass``.

    It needs the ``connectors.testing.conformance`` pytest plugin and a ``conformance_target``
    fixture returning a :class:`~connectors.testing.ConformanceTarget`.
    """
