"""The plugin host: finds plugins, collects their connector types, creates instances.

Built-in plugins are found exactly like third-party ones, through the ``provisync``
entry-point group. A plugin that fails to import or to declare its types is reported in
:attr:`ConnectorRegistry.problems` and skipped; it never stops the host.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy
from pydantic import BaseModel

from provisync_sdk import hookspecs
from provisync_sdk.connector import Connector
from provisync_sdk.markers import NAME
from provisync_sdk.types import ConnectorContext, ConnectorType

log = logging.getLogger(__name__)


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
        for impl in pm.hook.provisync_connector_types.get_hookimpls():
            try:
                declared: list[ConnectorType] = list(impl.function())  # type: ignore[call-overload]
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
        """Create an instance through the owning plugin's ``provisync_create_connector``.

        :raises KeyError: the connector type is not installed.
        :raises RuntimeError: the owning plugin returned no instance.
        """
        registered = self.types[name]
        for impl in self.pm.hook.provisync_create_connector.get_hookimpls():
            if impl.plugin_name != registered.plugin_name:
                continue
            instance = impl.function(
                connector_type=registered.connector_type, settings=settings, context=context
            )
            if instance is not None:
                return instance  # type: ignore[no-any-return,return-value]
        raise RuntimeError(f"plugin {registered.plugin_name} created no connector for {name!r}")
