"""The shape of the code: imports flow one way (ui -> claims.service -> claims.*, vision_models), with no
cycle and no arrow from the domain up to the UI; modules stay small enough to hold in one's head."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("claims", "vision_models", "ui")
MAX_LINES = 400
# A module may be longer when its first lines say why ("long because ..." in its docstring).
LONG_MARKER = "long because"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Project modules `name` imports anywhere in its file (inside functions too: a lazy import is an arrow)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _importers_of_parent(graph):
    """A package's __init__ importing its own submodules is not a cycle worth reporting when the submodule
    imports only siblings; we report real cycles only, so drop child -> parent-package arrows."""
    return {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in graph.items()}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_import_graph_has_no_cycle():
    assert _cycles(_importers_of_parent(GRAPH)) == []


@pytest.mark.parametrize("lower", ["claims", "vision_models"])
def test_nothing_below_the_ui_imports_it(lower):
    arrows = sorted(
        (name, target)
        for name, targets in GRAPH.items()
        if name.split(".")[0] == lower
        for target in targets
        if target.split(".")[0] == "ui"
    )
    assert arrows == []


def test_the_vision_package_does_not_import_the_claims_domain():
    arrows = sorted(
        (name, target)
        for name, targets in GRAPH.items()
        if name.startswith("vision_models")
        for target in targets
        if target.startswith("claims")
    )
    assert arrows == []


def test_the_web_apps_reach_the_domain_through_the_service():
    # Plus the shared vocabulary: errors, settings, the lifecycle's groups, the policy's reason texts, and the
    # one-time reviewer password announcement. No store, workflow or fraud code in a handler.
    allowed = (
        "claims.service",
        "claims.errors",
        "claims.config",
        "claims.lifecycle",
        "claims.policy",
        "claims.accounts",
    )
    for name, targets in GRAPH.items():
        if name.startswith("ui.") and name != "ui.cli":  # the command line opens stores and trains models
            assert all(t == "claims" or not t.startswith("claims") or t.startswith(allowed) for t in targets), (
                name,
                targets,
            )


def test_no_module_is_long_without_saying_why():
    long = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES and LONG_MARKER not in text[:1500]:
            long.append((name, text.count("\n")))
    assert long == []
