"""The mutant catalogue derived from the reference: every operator edit of its source, as a mutant.

The reference's modules are read as one program (their imports from the
reference's top-level package dropped, so a faulty `softmax` is also the one `SoftmaxWithLoss`
and the network call); each edit of it is compiled on first use into a
namespace like the reference's. A mutant is tried on a unit only where the
edited definition is part of what the unit runs (and, for the variant with
reference dependencies, not one of those).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from dataclasses import dataclass

from grader.diagnoses.operators import Site, apply, never_ends, sites
from grader.types import UnitSpec


@dataclass(frozen=True)
class DerivedMutant:
    """One edit of the reference program; `replaces` maps the reference's names to the edited definitions."""

    site: Site
    program: Program

    @property
    def id(self) -> str:
        return self.site.family

    @property
    def facts(self) -> dict:
        return {"where": self.site.where, "code": self.site.code, "mutated": self.site.mutated}

    @functools.cached_property
    def replaces(self) -> dict[str, object] | None:
        """The edited namespace; None for an edit that would never return (it is not run)."""
        return self.program.namespace(self.site)

    def applies(self, unit: UnitSpec, variant: str) -> bool:
        return self.site.definition in self.program.runs(unit, variant)


class Program:
    """The reference package's modules as one program, and the mutants its edits make."""

    def __init__(self, reference: str, aliases: dict[str, tuple[str, ...]]) -> None:
        self.exports = importlib.import_module(reference).NAMESPACE
        modules = list(dict.fromkeys(inspect.getmodule(v) for v in self.exports.values()))
        body = [s for m in modules for s in ast.parse(inspect.getsource(m)).body
                if not (isinstance(s, ast.ImportFrom) and (s.module or "").split(".")[0] == reference.split(".")[0])]
        self.texts = [ast.unparse(s) for s in body]
        body = [ast.parse(text).body[0] for text in self.texts]
        self.tree = ast.Module(body=body, type_ignores=[])
        self.aliases = aliases
        self._runs: dict[tuple[str, str], frozenset[str]] = {}
        defined = {s.name for s in body if isinstance(s, (ast.FunctionDef, ast.ClassDef))}
        self.uses = {s.name: {n.id for n in ast.walk(s) if isinstance(n, ast.Name) and n.id in defined} - {s.name}
                     for s in body if isinstance(s, (ast.FunctionDef, ast.ClassDef))}
        self.loops = {s.name for s in body if any(isinstance(n, ast.While) for n in ast.walk(s))}
        self.code = [compile(ast.Module(body=[s], type_ignores=[]), "<reference>", "exec") for s in body]
        self.mutants = tuple(DerivedMutant(site, self) for site in sites(self.tree))

    def namespace(self, site: Site) -> dict[str, object] | None:
        """The reference's names, in a scope of their own where one definition is edited."""
        edited = apply(self.tree, site, lambda top: ast.parse(self.texts[top]).body[0])
        if site.definition in self.loops and never_ends(edited, site.definition):
            return None
        code = list(self.code)
        code[site.top] = compile(ast.Module(body=[edited.body[site.top]], type_ignores=[]), "<reference>", "exec")
        scope: dict[str, object] = {"__name__": "reference_mutant"}
        for statement in code:
            exec(statement, scope)  # noqa: S102 - the reference's own code, one definition edited
        names = {name: scope[getattr(obj, "__name__", name)] for name, obj in self.exports.items()}
        return {**names, **{alt: names[n] for n, alts in self.aliases.items() if n in names for alt in alts}}

    def runs(self, unit: UnitSpec, variant: str) -> frozenset[str]:
        """The reference definitions a unit's probes run in a variant: what it defines and requires
        and what those use, less the reference dependencies swapped in for `reference_deps`."""
        key = (unit.name, variant)
        if key not in self._runs:
            self._runs[key] = self._closure(unit, variant)
        return self._runs[key]

    def _closure(self, unit: UnitSpec, variant: str) -> frozenset[str]:
        names = [n.partition(".")[0] for n in (*unit.defines, *unit.defines_any, *unit.requires)]
        names += [original for original, alts in self.aliases.items() for n in names if n in alts]
        swapped = set(unit.substitute) if variant == "reference_deps" else set()
        seen: set[str] = set()
        todo = [n for n in names if n in self.uses]
        while todo:
            name = todo.pop()
            if name not in seen and name not in swapped:
                seen.add(name)
                todo.extend(self.uses[name])
        return frozenset(seen)


@functools.cache
def program(reference: str, aliases: tuple[tuple[str, tuple[str, ...]], ...]) -> Program | None:
    """The reference's program, once per process (None for a reference that cannot be read as source)."""
    try:
        return Program(reference, dict(aliases))
    except (ModuleNotFoundError, OSError, TypeError):
        return None
