"""The plugin host: finds plugins, collects their connector types, creates instances.

Built-in plugins are found exactly like third-party ones, through the ``provisync``
entry-point group. A plugin that fails to import or to declare its types is reported in
:attr:`ConnectorRegistry.problems` and skipped; it never stops the host.

Every hook is called through ``pm.hook`` (so ``firstresult``, wrappers and pluggy's call
tracing work); ``PROVISYNC_TRACE_PLUGINS=1`` logs each hook call, its plugins and its result
on the ``provisync.plugins`` logger. This module is the host's: plugins never import it.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy
from pydantic import BaseModel

from provisync_sdk import hookspecs
from provisync_sdk.connector import Connector
from provisync_sdk.markers import NAME, hookimpl
from provisync_sdk.types import ConnectorContext, ConnectorType

log = logging.getLogger(__name__)
trace_log = logging.getLogger("provisync.plugins")
TRACE_ENV = "PROVISYNC_TRACE_PLUGINS"
DEFAULT_FACTORY = "provisync-connector-class"
"""The host's own plugin: creates a connector from its type's ``connector_class``."""


class _ConnectorClassFactory:
    """Runs after every plugin's own ``provisync_create_connector``: a type that carries its
    connector class needs no hook of its plugin's."""

    @hookimpl(trylast=True)
    def provisync_create_connector(
        self, connector_type: ConnectorType, settings: BaseModel, context: ConnectorContext
    ) -> Connector[Any] | None:
        cls = connector_type.connector_class
        return cls(settings, context) if cls is not None else None


def _trace(pm: pluggy.PluginManager) -> None:
    """Log every hook call (pluggy's monitoring), as ``PROVISYNC_TRACE_PLUGINS=1`` asks."""

    def before(hook_name: str, impls: Any, kwargs: Mapping[str, Any]) -> None:
        plugins = ", ".join(impl.plugin_name for impl in impls)
        trace_log.info("hook %s(%s) -> plugins [%s]", hook_name, ", ".join(kwargs), plugins)

    def after(outcome: Any, hook_name: str, impls: Any, kwargs: Mapping[str, Any]) -> None:
        error = outcome.exception
        if error is not None:
            trace_log.info("hook %s raised %s", hook_name, type(error).__name__)
        else:
            trace_log.info("hook %s returned %r", hook_name, outcome.get_result())

    pm.add_hookcall_monitoring(before, after)


def get_plugin_manager(
    *,
    disabled: Iterable[str] = (),
    extra_plugins: Iterable[object | str] = (),
    load_entry_points: bool = True,
) -> tuple[pluggy.PluginManager, list[str]]:
    """Build a plugin manager with every installed plugin registered.

    :param disabled: plugin (entry-point) names not to load.
    :param extra_plugins: modules, module names or objects to register as well (tests).
    :param load_entry_points: whether to load the ``provisync`` entry-point group.
    :return: the manager and the problems met while loading (one line each).
    """
    pm = pluggy.PluginManager(NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(_ConnectorClassFactory(), name=DEFAULT_FACTORY)
    if os.environ.get(TRACE_ENV, "").strip().lower() in ("1", "true", "yes"):
        _trace(pm)
    blocked = set(disabled)
    problems: list[str] = []
    if load_entry_points:
        for ep in sorted(entry_points(group=NAME), key=lambda e: e.name):
            if ep.name in blocked:
                log.info("plugin %s is disabled by settings", ep.name)
                continue
            if pm.get_plugin(ep.name) is not None:
                problems.append(f"plugin {ep.name}: registered twice ({ep.value}); ignored")
                continue
            try:
                pm.register(ep.load(), name=ep.name)
            except Exception as exc:  # a broken plugin must not stop the host
                problems.append(f"plugin {ep.name} failed to load: {type(exc).__name__}: {exc}")
    for plugin in extra_plugins:
        name = plugin if isinstance(plugin, str) else getattr(plugin, "__name__", None)
        if name in blocked:
            continue
        try:
            obj = importlib.import_module(plugin) if isinstance(plugin, str) else plugin
            pm.register(obj, name=name)
        except Exception as exc:
            problems.append(f"plugin {name} failed to load: {type(exc).__name__}: {exc}")
    for line in problems:
        log.error("%s", line)
    return pm, problems


@dataclass(frozen=True, slots=True)
class RegisteredType:
    """A connector type and the plugin that provides it."""

    connector_type: ConnectorType
    plugin_name: str


@dataclass
class ConnectorRegistry:
    """Connector types by name, built once from a plugin manager."""

    pm: pluggy.PluginManager
    types: dict[str, RegisteredType] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_manager(
        cls, pm: pluggy.PluginManager, problems: Iterable[str] = ()
    ) -> ConnectorRegistry:
        registry = cls(pm=pm, problems=list(problems))
        plugins = [(pm.get_name(p), p) for p in pm.get_plugins()]
        for impl in pm.hook.provisync_connector_types.get_hookimpls():
            # Through pluggy, one plugin at a time: a plugin that raises is named and skipped.
            others = [p for name, p in plugins if name != impl.plugin_name]
            caller = pm.subset_hook_caller("provisync_connector_types", remove_plugins=others)
            try:
                declared = [t for result in caller() for t in result]
            except Exception as exc:
                registry._problem(f"plugin {impl.plugin_name} failed to declare types: {exc!r}")
                continue
            for ctype in declared:
                owner = registry.types.get(ctype.name)
                if owner is not None:
                    registry._problem(
                        f"plugin {impl.plugin_name} claims connector {ctype.name!r}, "
                        f"already provided by plugin {owner.plugin_name}; refused"
                    )
                    continue
                registry.types[ctype.name] = RegisteredType(ctype, impl.plugin_name)
        return registry

    @classmethod
    def discover(cls, **kwargs: Any) -> ConnectorRegistry:
        """Build the registry from installed plugins (see :func:`get_plugin_manager`)."""
        pm, problems = get_plugin_manager(**kwargs)
        return cls.from_manager(pm, problems)

    def _problem(self, line: str) -> None:
        log.error("%s", line)
        self.problems.append(line)

    def get(self, name: str) -> ConnectorType | None:
        registered = self.types.get(name)
        return registered.connector_type if registered else None

    def plugin_of(self, name: str) -> str | None:
        registered = self.types.get(name)
        return registered.plugin_name if registered else None

    def all_types(self) -> list[RegisteredType]:
        return [self.types[name] for name in sorted(self.types)]

    def validate_settings(
        self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, Any]
    ) -> BaseModel:
        """Validate stored settings and secrets with the type's settings model.

        :raises KeyError: the connector type is not installed.
        :raises pydantic.ValidationError: the settings are invalid.
        """
        registered = self.types[name]
        return registered.connector_type.settings_model.model_validate({**settings, **secrets})

    def create(self, name: str, settings: BaseModel, context: ConnectorContext) -> Connector[Any]:
        """Create an instance through ``pm.hook.provisync_create_connector`` (first result):
        a plugin's own hook, else the type's ``connector_class``.

        :raises KeyError: the connector type is not installed.
        :raises RuntimeError: no plugin created an instance.
        """
        registered = self.types[name]
        instance = self.pm.hook.provisync_create_connector(
            connector_type=registered.connector_type, settings=settings, context=context
        )
        if not isinstance(instance, Connector):
            raise RuntimeError(f"plugin {registered.plugin_name} created no connector for {name!r}")
        return instance
