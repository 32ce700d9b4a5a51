"""The conformance kit's pytest plugin: ``pytest_plugins = ["provisync_sdk.testing.conformance"]``.

It provides the ``conformance_registry`` fixture (installed plugins, found exactly as the
server finds them; override it to register plugins by hand), the ``conformance_kit`` fixture
the scenarios of :class:`~provisync_sdk.testing.ConnectorConformance` use, and a terminal summary
section saying, per connector type, what it supports and which scenarios passed or were skipped.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass, field

import pytest

from provisync_sdk.manager import ConnectorRegistry
from provisync_sdk.testing.session import SCENARIO_ATTRIBUTE, Kit
from provisync_sdk.testing.target import ConformanceTarget

_TYPE_PROPERTY = "provisync_conformance_type"


@dataclass
class _Verdicts:
    """Scenario outcomes by connector type, and what each type declares."""

    types: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)


_VERDICTS = pytest.StashKey[_Verdicts]()


def _env_list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_VERDICTS] = _Verdicts()


@pytest.fixture(scope="session")
def conformance_registry() -> ConnectorRegistry:
    """Installed connector plugins (``provisync`` entry points), as the server finds them.

    ``PROVISYNC_DISABLE_PLUGINS`` and ``PROVISYNC_EXTRA_PLUGINS`` (comma-separated) apply.
    """
    return ConnectorRegistry.discover(
        disabled=_env_list("PROVISYNC_DISABLE_PLUGINS"),
        extra_plugins=_env_list("PROVISYNC_EXTRA_PLUGINS"),
    )


@pytest.fixture
def conformance_kit(
    request: pytest.FixtureRequest,
    conformance_registry: ConnectorRegistry,
    conformance_target: ConformanceTarget,
) -> Kit:
    """The registry and target every scenario of the kit runs with."""
    kit = Kit(conformance_registry, conformance_target)
    request.node.user_properties.append((_TYPE_PROPERTY, conformance_target.connector_type))
    ctype = conformance_registry.get(conformance_target.connector_type)
    if ctype is not None:
        verdicts = request.config.stash[_VERDICTS]
        verdicts.types[ctype.name] = (
            f"plugin {conformance_registry.plugin_of(ctype.name)}; directions "
            f"{', '.join(sorted(ctype.directions))}; capabilities "
            f"{', '.join(sorted(ctype.capabilities))}"
        )
    return kit


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    scenario = getattr(getattr(item, "function", None), SCENARIO_ATTRIBUTE, None)
    if scenario is None or (report.when != "call" and report.passed):
        return report
    type_name = dict(item.user_properties).get(_TYPE_PROPERTY, "?")
    detail = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        detail = str(report.longrepr[2]).removeprefix("Skipped: ")
    verdicts = item.config.stash[_VERDICTS]
    verdicts.outcomes.setdefault(str(type_name), {})[scenario] = (report.outcome, detail)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    verdicts = terminalreporter.config.stash.get(_VERDICTS, None)
    if verdicts is None or not verdicts.outcomes:
        return
    terminalreporter.section("provisync connector conformance")
    for type_name in sorted(verdicts.outcomes):
        terminalreporter.write_line(f"{type_name}: {verdicts.types.get(type_name, '?')}")
        for scenario, (outcome, detail) in sorted(verdicts.outcomes[type_name].items()):
            line = f"  {outcome:<8} {scenario}"
            terminalreporter.write_line(line + (f" ({detail})" if detail else ""))
