"""Code extraction: turn a notebook's code cells into a program of top-level statements.

IPython syntax is neutralised here (it never runs), each top-level statement
is classified, and in the default "definitions" mode only imports, def,
class and literal assignments are kept, plus cheap set-up a definition
needs (grader/setup_statements.py): training loops and other top-level
work are skipped and listed in the report. A `%%writefile name.py` cell is
a module: `from name import ...` brings in its statements (nothing is
written to disk).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from grader.intake import Cell
from grader.setup_statements import setup

_MAGIC_LINE = re.compile(r"^(\s*)(%|!|[\w.,\s]+=\s*[%!](?!=))")
_HELP_LINE = re.compile(r"^\s*[\w.]+\?\??\s*$")
_DEF_NAME = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)", re.M)
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
KEPT = {"import", "definition", "assignment"}  # kinds that load in definitions mode (set-up aside)
_WRITEFILE = re.compile(r"^\s*%%writefile\s+(-a\s+|--append\s+)?(\S+\.py)\s*$")


@dataclass(frozen=True)
class Statement:
    id: int
    cell: Cell
    line: int                       # first line within the cell, from 1
    source: str                     # the statement's text; its first line is `line` of the cell
    kind: str                       # import | definition | assignment | setup | code
    defines: tuple[str, ...] = ()   # names bound by def, class or a literal assignment
    methods: tuple[str, ...] = ()   # for a class: the methods (and other attributes) its body binds
    bases: tuple[str, ...] = ()     # for a class: base classes named plainly; for `A = B`: ("B",)
    imports: dict[str, str] = field(default_factory=dict)  # bound name (or "*") -> module

    @property
    def filename(self) -> str:
        return self.cell.label


@dataclass(frozen=True)
class Skipped:
    cell: Cell
    line: int
    reason: str                     # code | magic_cell | syntax_error
    detail: str = ""
    names: tuple[str, ...] = ()     # names it would have bound, had it run


@dataclass(frozen=True)
class Program:
    statements: tuple[Statement, ...]   # what will run, in notebook order
    skipped: tuple[Skipped, ...]


def extract(cells: tuple[Cell, ...], mode: str = "definitions") -> Program:
    statements: list[Statement] = []
    skipped: list[Skipped] = []
    modules: dict[str, list[tuple[Cell, str]]] = {}
    imported: set[str] = set()
    parsed = [_parsed(cell) for cell in cells]   # each cell parsed once, for set-up and for statements
    needed = _needed_setup(parsed) if mode == "definitions" else set()
    for cell, written, text, chunks in parsed:
        if written is not None:  # `%%writefile layers.py`: a module for the notebook's imports, never a file
            name, append, body = written
            modules[name] = [*(modules.get(name, []) if append else []), (cell, body)]
            continue
        if text is None:
            skipped.append(Skipped(cell, 1, "magic_cell", cell.source.splitlines()[0]))
            continue
        _cell(cell, text, mode, statements, skipped, modules, imported, needed, chunks)
    for name, parts in modules.items():
        if name not in imported:
            skipped.extend(Skipped(cell, 1, "magic_cell", cell.source.lstrip().splitlines()[0]) for cell, _ in parts)
    return Program(tuple(statements), tuple(skipped))


Chunks = list[tuple[int, ast.Module | None, str | None]]   # (first line, tree or None, syntax error or None)


def _parsed(cell: Cell) -> tuple[Cell, tuple[str, bool, str] | None, str | None, Chunks]:
    """A cell as a written module, or its text without magics (None: a magic cell) and its chunks."""
    written = written_module(cell.source)
    text = None if written is not None else strip_magics(cell.source)
    return cell, written, text, _parse_chunks(text, text.splitlines()) if text is not None else []


def _needed_setup(parsed: list[tuple[Cell, object, str | None, Chunks]]) -> set[tuple[int, int]]:
    """(cell index, line) of the top-level statements that run as set-up a definition needs."""
    nodes = [(cell, node) for cell, _, _, chunks in parsed for _, tree, _ in chunks if tree is not None
             for node in tree.body]
    chosen = setup([node for _, node in nodes], lambda node: classify(node) in KEPT)
    return {(cell.index, node.lineno) for cell, node in nodes if id(node) in chosen}


def _cell(cell: Cell, text: str, mode: str, statements: list[Statement], skipped: list[Skipped],
          modules: dict[str, list[tuple[Cell, str]]], imported: set[str], needed: set[tuple[int, int]],
          chunks: Chunks | None = None) -> None:
    """A cell's statements (its `chunks` parsed already, or parsed here); `from m import ...` of a
    %%writefile module brings in that module's statements."""
    lines = text.splitlines()
    for first_line, tree, error in _parse_chunks(text, lines) if chunks is None else chunks:
        if error is not None:
            skipped.append(Skipped(cell, first_line, "syntax_error", error,
                                   tuple(_DEF_NAME.findall(_chunk_text(lines, first_line)))))
            continue
        for node in tree.body:
            kind = classify(node)
            kind = "setup" if kind == "code" and (cell.index, node.lineno) in needed else kind
            if kind == "noise":
                continue
            if mode == "definitions" and kind == "code":
                detail = lines[node.lineno - 1][node.col_offset:][:80]
                skipped.append(Skipped(cell, node.lineno, "code", detail, tuple(_bound_names(node))))
                continue
            module = node.module if isinstance(node, ast.ImportFrom) and not node.level else None
            if module in modules and module not in imported:
                imported.add(module)
                for part_cell, part in modules[module]:
                    _cell(part_cell, part, mode, statements, skipped, modules, imported, needed)
                continue
            if module in modules:  # imported again: its definitions are already there
                continue
            statements.append(_statement(len(statements), cell, lines, node, kind))


