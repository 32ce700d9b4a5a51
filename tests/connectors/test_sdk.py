"""The plugin SDK: documented hooks, entry-point loading, isolation of bad plugins."""

from __future__ import annotations

import inspect
import logging
import types

import pytest

from provisync_sdk import NAME, hookimpl, hookspecs
from provisync_sdk.manager import ConnectorRegistry, get_plugin_manager
from tests.plugins import memory_connector


def test_every_hook_is_documented_with_params_and_return() -> None:
    hooks = [f for name, f in vars(hookspecs).items() if name.startswith("provisync_")]
    assert hooks
    for hook in hooks:
        doc = inspect.getdoc(hook) or ""
        assert ":return:" in doc, hook.__name__
        for param in inspect.signature(hook).parameters:
            assert f":param {param}:" in doc, (hook.__name__, param)


def test_builtins_are_entry_points_in_the_provisync_group() -> None:
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group=NAME)}
    assert {"scim", "workday"} <= names


def test_broken_and_duplicate_plugins_are_reported_not_fatal() -> None:
    clone = types.ModuleType("memory_clone")
    clone.provisync_connector_types = hookimpl(lambda: [memory_connector.MEMORY])  # type: ignore[attr-defined]
    broken = types.ModuleType("broken_types")

    def explode() -> list[object]:
        raise RuntimeError("boom")

    broken.provisync_connector_types = hookimpl(explode)  # type: ignore[attr-defined]
    pm, problems = get_plugin_manager(
        load_entry_points=False, extra_plugins=[memory_connector, clone, broken, "no.such.module"]
    )
    registry = ConnectorRegistry.from_manager(pm, problems)
    assert registry.plugin_of("memory") in ("tests.plugins.memory_connector", "memory_clone")
    text = "\n".join(registry.problems)
    assert "claims connector 'memory'" in text and "refused" in text
    assert "broken_types failed to declare types" in text
    assert "no.such.module failed to load" in text


def test_disabled_plugins_are_not_loaded() -> None:
    registry = ConnectorRegistry.discover(disabled=["scim", "workday"])
    assert registry.get("scim") is None and registry.get("workday") is None


def test_a_reconcile_request_is_real_unless_it_says_it_is_a_preview() -> None:
    from provisync_sdk import Capability, ReconcileRequest

    assert ReconcileRequest().dry_run is False
    assert ReconcileRequest(dry_run=True).dry_run is True
    assert Capability("PREVIEW") is Capability.PREVIEW


def test_a_type_that_carries_its_connector_class_needs_no_create_hook() -> None:
    from provisync_scim import plugin as scim_plugin
    from provisync_scim.connector import ScimConnector
    from provisync_sdk import ConnectorContext

    assert not hasattr(scim_plugin, "provisync_create_connector")
    registry = ConnectorRegistry.discover(disabled=["workday"])
    settings = registry.validate_settings("scim", {"base_url": "http://127.0.0.1:9/v2"}, {})
    connector = registry.create(
        "scim", settings, ConnectorContext(connection_id=1, connection_name="c")
    )
    assert isinstance(connector, ScimConnector)
    assert connector.settings is settings


def test_hooks_are_called_through_the_plugin_manager() -> None:
    """A hook wrapper sees the host's calls: the host goes through ``pm.hook``, not around it."""
    from provisync_sdk import ConnectorContext

    seen: list[str] = []
    spy = types.ModuleType("spy")

    @hookimpl(wrapper=True)
    def provisync_create_connector(connector_type, settings, context):  # type: ignore[no-untyped-def]
        seen.append(connector_type.name)
        return (yield)

    @hookimpl(wrapper=True)
    def provisync_connector_types():  # type: ignore[no-untyped-def]
        seen.append("types")
        return (yield)

    spy.provisync_create_connector = provisync_create_connector  # type: ignore[attr-defined]
    spy.provisync_connector_types = provisync_connector_types  # type: ignore[attr-defined]
    pm, problems = get_plugin_manager(
        load_entry_points=False, extra_plugins=[memory_connector, spy]
    )
    registry = ConnectorRegistry.from_manager(pm, problems)
    assert registry.get("memory") is not None and "types" in seen
    settings = registry.validate_settings("memory", {"store": "s"}, {})
    registry.create("memory", settings, ConnectorContext(connection_id=1, connection_name="c"))
    assert "memory" in seen


def test_plugin_calls_are_traced_when_asked(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PROVISYNC_TRACE_PLUGINS", "1")
    with caplog.at_level(logging.INFO, logger="provisync.plugins"):
        ConnectorRegistry.discover(disabled=["workday"])
    lines = [r.getMessage() for r in caplog.records if r.name == "provisync.plugins"]
    assert any("hook provisync_connector_types" in line and "scim" in line for line in lines)
    assert any("returned" in line and "scim" in line for line in lines), lines
    monkeypatch.delenv("PROVISYNC_TRACE_PLUGINS")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="provisync.plugins"):
        ConnectorRegistry.discover(disabled=["workday"])
    assert not [r for r in caplog.records if r.name == "provisync.plugins"]
