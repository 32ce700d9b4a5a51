"""The conformance kit: the test plugin passes it, broken connectors fail it.

The memory connector runs the kit in this session (a subclass of ``ConnectorConformance``);
broken connectors run it in an inner pytest session (``pytester``), whose counts we assert.
"""

from __future__ import annotations

import base64
import textwrap
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from connectors import ConnectorRegistry
from connectors.testing import ConformanceTarget, ConnectorConformance
from tests.plugins.memory_connector import SOURCES, TARGETS

pytest_plugins = ["pytester", "connectors.testing.conformance"]

REJECTED = "rejected-user"
REJECTED_WRITE_BACK = "rejected-write-back"


def memory_target() -> ConformanceTarget:
    """A fresh in-process memory target, with every hint the kit can use."""
    store = uuid.uuid4().hex

    def accounts() -> list[dict[str, Any]]:
        return list(TARGETS.get(store, {}).values())

    def seed(records: Sequence[Mapping[str, Any]]) -> None:
        SOURCES.setdefault(store, []).extend(
            {"key": f"src-{r['userName']}", "attributes": dict(r)} for r in records
        )

    def user_active(name: str) -> bool | None:
        found = [a for a in accounts() if a.get("userName") == name]
        return bool(found[0].get("active", True)) if found else None

    settings = {
        "store": store,
        "fail_users": [REJECTED],
        "write_back_attributes": ["phone"],
        "reject_write_back": [f"src-{REJECTED_WRITE_BACK}"],
    }
    return ConformanceTarget(
        connector_type="memory",
        settings=settings,
        secrets={"token": "memory-s3cr3t-token"},
        user_exists=lambda name: any(a.get("userName") == name for a in accounts()),
        user_active=user_active,
        group_exists=lambda name: any(a.get("displayName") == name for a in accounts()),
        seed_users=seed,
        rejected_user_name=REJECTED,
        rejected_write_back_user_name=REJECTED_WRITE_BACK,
        unreachable_settings={**settings, "mode": "unreachable"},
        timeout=5,
    )


@pytest.fixture(scope="session")
def conformance_registry() -> ConnectorRegistry:
    return ConnectorRegistry.discover(
        load_entry_points=False, extra_plugins=["tests.plugins.memory_connector"]
    )


@pytest.fixture
def conformance_target() -> ConformanceTarget:
    return memory_target()


class TestMemoryConnectorConformance(ConnectorConformance):
    """The engine's test plugin passes every scenario that applies to it."""


INNER_CONFTEST = """
    import pytest
    from connectors import ConnectorRegistry
    from connectors.testing import ConformanceTarget

    pytest_plugins = ["connectors.testing.conformance"]

    @pytest.fixture(scope="session")
    def conformance_registry():
        return ConnectorRegistry.discover(load_entry_points=False, extra_plugins=[{plugin!r}])

    @pytest.fixture
    def conformance_target():
        return {target}
"""

INNER_TESTS = """
    from connectors.testing import ConnectorConformance

    class TestConformance(ConnectorConformance):
        pass
"""

BROKEN_PLUGIN = """
    import asyncio
    import base64
    from pydantic import BaseModel, SecretStr
    from connectors import (
        Capability, ConnectionTestResult, Connector, ConnectorType, Direction, EntityKind,
        EntityOutcome, EntityState, hookimpl,
    )

    class BrokenSettings(BaseModel):
        how: str
        token: SecretStr | None = None

    BROKEN = ConnectorType(
        name="broken", title="Broken", directions=frozenset({Direction.OUTBOUND}),
        capabilities=frozenset({Capability.USERS}), settings_model=BrokenSettings,
    )

    class BrokenConnector(Connector[BrokenSettings]):
        async def test_connection(self):
            if self.settings.how == "leak":  # a target that echoes what it was sent
                token = self.settings.token.get_secret_value()
                encoded = base64.b64encode(token.encode()).decode()
                return ConnectionTestResult(ok=True, message=f"hello {token} ({encoded})")
            return ConnectionTestResult(ok=True, message="fine")

        async def reconcile(self, request):
            how = self.settings.how
            if how == "silent":
                return []
            if how == "raise":
                raise RuntimeError("boom")
            if how == "hang":
                await asyncio.sleep(3600)
            if how == "leak":
                token = self.settings.token.get_secret_value()
                return [EntityOutcome(kind=EntityKind.USER, key=u.key, state=EntityState.FAILED,
                                      reason=f"HTTP 401: you sent Bearer {token}")
                        for u in request.users]
            if how == "no-reason":  # every user FAILED, and without saying why
                return [EntityOutcome(kind=EntityKind.USER, key=u.key, state=EntityState.FAILED)
                        for u in request.users]
            raise AssertionError(how)

    @hookimpl
    def provisync_connector_types():
        return [BROKEN]

    @hookimpl
    def provisync_create_connector(connector_type, settings, context):
        return BrokenConnector(settings, context) if connector_type.name == "broken" else None
"""


