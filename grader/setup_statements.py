"""Set-up statements: the cheap, side-effect-free top-level code that definitions rely on.

In definitions mode the grader skips top-level work (training loops, data loading), but correct
code often uses module-level set-up inside its definitions: `rng = np.random.default_rng(2024)`
read in `__init__`, constants computed with numpy, a label table built by a comprehension,
`np.set_printoptions(...)`. Such a statement runs when

- it is an assignment to plain names, or a bare call of a numpy configuration function;
- everything it evaluates is cheap and side-effect free: constants, names, operators,
  subscripts, containers, comprehensions, and calls of numpy functions (not its file I/O),
  of a short list of pure builtins, or of methods of values made that way (`rng.normal(...)`);
  never a loop, a user-defined function or class, `open`, `print`, or an import;
- for an assignment: some definition (function or class body, or another set-up statement that
  is needed) reads a name it binds.

It still runs under the per-statement time limit, like every statement.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

PURE_BUILTINS = frozenset({
    "range", "len", "list", "tuple", "dict", "set", "frozenset", "zip", "enumerate", "sorted", "reversed",
    "min", "max", "sum", "abs", "int", "float", "complex", "str", "bool", "round", "divmod", "pow", "slice",
    "map", "filter", "all", "any", "chr", "ord", "isinstance",
})
NUMPY_IO = frozenset({
    "load", "loadtxt", "genfromtxt", "fromfile", "fromregex", "save", "savez", "savez_compressed", "savetxt",
    "memmap", "tofile", "DataSource", "lib", "ctypeslib", "testing", "f2py", "distutils",
})
NUMPY_CONFIG = frozenset({"set_printoptions", "seterr", "seed"})


def setup(nodes: list[ast.stmt], kept: Callable[[ast.stmt], bool]) -> set[int]:
    """The ids of the top-level nodes (in notebook order) that run as set-up; `kept` tells the
    statements that load anyway (imports, definitions, literal assignments)."""
    numpy_names = _numpy_names(nodes)
    known = set(numpy_names)   # names a set-up statement may read: numpy, earlier set-up and kept statements
    candidates: dict[int, ast.stmt] = {}
    for node in nodes:
        if kept(node):
            known |= _bound(node)
        elif _is_config_call(node, numpy_names) or (
                isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
                and all(_plain(t) for t in _targets(node)) and _cheap(node.value, numpy_names, known)):
            candidates[id(node)] = node
            known |= _bound(node)
    read = set().union(set(), *(_reads(n) for n in nodes if kept(n)))
    chosen: set[int] = set()
    changed = True
    while changed:  # a needed set-up statement makes the statements it reads from needed too
        changed = False
        for key, node in candidates.items():
            if key not in chosen and (isinstance(node, ast.Expr) or _bound(node) & read):
                chosen.add(key)
                read |= _reads(node)
                changed = True
    return chosen


def _numpy_names(nodes: list[ast.stmt]) -> set[str]:
    """Names bound to numpy or to something imported from it (`np`, `default_rng`)."""
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] == "numpy"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "numpy" and not node.level:
            found |= {a.asname or a.name for a in node.names if a.name != "*" and a.name not in NUMPY_IO}
    return found


def _is_config_call(node: ast.stmt, numpy_names: set[str]) -> bool:
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    chain = _chain(node.value.func)
    return bool(chain) and chain[0] in numpy_names and chain[-1] in NUMPY_CONFIG and \
        _cheap(node.value, numpy_names, numpy_names)


def _cheap(expr: ast.AST, numpy_names: set[str], known: set[str]) -> bool:
    """Evaluating `expr` reads only `known` names and calls nothing but numpy (no I/O), pure
    builtins, or methods of values set-up made (`rng.normal`)."""
    local = {n.id for sub in ast.walk(expr) if isinstance(sub, ast.comprehension)
             for n in ast.walk(sub.target) if isinstance(n, ast.Name)}
    for sub in ast.walk(expr):
        if isinstance(sub, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda)):
            return False
        if isinstance(sub, ast.Name) and sub.id not in known | local | PURE_BUILTINS:
            return False
        if isinstance(sub, ast.Call):
            chain = _chain(sub.func)
            if not chain or NUMPY_IO & set(chain[1:]) or (chain[0] in numpy_names and chain[-1] in NUMPY_IO):
                return False
            if len(chain) == 1 and chain[0] not in PURE_BUILTINS | numpy_names:
                return False
    return True


def _chain(func: ast.expr) -> list[str]:
    """`np.random.default_rng` -> ['np', 'random', 'default_rng']; [] for anything else."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    return [func.id, *reversed(parts)] if isinstance(func, ast.Name) else []


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _plain(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(_plain(e) for e in target.elts)


def _bound(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds (imports, def/class, assignment targets)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {a.asname or a.name.split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return {n.id for t in _targets(node) for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _reads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
