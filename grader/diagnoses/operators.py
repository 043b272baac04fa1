"""Mutation operators: the beginner mistakes of this course as small edits of a Python AST.

Each operator looks at one node and yields the faulty versions a student
writes (a term dropped, the wrong axis, a missing reshape, a copy removed,
two statements swapped, ...). They know no assignment: applied to the
reference they derive the mutant catalogue (grader/diagnoses/derived.py),
applied to a correct notebook they make the benchmark's corpus
(benchmarks/diagnosis_recall.py).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

AXES = (0, 1, -1)
STEP_FACTORS = (1e4, 1e3, 1e2, 1e1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8)   # a step h this much larger or smaller
ARRAY_WRAPPERS = {"reversed", "list", "float"}


@dataclass(frozen=True)
class Edit:
    """One faulty version of a node: the operator's family, the new node, the code before and after
    (text, or nodes unparsed only when asked)."""

    family: str
    node: ast.AST
    before: ast.AST | list | str
    after: ast.AST | list | str

    @property
    def code(self) -> str:
        return self.before if isinstance(self.before, str) else _text(self.before)

    @property
    def mutated(self) -> str:
        return self.after if isinstance(self.after, str) else _text(self.after)


def _edit(family: str, before: ast.AST, after: ast.AST) -> Edit:
    return Edit(family, after, before, after)


def _text(node: ast.AST) -> str:
    return ast.unparse(node)[:80] if not isinstance(node, list) else "; ".join(ast.unparse(n) for n in node)[:80]


def _binop(node: ast.AST) -> Iterator[Edit]:
    if not isinstance(node, ast.BinOp):
        return
    if isinstance(node.op, (ast.Add, ast.Sub)):
        yield _edit("drop_term", node, node.left)
    if isinstance(node.op, ast.Mult):
        yield _edit("drop_factor", node, node.left)
        yield _edit("drop_factor", node, node.right)
    if isinstance(node.op, ast.Div):
        yield _edit("division_dropped", node, node.left)
        yield _edit("division_doubled", node, ast.BinOp(copy.deepcopy(node), ast.Div(), copy.deepcopy(node.right)))


def _keywords(node: ast.AST) -> Iterator[Edit]:
    """`axis=` changed or dropped, `keepdims=` dropped."""
    if not isinstance(node, ast.Call):
        return
    for i, kw in enumerate(node.keywords):
        without = copy.copy(node)
        without.keywords = node.keywords[:i] + node.keywords[i + 1:]
        if kw.arg == "axis" and isinstance(axis_now := _literal(kw.value), int):
            for axis in (a for a in AXES if a != axis_now and {a, axis_now} != {1, -1}):
                other = copy.deepcopy(node)
                other.keywords[i].value = ast.Constant(axis)
                yield _edit("wrong_axis", node, other)
            yield _edit("axis_dropped", node, without)
        if kw.arg == "keepdims":
            yield _edit("keepdims_missing", node, without)


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _transpose(node: ast.AST) -> Iterator[Edit]:
    """`dot(A.T, B)` written `dot(B.T, A)`, and a `.T` left out."""
    if isinstance(node, ast.Call) and _name(node.func) == "dot" and len(node.args) == 2:
        a, b = node.args
        if isinstance(a, ast.Attribute) and a.attr == "T" or isinstance(b, ast.Attribute) and b.attr == "T":
            swapped = copy.deepcopy(node)
            swapped.args = [_flip_t(b), _flip_t(a)]
            yield _edit("transpose_swapped", node, swapped)
    if isinstance(node, ast.Attribute) and node.attr == "T":
        yield _edit("transpose_dropped", node, node.value)


def _flip_t(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return copy.deepcopy(node.value)
    return ast.Attribute(copy.deepcopy(node), "T", ast.Load())


def _calls(node: ast.AST) -> Iterator[Edit]:
    """A reshape or copy left out, a layer's call skipped, a wrapper such as reversed() dropped,
    a parameter stored as a copy."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method, receiver = node.func.attr, node.func.value
        if method == "reshape":
            yield _edit("reshape_missing", node, receiver)
        if method == "copy" and not node.args:
            yield _edit("in_place_write", node, receiver)
        if method in {"forward", "backward"} and node.args:
            yield _edit("call_skipped", node, node.args[0])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ARRAY_WRAPPERS \
            and len(node.args) == 1:
        yield _edit("wrapper_dropped", node, node.args[0])
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Attribute) and isinstance(node.value, ast.Name):
        copied = copy.deepcopy(node)
        copied.value = ast.Call(ast.Attribute(node.value, "copy", ast.Load()), [], [])
        yield _edit("copy_not_view", node, copied)


def _compare(node: ast.AST) -> Iterator[Edit]:
    """A mask's comparison inverted (`x <= 0` as `x > 0`)."""
    flipped = {ast.LtE: ast.Gt, ast.Lt: ast.GtE, ast.Gt: ast.LtE, ast.GtE: ast.Lt}
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in flipped:
        other = copy.deepcopy(node)
        other.ops = [flipped[type(node.ops[0])]()]
        yield _edit("comparison_inverted", node, other)


def _step(node: ast.AST) -> Iterator[Edit]:
    """A step size such as `h = 1e-4` chosen too large or too small."""
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, float) \
            and 0 < node.value.value < 1e-2:
        for factor in STEP_FACTORS:
            other = copy.deepcopy(node)
            other.value = ast.Constant(float(f"{node.value.value * factor:.1g}"))  # as a student writes it
            yield _edit("step_too_large" if factor > 1 else "step_too_small", node, other)


