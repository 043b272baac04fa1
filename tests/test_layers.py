"""The layers as the tree shows them: no import cycle in grader/ or service/, nothing of the service in
the core, no module over 400 lines, a harness that imports only what the sandbox is given, no page
importing an API route, one file name per service module, every query in the store.

The import graph is read from the source (ast), every import counted, also those inside
functions; `inside.X` (how main.py names the harness inside the sandbox) is grader.inside.X.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

CORE = ("grader", "reference")
SERVICE = ("service", "workers")


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


def _graph(tops: tuple[str, ...] = CORE) -> dict[str, set[str]]:
    paths = [p for top in tops for p in (REPO / top).rglob("*.py")]
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


def _reached(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module importing `start` imports, through any other (a module's packages' __init__ included)."""
    reached, todo = set(), [start]
    while todo:
        name = todo.pop()
        parents = {".".join(name.split(".")[:n]) for n in range(1, name.count(".") + 1)}
        for target in (graph.get(name, set()) | parents) - reached:
            reached.add(target)
            todo.append(target)
    return reached


def test_the_pure_steps_reach_no_subprocess_starting_module():
    """Checks, specs, scoring, explaining and the shared types import nothing of grader/sandbox/,
    not even through another module."""
    graph = _graph()
    for start in ("grader.checks", "grader.spec", "grader.types", "grader.explaining", "grader.scoring"):
        assert not any(n.startswith("grader.sandbox") for n in _reached(graph, start)), start


def test_the_workers_and_the_store_reach_no_web_framework():
    """A worker starts with the grader, the store and what pages show of a result, not FastAPI or Starlette
    (a quarter of a second of imports at every worker start, for nothing a worker does)."""
    graph = _graph(SERVICE)
    for start in ("workers.tasks", "service.store"):
        web = sorted(n for n in _reached(graph, start) if n.split(".")[0] in ("fastapi", "starlette"))
        assert web == [], (start, web)


def test_no_module_of_the_core_or_the_service_is_over_400_lines():
    long = {str(p.relative_to(REPO)): n for top in (*CORE, *SERVICE) for p in (REPO / top).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_the_service_has_no_import_cycle_and_no_page_imports_an_api_route():
    graph = _graph(SERVICE)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    pages = {m: sorted(n for n in imported if n.startswith("service.api"))
             for m, imported in graph.items() if m.startswith("service.web")}
    assert {m: n for m, n in pages.items() if n} == {}


def test_no_two_modules_of_the_service_share_a_file_name():
    """One name, one thing: `views.py` or `course.py` twice in service/ makes a reader guess which."""
    names: dict[str, list[str]] = {}
    for p in (REPO / "service").rglob("*.py"):
        if p.name != "__init__.py" and "migrations" not in p.parts:
            names.setdefault(p.name, []).append(str(p.relative_to(REPO)))
    assert {n: where for n, where in names.items() if len(where) > 1} == {}


def test_every_query_of_the_service_lives_in_the_store():
    """Routes, pages, lifecycle and workers call store methods; only service/store/ (and the
    migrations, the engine set-up, the models and their column clocks) import SQLAlchemy's query side or open a
    session."""
    allowed = ("service.store", "service.migrations", "service.db", "service.models", "service.clocks")
    speaking = {m: sorted(n for n in imported if n.startswith("sqlalchemy") and not n.startswith("sqlalchemy.exc"))
                for m, imported in _graph(SERVICE).items() if not m.startswith(allowed)}
    sessions = {_module(p) for top in SERVICE for p in (REPO / top).rglob("*.py")
                if not _module(p).startswith(allowed) and ".sessions" in p.read_text(encoding="utf-8")}
    assert {m: n for m, n in speaking.items() if n} == {} and sessions == set()
