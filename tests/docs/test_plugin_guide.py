"""docs/plugins.md documents every hook, Connector method, SDK name and kit field.

Each hook and Connector method must appear with its exact signature in a code block and a
section titled by its name that mentions every parameter, so adding or changing one without
documenting it fails here.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import provisync_sdk
from provisync_sdk import hookspecs
from provisync_sdk.connector import Connector
from provisync_sdk.testing import ConformanceTarget

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def signature_of(function: Callable[..., Any]) -> str:
    """``def name(a: T, b: U = 1) -> R`` with the annotations as written in the source."""
    parts = []
    for parameter in inspect.signature(function).parameters.values():
        text = parameter.name
        if parameter.annotation is not inspect.Parameter.empty:
            text += f": {parameter.annotation}"
        if parameter.default is not inspect.Parameter.empty:
            text += f" = {parameter.default!r}"
        parts.append(text)
    returned = inspect.signature(function).return_annotation
    arrow = "" if returned is inspect.Signature.empty else f" -> {returned}"
    prefix = "async def" if inspect.iscoroutinefunction(function) else "def"
    return f"{prefix} {function.__name__}({', '.join(parts)}){arrow}"


def mentions(text: str, name: str) -> bool:
    """``name`` in backticks, alone or called (`` `f(x)` ``) or qualified (`` `A.b` ``)."""
    return re.search(rf"`(?:\w+\.)?{re.escape(name)}(?:`|\(|\.)", text) is not None


def section(text: str, title: str) -> str:
    """The text under the heading that names ``title`` in backticks, up to the next heading."""
    match = re.search(rf"^(#+) .*`{re.escape(title)}`.*$", text, re.MULTILINE)
    assert match, f"docs/plugins.md has no heading for `{title}`"
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


HOOKS = sorted(
    (name, function)
    for name, function in vars(hookspecs).items()
    if name.startswith("provisync_") and callable(function)
)
METHODS = sorted(
    (name, function)
    for name, function in vars(Connector).items()
    if not name.startswith("_") and callable(function)
)


def test_the_sdk_has_what_the_guide_is_checked_against() -> None:
    assert [name for name, _ in HOOKS] == [
        "provisync_connector_types",
        "provisync_create_connector",
    ]
    assert {"test_connection", "read", "reconcile", "aclose"} <= {name for name, _ in METHODS}


@pytest.mark.parametrize(("name", "function"), HOOKS, ids=[name for name, _ in HOOKS])
def test_every_hook_is_documented(name: str, function: Callable[..., Any]) -> None:
    text = guide()
    assert signature_of(function) in text, f"the guide lacks `{signature_of(function)}`"
    body = section(text, name)
    for parameter in inspect.signature(function).parameters:
        assert f"`{parameter}`" in body, f"the section on {name} does not explain `{parameter}`"
    assert "return" in body.lower(), f"the section on {name} does not say what it returns"


@pytest.mark.parametrize(("name", "function"), METHODS, ids=[name for name, _ in METHODS])
def test_every_connector_method_is_documented(name: str, function: Callable[..., Any]) -> None:
    text = guide()
    assert signature_of(function) in text, f"the guide lacks `{signature_of(function)}`"
    body = section(text, f"Connector.{name}")
    for parameter in list(inspect.signature(function).parameters)[1:]:
        assert f"`{parameter}`" in body, f"the section on {name} does not explain `{parameter}`"


@pytest.mark.parametrize("name", sorted(provisync_sdk.__all__))
def test_every_public_sdk_name_is_documented(name: str) -> None:
    text = guide()
    assert mentions(text, name), f"the guide never mentions `{name}`"
    obj = getattr(provisync_sdk, name)
    if dataclasses.is_dataclass(obj):
        for field in dataclasses.fields(obj):
            assert mentions(text, field.name), f"the guide never mentions `{name}.{field.name}`"
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        for member in obj:
            assert f"`{member.value}`" in text, f"the guide never mentions `{name}.{member.value}`"
    if isinstance(obj, type) and issubclass(obj, Exception):
        assert f"`{obj.code}`" in text, f"the guide never gives the code of `{name}`"  # type: ignore[attr-defined]


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(ConformanceTarget)])
def test_every_conformance_target_field_is_documented(field: str) -> None:
    assert mentions(section(guide(), "ConformanceTarget"), field), field


def test_the_guide_covers_installation_and_isolation() -> None:
    text = guide()
    for phrase in (
        "[project.entry-points.provisync]",
        "PROVISYNC_DISABLE_PLUGINS",
        "PROVISYNC_EXTRA_PLUGINS",
        "pluginProblems",
        'pytest_plugins = ["provisync_sdk.testing.conformance"]',
        "conformance_target",
        "ConnectorConformance",
    ):
        assert phrase in text, f"the guide never mentions {phrase}"