def written_module(source: str) -> tuple[str, bool, str] | None:
    """`%%writefile [-a] pkg/name.py` -> ("pkg.name", append?, body with the magic line blanked)."""
    lines = source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    match = _WRITEFILE.match(lines[first]) if first is not None else None
    if match is None:
        return None
    path = match.group(2).removeprefix("./")
    lines[first] = ""
    return path[:-3].replace("/", "."), bool(match.group(1)), strip_magics("\n".join(lines)) or ""


def strip_magics(source: str) -> str | None:
    """Replace IPython-only lines by `pass` (keeping indentation); None for a non-Python cell."""
    lines = source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split()[0] if lines[first].strip() != "%%" else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None
        lines[first] = ""
    out = []
    for line in lines:
        match = _MAGIC_LINE.match(line)
        if (match and not line.lstrip().startswith("!=")) or _HELP_LINE.match(line):
            indent = match.group(1) if match else re.match(r"\s*", line).group(0)
            out.append(f"{indent}pass")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def classify(node: ast.stmt) -> str:
    """import | definition | assignment | code | noise (pass, bare constants: dropped silently)."""
    try:
        return _classify(node)
    except RecursionError:  # absurdly nested expressions are not definitions
        return "code"


def _classify(node: ast.stmt) -> str:
    if isinstance(node, ast.Pass) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        return "noise"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "import"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return "definition"
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and _is_literal_assignment(node):
        return "assignment"
    if isinstance(node, ast.Try) and all(
        _classify(n) in {"import", "noise"} for n in [*node.body, *(s for h in node.handlers for s in h.body)]
    ):
        return "import"
    return "code"


def _is_literal_assignment(node: ast.Assign | ast.AnnAssign) -> bool:
    """`h = 1e-4`, `numerical_gradient = numerical_grad`, `f = lambda x: ...`: nothing runs."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return node.value is not None and all(_plain_target(t) for t in targets) and _literal(node.value)


def _literal(expr: ast.expr) -> bool:
    """Constants, names and attributes, combined by operators or containers; a lambda is not called."""
    if isinstance(expr, (ast.Constant, ast.Name, ast.Lambda)):
        return True
    if isinstance(expr, ast.Attribute):
        return _literal(expr.value)
    if isinstance(expr, ast.UnaryOp):
        return _literal(expr.operand)
    if isinstance(expr, ast.BinOp):
        return _literal(expr.left) and _literal(expr.right)
    if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
        return all(_literal(e) for e in expr.elts)
    if isinstance(expr, ast.Dict):
        return all(_literal(e) for e in [*expr.values, *(k for k in expr.keys if k is not None)])
    return False


def _plain_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(_plain_target(e) for e in target.elts)


def _statement(index: int, cell: Cell, lines: list[str], node: ast.stmt, kind: str) -> Statement:
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno, *(d.lineno for d in decorators)])
    segment = "\n".join(lines[first - 1:node.end_lineno])
    col = min([node.col_offset, *(d.col_offset - 1 for d in decorators)])  # a decorator's '@' precedes it
    source = (segment[col:] if col > 0 else segment) + "\n"
    defines = tuple(_bound_names(node))
    methods: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
        bases = (node.value.id,)  # an alias, `Relu = ReLU`: defined if what it names is
    if isinstance(node, ast.ClassDef):
        methods = tuple(n for member in node.body for n in _bound_names(member))
        bases = tuple(b.id for b in node.bases if isinstance(b, ast.Name))
    return Statement(index, cell, first, source, kind, defines, methods, bases, _imports(node))


def _bound_names(node: ast.stmt) -> list[str]:
    """Names a statement binds: a def/class name, or the plain names an assignment targets."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
        node, ast.AnnAssign) else []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _imports(node: ast.stmt) -> dict[str, str]:
    """Names an import binds, mapped to the module they come from (for 'not provided' feedback)."""
    found: dict[str, str] = {}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            for alias in sub.names:
                found[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(sub, ast.ImportFrom):
            module = "." * sub.level + (sub.module or "")
            for alias in sub.names:
                found[alias.asname or alias.name] = module
    return found


def _parse_chunks(text: str, lines: list[str]) -> Chunks:
    """Parse a cell; if it has a syntax error, salvage the top-level blocks that do parse."""
    tree, error = _parse(text)
    if tree is not None:
        return [(1, tree, None)]
    starts = [i for i, line in enumerate(lines)
              if line and not line[0].isspace() and not line.startswith(("#", ")", "]", "}"))
              and not re.match(r"(else|elif|except|finally)\b", line)]
    if len(starts) <= 1:
        return [(1, None, error)]
    chunks = []
    for begin, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        tree, error = _parse("\n".join(lines[begin:end]) + "\n")
        if tree is not None:
            ast.increment_lineno(tree, begin)
        chunks.append((begin + 1, tree, error))
    return chunks


def _parse(text: str) -> tuple[ast.Module | None, str | None]:
    try:
        return ast.parse(text), None
    except SyntaxError as exc:
        return None, f"line {exc.lineno}: {exc.msg}"
    except (RecursionError, MemoryError, ValueError) as exc:  # nesting too deep for the parser, NUL bytes
        return None, f"{type(exc).__name__}: code nested too deeply or malformed"


def _chunk_text(lines: list[str], first_line: int) -> str:
    rest = lines[first_line - 1:]
    end = next((i for i, line in enumerate(rest[1:], 1) if line and not line[0].isspace()), len(rest))
    return "\n".join(rest[:end])