def _body(node: ast.AST) -> Iterator[Edit]:
    """A statement missing, two neighbours swapped, a branch taken always or never, a `return` left out."""
    for field in ("body", "orelse"):
        stmts = getattr(node, field, None)
        if not isinstance(stmts, list) or not stmts or not isinstance(stmts[0], ast.stmt):
            continue
        for i, stmt in enumerate(stmts):
            if _docstring(stmt):
                continue
            rest = stmts[:i] + stmts[i + 1:]
            family = "return_missing" if isinstance(stmt, ast.Return) else "statement_missing"
            yield Edit(family, _with(node, field, rest or [ast.Pass()]), stmt, "")
            if i + 1 < len(stmts) and not isinstance(stmts[i + 1], ast.Return):
                swapped = stmts[:i] + [stmts[i + 1], stmt] + stmts[i + 2:]
                yield Edit("statements_swapped", _with(node, field, swapped), [stmt, stmts[i + 1]],
                           [stmts[i + 1], stmt])
            if isinstance(stmt, ast.If):
                for taken, branch in (("always", stmt.body), ("never", stmt.orelse)):
                    family = f"branch_{taken}"
                    yield Edit(family, _with(node, field, stmts[:i] + (branch or [ast.Pass()]) + stmts[i + 1:]),
                               stmt.test, taken)


def _with(node: ast.AST, field: str, stmts: list[ast.stmt]) -> ast.AST:
    other = copy.copy(node)   # the statements are shared: an edit never changes a node in place
    setattr(other, field, list(stmts))
    return other


def _docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


OPERATORS: tuple[Callable[[ast.AST], Iterator[Edit]], ...] = (
    _binop, _keywords, _transpose, _calls, _compare, _step, _body)


@dataclass(frozen=True)
class Site:
    """One edit of one module: where (the top-level definition, its qualified name) and what."""

    definition: str
    where: str
    top: int                                   # the definition's position in the module
    path: tuple[tuple[str, int | None], ...]   # (field, index in a list field) from the definition to the node
    operator: int                              # which operator, and which of its edits of the node
    choice: int
    family: str
    code: str
    mutated: str


def nodes(top: ast.AST) -> Iterator[tuple[ast.AST, str, tuple]]:
    """Every node of a top-level def or class, depth first, with the qualified name of the
    function it is in (`Affine.backward`) and its path from `top`."""
    def walk(node: ast.AST, where: str, path: tuple) -> Iterator[tuple[ast.AST, str, tuple]]:
        yield node, where, path
        for field, value in ast.iter_fields(node):
            children = enumerate(value) if isinstance(value, list) else [(None, value)]
            for i, child in children:
                if isinstance(child, ast.AST):
                    inner = f"{where}.{child.name}" if isinstance(child, (ast.FunctionDef, ast.ClassDef)) else where
                    yield from walk(child, inner, (*path, (field, i)))
    return walk(top, top.name, ())


def sites(tree: ast.Module) -> Iterator[Site]:
    """Every edit every operator makes anywhere in the module's definitions."""
    for top, definition in enumerate(tree.body):
        if not isinstance(definition, (ast.FunctionDef, ast.ClassDef)):
            continue
        for node, where, path in nodes(definition):
            for o, operator in enumerate(OPERATORS):
                for choice, edit in enumerate(operator(node)):
                    yield Site(definition.name, where, top, path, o, choice, edit.family, edit.code, edit.mutated)


def apply(tree: ast.Module, site: Site, fresh: Callable[[int], ast.stmt] | None = None) -> ast.Module:
    """A copy of the module with the site's edit made (only the edited definition is copied, by
    `fresh(top)` where the caller can parse it anew faster than a deep copy)."""
    edited = fresh(site.top) if fresh else copy.deepcopy(tree.body[site.top])
    parent, node = None, edited
    for field, i in site.path:
        parent, node = node, getattr(node, field) if i is None else getattr(node, field)[i]
    replacement = next(e for c, e in enumerate(OPERATORS[site.operator](node)) if c == site.choice).node
    ast.fix_missing_locations(ast.copy_location(replacement, node))
    if parent is None:
        edited = replacement
    else:
        field, i = site.path[-1]
        if i is None:
            setattr(parent, field, replacement)
        else:
            getattr(parent, field)[i] = replacement
    return ast.Module(body=[*tree.body[:site.top], edited, *tree.body[site.top + 1:]], type_ignores=[])


def never_ends(tree: ast.Module, definition: str) -> bool:
    """A loop in the definition that would never return when run (see `endless`)."""
    top = next((t for t in tree.body if getattr(t, "name", None) == definition), None)
    return top is not None and any(endless(n) for n in ast.walk(top) if isinstance(n, ast.While))


def endless(loop: ast.While) -> bool:
    """A `while` loop whose body never touches a name its test reads (`while not it.finished:`
    without `it.iternext()`, nor any assignment to `it`) and holds no break or return."""
    tested = {n.id for n in ast.walk(loop.test) if isinstance(n, ast.Name)}
    touched = {n.id for s in loop.body for n in ast.walk(s) if isinstance(n, ast.Name)
               and (isinstance(n.ctx, ast.Store) or _called_on(s, n.id))}
    leaves = any(isinstance(n, (ast.Break, ast.Return, ast.Raise)) for s in loop.body for n in ast.walk(s))
    return bool(tested) and not tested & touched and not leaves


def _called_on(stmt: ast.stmt, name: str) -> bool:
    return any(isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and isinstance(c.func.value, ast.Name)
               and c.func.value.id == name for c in ast.walk(stmt))
