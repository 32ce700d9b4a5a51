"""The layering rules, read from the import statements of every module (DESIGN.md, issue 15).

- the SDK (``provisync_sdk``) imports nothing of the backend nor of any plugin;
- a plugin (``provisync_scim``, ``provisync_workday``) imports only the SDK and itself;
- the backend's core (everything in ``provisync`` but the API layer and the shells that
  compose it: ``provisync.cli``, ``provisync.demo``, ``python -m provisync``) never imports
  the API layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_ROOTS = [ROOT / "gql", ROOT / "connectors"]
PLUGINS = ("provisync_scim", "provisync_workday")
SHELLS = ("provisync.cli", "provisync.demo", "provisync.__main__")


def modules() -> Iterator[tuple[str, Path]]:
    for root in SOURCE_ROOTS:
        for path in sorted(root.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def imported(module: str, path: Path) -> set[str]:
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.add(node.module)
    return names


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


ALL = dict(modules())


def test_every_source_root_holds_only_prefixed_packages() -> None:
    tops = {name.split(".")[0] for name in ALL}
    assert tops == {"provisync", "provisync_sdk", *PLUGINS}


@pytest.mark.parametrize("module", sorted(m for m in ALL if within(m, "provisync_sdk")))
def test_sdk_imports_nothing_of_the_backend_or_plugins(module: str) -> None:
    bad = {n for n in imported(module, ALL[module]) if within(n, "provisync", *PLUGINS)}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", sorted(m for m in ALL if within(m, *PLUGINS)))
def test_plugins_import_only_the_sdk(module: str) -> None:
    own = module.split(".")[0]
    others = tuple(p for p in PLUGINS if p != own)
    bad = {n for n in imported(module, ALL[module]) if within(n, "provisync", *others)}
    assert not bad, f"{module} imports {sorted(bad)}"


CORE = sorted(
    m for m in ALL if within(m, "provisync") and not within(m, "provisync.api", *SHELLS)
)


@pytest.mark.parametrize("module", CORE)
def test_core_never_imports_the_api_layer(module: str) -> None:
    bad = {n for n in imported(module, ALL[module]) if within(n, "provisync.api", *SHELLS)}
    assert not bad, f"{module} (core) imports {sorted(bad)}"
