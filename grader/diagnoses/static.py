"""Static evidence: recurring mistakes read from the student's own source with `ast` (never run).

Each rule looks for a pattern that is wrong wherever it appears in this
assignment's code, so a finding is a fact about the source, not a guess.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from grader.diagnoses.operators import endless

NUMPY_NAMES = frozenset(dir(np))
# aliases of Python's own types that NumPy 1.24 removed (the book's code still writes `dtype=np.int`)
REMOVED_ALIASES = {"int": "int", "float": "float", "bool": "bool", "object": "object", "complex": "complex",
                   "str": "str", "long": "int", "unicode": "str"}
_BATCH_NAME = re.compile(r"batch_?size", re.I)   # `batch_size`, `batchsize`; not `x_batch` (a batch itself)


@dataclass(frozen=True)
class Finding:
    id: str
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """One top-level statement of the notebook: its cell, first line there, and text."""

    cell: str
    line: int
    text: str


def findings(sources: list[Source], numpy_aliases: set[str]) -> list[Finding]:
    """Every finding in the sources, in source order, one per rule id (the first occurrence)."""
    found: dict[str, Finding] = {}
    for src in sources:
        try:
            tree = ast.parse(src.text)
        except (SyntaxError, ValueError, RecursionError):
            continue
        lines = src.text.splitlines()
        for rule_id, node, facts in _scan(tree, numpy_aliases):
            text = lines[node.lineno - 1].strip()[:120] if 0 < node.lineno <= len(lines) else ""
            where = {"cell": src.cell, "line": src.line + node.lineno - 1, "text": text}
            found.setdefault(rule_id, Finding(rule_id, {**where, **facts}))
    return list(found.values())


def _scan(tree: ast.Module, np_names: set[str]) -> Iterator[tuple[str, ast.AST, dict]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Compare) \
                and any(isinstance(op, ast.Eq) for op in node.value.ops):
            yield "comparison_as_statement", node, {}
        elif isinstance(node, (ast.For, ast.While)) and any(isinstance(s, ast.Return) for s in node.body):
            yield "return_inside_loop", node, {}
        elif isinstance(node, ast.While) and endless(node):
            yield "loop_never_advances", node, {}
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in np_names \
                and node.attr in REMOVED_ALIASES.keys() - NUMPY_NAMES:
            yield "numpy_alias_removed", node, {"name": node.attr, "builtin": REMOVED_ALIASES[node.attr]}
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in np_names \
                and node.attr not in NUMPY_NAMES:
            close = difflib.get_close_matches(node.attr, NUMPY_NAMES, n=1, cutoff=0.7)
            if close:
                yield "numpy_name_misspelt", node, {"name": node.attr, "suggestion": close[0]}
        elif isinstance(node, ast.Assign) and _batch_size_from_elsewhere(node):
            yield "batch_size_wrong_expression", node, {}
        elif isinstance(node, ast.Call) and _log_without_delta(node, np_names):
            yield "log_without_delta", node, {}
    for fn in tree.body:
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _free_function(fn)
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for fn in (n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            yield from _function(fn)


def _batch_size_from_elsewhere(node: ast.Assign) -> bool:
    """`batch_size = t.argmax(axis=1)`: a batch size must come from a shape, a size or len()."""
    if not any(isinstance(t, ast.Name) and _BATCH_NAME.search(t.id) for t in node.targets):
        return False
    if isinstance(node.value, (ast.Constant, ast.Name)):
        return False
    for sub in ast.walk(node.value):
        if isinstance(sub, ast.Attribute) and sub.attr in {"shape", "size", "ndim"}:
            return False
        if isinstance(sub, ast.Call) and _called(sub) in {"len", "int", "size", "shape"}:
            return False
    return True


def _log_without_delta(node: ast.Call, np_names: set[str]) -> bool:
    """`np.log(y[...])` with nothing added: a zero probability gives -inf (the book adds 1e-7)."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "log" and isinstance(func.value, ast.Name)
            and func.value.id in np_names and node.args):
        return False
    for sub in ast.walk(node.args[0]):
        if isinstance(sub, (ast.Constant, ast.BinOp)):
            return False
        if isinstance(sub, ast.Call) and _called(sub) in {"maximum", "clip", "fmax", "where"}:
            return False
    return True


def _free_function(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[str, ast.AST, dict]]:
    """A module-level function: `self` there is an undefined name unless it binds it."""
    params = {a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]}
    bound = {t.id for n in ast.walk(fn) if isinstance(n, (ast.Assign, ast.For))
             for t in ast.walk(n.targets[0] if isinstance(n, ast.Assign) else n.target) if isinstance(t, ast.Name)}
    if "self" not in params | bound:
        use = next((n for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == "self"), None)
        if use is not None:
            yield "self_outside_method", use, {"function": fn.name}
    yield from _function(fn)


def _function(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[str, ast.AST, dict]]:
    yield from _fresh_layer(fn)
    returned = {n.value.id for n in ast.walk(fn) if isinstance(n, ast.Return) and isinstance(n.value, ast.Name)}
    for loop in (n for n in ast.walk(fn) if isinstance(n, (ast.For, ast.While))):
        for sub in (s for stmt in loop.body for s in ast.walk(stmt)):
            if isinstance(sub, ast.Assign) and _empty_dict(sub.value) and \
                    any(isinstance(t, ast.Name) and t.id in returned for t in sub.targets):
                yield "result_dict_rebuilt_in_loop", sub, {}


def _fresh_layer(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[str, ast.AST, dict]]:
    """`last = SoftmaxWithLoss()` then `last.backward(...)` with no `last.forward(...)` in between."""
    calls: dict[str, set[str]] = {}
    for n in ast.walk(fn):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name):
            calls.setdefault(n.func.value.id, set()).add(n.func.attr)
    for n in ast.walk(fn):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                and isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Name) and not n.value.args:
            name = n.targets[0].id
            if "backward" in calls.get(name, set()) and "forward" not in calls.get(name, set()):
                yield "fresh_layer_without_forward", n, {"name": name, "cls": n.value.func.id}


def _called(call: ast.Call) -> str:
    """The name a call ends in: `len(...)` -> len, `np.size(...)` -> size."""
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _empty_dict(value: ast.expr) -> bool:
    return (isinstance(value, ast.Dict) and not value.keys) or (
        isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in {"dict", "OrderedDict"}
        and not value.args)
