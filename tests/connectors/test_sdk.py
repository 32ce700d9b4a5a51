"""The plugin SDK: documented hooks, entry-point loading, isolation of bad plugins."""

from __future__ import annotations

import inspect
import types

from provisync_sdk import NAME, ConnectorRegistry, get_plugin_manager, hookimpl, hookspecs
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
