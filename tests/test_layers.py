"""The core's layers as the tree shows them: no import cycle in grader/, nothing of the service,
no module over 400 lines, and a harness that imports only what the sandbox is given.

The import graph is read from the source (ast), every import counted, also those inside
functions; `inside.X` (how main.py names the harness inside the sandbox) is grader.inside.X.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

CORE = ("grader", "reference")


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """The modules `path` imports (submodules where a name is one), of any top-level package."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]) if node.level else ""
            name = ".".join(p for p in (base, node.module or "") if p)
            for alias in node.names:
                found.add(f"{name}.{alias.name}" if f"{name}.{alias.name}" in known else name)
    return {"grader." + n if n.split(".")[0] == "inside" else n for n in found}


def _graph() -> dict[str, set[str]]:
    paths = [p for top in CORE for p in (REPO / top).rglob("*.py")]
    known = {_module(p) for p in paths}
    known |= {n.removeprefix("grader.") for n in known if n.startswith("grader.inside")}
    return {_module(p): _imports(p, known) for p in paths}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the graph's own modules, if there is any (depth-first search)."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node] & graph.keys()):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = "done"
        path.pop()
        return None

    return next((found for node in sorted(graph) if node not in state and (found := visit(node))), None)


def test_the_core_has_no_import_cycle():
    graph = _graph()
    assert "grader.pipeline" in graph and "grader.sandbox.session" in graph["grader.sandbox.execution"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_core_imports_nothing_of_the_service_or_the_workers():
    leaks = {module: sorted(n for n in imported if n.split(".")[0] in ("service", "workers"))
             for module, imported in _graph().items()}
    assert {m: n for m, n in leaks.items() if n} == {}


def test_the_harness_imports_only_itself_the_standard_library_and_numpy():
    """In the sandbox only grader/inside/*.py and numpy exist: any other import would fail there."""
    for module, imported in _graph().items():
        if module.startswith("grader.inside"):
            outside = {n for n in imported if n.split(".")[0] in ("grader", "reference") and
                       not n.startswith("grader.inside")}
            assert outside == set(), (module, outside)


def test_the_pure_steps_reach_no_subprocess_starting_module():
    """Checks, specs, scoring, explaining and the shared types import nothing of grader/sandbox/,
    not even through another module."""
    graph = _graph()
    for start in ("grader.checks", "grader.spec", "grader.types", "grader.explaining", "grader.scoring"):
        reached, todo = set(), [start]
        while todo:
            for target in graph.get(todo.pop(), set()) - reached:
                reached.add(target)
                todo.append(target)
        assert not any(n.startswith("grader.sandbox") for n in reached), start


def test_no_module_of_the_core_is_over_400_lines():
    long = {str(p.relative_to(REPO)): n for top in CORE for p in (REPO / top).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}