ROOT = Path(__file__).resolve().parents[2]


def run_inner(pytester: pytest.Pytester, plugin: str, target: str) -> pytest.RunResult:
    """Run the kit in a fresh pytest process; ``target`` is the fixture's return expression."""
    pytester.makeconftest(textwrap.dedent(INNER_CONFTEST).format(plugin=plugin, target=target))
    pytester.makepyfile(test_conformance=textwrap.dedent(INNER_TESTS))
    # pytester puts its own directory first on PYTHONPATH; the project root lets it find tests.*
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(ROOT))
        return pytester.runpytest_subprocess("-p", "no:cacheprovider")


def broken(how: str) -> str:
    return f"ConformanceTarget(connector_type='broken', settings={{'how': {how!r}}}, timeout=0.5)"


def test_memory_connector_report_names_what_it_supports(pytester: pytest.Pytester) -> None:
    memory = "__import__('tests.connectors.test_conformance_kit').connectors.test_conformance_kit"
    result = run_inner(pytester, "tests.plugins.memory_connector", memory + ".memory_target()")
    result.assert_outcomes(failed=0, passed=15, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*provisync connector conformance*",
            "memory: plugin tests.plugins.memory_connector; directions INBOUND, OUTBOUND;*",
            "*passed*create users",
            "*skipped*incremental read (capability INCREMENTAL_READ not supported by memory)",
            "*passed*preview writes nothing",
            "*skipped*reported outcomes are the truth*(the conformance target offers no truth_reader)",
            "*passed*target errors are FAILED outcomes with reasons",
        ]
    )


@pytest.mark.parametrize(
    ("how", "failing"),
    [
        ("silent", "reconcile reported no outcome"),
        ("raise", "RuntimeError: boom"),
        ("hang", "did not finish reconcile within 0.5s"),
        ("no-reason", "a FAILED outcome must say why"),
    ],
)
def test_a_broken_connector_fails_the_kit(
    pytester: pytest.Pytester, how: str, failing: str
) -> None:
    pytester.makepyfile(broken_plugin=textwrap.dedent(BROKEN_PLUGIN))
    pytester.syspathinsert()
    result = run_inner(pytester, "broken_plugin", broken(how))
    # create, update, resync, disable, delete: every outbound scenario that writes fails;
    # registration and the connection test pass; the rest do not apply and say why.
    result.assert_outcomes(failed=5, passed=2, skipped=10)
    result.stdout.fnmatch_lines(
        [
            f"*{failing}*",
            "*skipped*groups*(capability GROUPS not supported by broken)",
            "*skipped*read users (broken does not support direction INBOUND*",
            "*skipped*target errors*(the conformance target offers no rejected_user_name)",
        ]
    )


def test_a_type_that_is_not_installed_fails_the_kit(pytester: pytest.Pytester) -> None:
    target = "ConformanceTarget(connector_type='nowhere', settings={})"
    result = run_inner(pytester, "tests.plugins.memory_connector", target)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1 and "passed" not in outcomes, result.stdout.str()
    result.stdout.fnmatch_lines(["*connector type 'nowhere' is not registered*"])


LEAKED = "kit-Planted-Token-4c1d9e"


def test_the_kit_never_prints_the_secret_it_caught(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(broken_plugin=textwrap.dedent(BROKEN_PLUGIN))
    pytester.syspathinsert()
    target = (
        "ConformanceTarget(connector_type='broken', settings={'how': 'leak'}, "
        f"secrets={{'token': {LEAKED!r}}}, timeout=0.5)"
    )
    result = run_inner(pytester, "broken_plugin", target)
    output = result.stdout.str() + result.stderr.str()
    assert result.parseoutcomes().get("failed", 0) >= 2, output
    assert "shows a secret value" in output and "[redacted]" in output, output
    encoded = base64.b64encode(LEAKED.encode()).decode()
    for form in (LEAKED, encoded, encoded.rstrip("="), LEAKED[:12], LEAKED[-12:]):
        assert form not in output, form
