"""Probing: decide what to ask the sandbox, and what the reference answers to the same question.

The student's definitions are known from the program and from which of its
statements loaded without error. A unit whose definitions are missing is
not run at all. Every other unit runs with the student's own definitions,
and units with `substitute` run once more with the reference's versions of
those dependencies swapped in; those runs come last, after every
own-definition run, so reference code never shares a process with a
unit it could help to fake. A grade asks for that second run only where the
unit's own run failed a check (`Plan.substitute_if`): a check passed with the
student's own definitions counts in both variants (grader.scoring), so after
an own run that passed every check the second run could change nothing.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import marshal
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from grader.extraction import Program, Skipped, Statement
from grader.inputs import generate
from grader.inside import probes, wire
from grader.types import Assignment, ProbeOutcome, ProbeRequest, RunResult, UnitRun, UnitSpec


@dataclass(frozen=True)
class Definitions:
    """What the student's own loaded code defines, and what it tried to import instead."""

    names: dict[str, Statement]
    imported: dict[str, str] = field(default_factory=dict)     # name -> module whose import failed
    star_imports: tuple[str, ...] = ()                         # modules of failed `import *`
    skipped: dict[str, Skipped] = field(default_factory=dict)   # names bound only by code that never ran

    def has(self, qualified: str) -> bool:
        """`name`, or `Class.method` for a method of a class the student defined (or inherited
        from one, or reached through an alias such as `Net = TwoLayerNet`)."""
        owner, _, method = qualified.partition(".")
        return self._has(owner, method, set())

    def _has(self, name: str, method: str, seen: set[str]) -> bool:
        stmt = self.names.get(name)
        if stmt is None or name in seen:
            return False
        seen.add(name)
        if stmt.kind == "assignment" and stmt.bases:
            return self._has(stmt.bases[0], method, seen)
        if not method or method in stmt.methods:
            return True
        return any(self._has(base, method, seen) for base in stmt.bases)

    def resolve(self, name: str, aliases: dict[str, tuple[str, ...]]) -> str | None:
        return next((n for n in (name, *aliases.get(name, ())) if self.has(n)), None)


def definitions(program: Program, statement_errors: dict[int, dict]) -> Definitions:
    names: dict[str, Statement] = {}
    imported: dict[str, str] = {}
    stars: list[str] = []
    for stmt in program.statements:
        failed = stmt.id in statement_errors
        if not failed:
            names.update({n: stmt for n in stmt.defines})
        elif stmt.kind == "import":
            for name, module in stmt.imports.items():
                if name == "*":
                    stars.append(module)
                elif name not in names:
                    imported[name] = module
    skipped = {n: s for s in program.skipped for n in s.names if n not in names}
    return Definitions(names, imported, tuple(stars), skipped)


def missing(unit: UnitSpec, defs: Definitions, aliases: dict[str, tuple[str, ...]]) -> list[str]:
    """The definitions a unit needs that the student's own code does not provide."""
    lost = [n for n in (*unit.defines, *unit.requires) if defs.resolve(n, aliases) is None]
    if unit.defines_any and not any(defs.has(q) for q in unit.defines_any):
        lost.append(" / ".join(unit.defines_any))
    return lost


@dataclass(frozen=True)
class Plan:
    """What one submission asks the sandbox, as far as it is known before the sandbox starts: the
    assignment, the submission's seed and the installation's training key (trajectory.training_key).
    What the student's code defines is known once its program has loaded: `probing`, computed once
    per set of failed statements, serves both the sandbox's runs and the judging after them.
    With `substitute_if` (the unit, its questions, its own run or None), a unit with `substitute` runs
    with the reference's dependencies only once its own run has, and only where that says so; without
    it, every such unit does, with the own runs."""

    assignment: Assignment
    program: Program
    seed: int
    training_key: int
    substitute_if: Callable[[UnitSpec, Probing, RunResult | None], bool] | None = field(default=None, compare=False)
    _probings: dict[frozenset[int], Probing] = field(default_factory=dict, compare=False, repr=False)

    def probing(self, statement_errors: dict[int, dict]) -> Probing:
        failed = frozenset(statement_errors)
        if failed not in self._probings:
            defs = definitions(self.program, statement_errors)
            self._probings[failed] = Probing(self.assignment, defs, self.seed, self.training_key)
        return self._probings[failed]

    def runs(self, statement_errors: dict[int, dict]) -> list[UnitRun]:
        """The unit runs to make once the program loaded with these statement errors (grader.sandbox.Plan)."""
        asked = self.probing(statement_errors)
        return asked.runs() if self.substitute_if is None else asked.own_runs()

    def follow_ups(self, statement_errors: dict[int, dict], runs: dict[str, RunResult]) -> list[UnitRun]:
        """The runs with the reference's dependencies that the own runs made so far call for."""
        if self.substitute_if is None:
            return []
        asked = self.probing(statement_errors)
        return asked.substituted_runs([u.name for u in self.assignment.units.values() if u.substitute and
                                       self.substitute_if(u, asked, runs.get(f"{u.name}:own"))])


@dataclass(frozen=True)
class Probing:
    """One submission's questions, given the definitions its own code provides: which units run
    (with or without reference substitutes), and each probe exactly as the sandbox gets it."""

    assignment: Assignment
    defs: Definitions
    seed: int
    training_key: int
    _requests: dict[tuple[str, str], ProbeRequest] = field(default_factory=dict, compare=False, repr=False)

    def missing(self, unit: UnitSpec) -> list[str]:
        return missing(unit, self.defs, self.assignment.aliases)

    def request(self, unit: str, probe: str) -> ProbeRequest:
        """A probe's request (inputs are a pure function of the seed), drawn once."""
        if (unit, probe) not in self._requests:
            self._requests[(unit, probe)] = request(self.assignment.units[unit], probe, self.defs, self.assignment,
                                                    self.seed, self.training_key)
        return self._requests[(unit, probe)]

    def with_seed(self, seed: int) -> Probing:
        """The same definitions asked with another seed's inputs."""
        return replace(self, seed=seed, _requests={})

    def with_training_key(self, key: int) -> Probing:
        """The same definitions asked with another training key's fixed inputs (benchmarks/run_length.py)."""
        return replace(self, training_key=key, _requests={})

    def runs(self) -> list[UnitRun]:
        """Every unit the student's code defines, with its own definitions first; then, for units
        with `substitute`, once more with the reference's (see the module's docstring)."""
        return self.own_runs() + self.substituted_runs([u.name for u in self.assignment.units.values()])

    def own_runs(self) -> list[UnitRun]:
        """Every unit the student's code defines, with its own definitions."""
        return [UnitRun(unit.name, "own", unit.time_limit, self._requests_of(unit))
                for unit in self.assignment.units.values() if not self.missing(unit)]

    def substituted_runs(self, names: list[str]) -> list[UnitRun]:
        """The named units that have `substitute` and are defined, with the reference's dependencies."""
        units = [self.assignment.units[name] for name in names]
        return [UnitRun(unit.name, "reference_deps", unit.time_limit, self._requests_of(unit),
                        reference_code(self.assignment, unit.substitute))
                for unit in units if unit.substitute and not self.missing(unit)]

    def _requests_of(self, unit: UnitSpec) -> tuple[ProbeRequest, ...]:
        return tuple(self.request(unit.name, name) for name in unit.probes)


def request(unit: UnitSpec, name: str, defs: Definitions, assignment: Assignment, seed: int,
            fixed_seed: int = 0) -> ProbeRequest:
    """The probe's call and inputs: drawn from the submission's seed, or for a `fixed_inputs` probe
    (one whose reference outcome is too costly to compute per submission) from `fixed_seed` (the
    training key)."""
    spec = unit.probes[name]
    params = {k: v for k, v in spec.params.items() if k != "fixed_inputs"}
    if "target" in params:   # the student's name for it (an alias), else the spec's
        params["target"] = defs.resolve(params["target"], assignment.aliases) or params["target"]
    drawn_from = fixed_seed if spec.params.get("fixed_inputs") else seed
    inputs = generate(drawn_from, unit.name, name, spec.inputs, spec.constraint)
    return ProbeRequest(name, spec.kind, params, inputs)


def reference_code(assignment: Assignment, names: tuple[str, ...]) -> bytes:
    """The named reference definitions, compiled without docstrings and marshalled with their names
    (code, not source, goes into the sandbox; marshal carries only code objects and constants, no
    pickle). The code also imports what the definitions' own modules import: the harness runs it in
    a private namespace and hands the student's only the named objects, so a notebook that forgot an
    import of its own does not borrow the reference's."""
    return _compiled_reference(assignment.reference, names)


@functools.cache
def _compiled_reference(module: str, names: tuple[str, ...]) -> bytes:
    ns = importlib.import_module(module).NAMESPACE
    homes = dict.fromkeys(inspect.getmodule(ns[n]) for n in names)
    imports = dict.fromkeys(line for home in homes for line in _imports(home, module))
    source = "\n".join(imports) + "\n\n" + "\n\n".join(inspect.getsource(ns[n]) for n in names)
    code = compile(source, "<reference>", "exec", dont_inherit=True, optimize=2)
    return marshal.dumps((names, code))


def _imports(home: object, package: str) -> list[str]:
    """A reference module's top-level imports of other packages (its siblings, anywhere in the
    reference's top-level package, arrive by name; `__future__` imports would have to come first,
    and the compiled code does not need them)."""
    package = package.split(".")[0]   # `reference.forward` imports from `reference` too

    def foreign(node: ast.Import | ast.ImportFrom) -> bool:
        if isinstance(node, ast.ImportFrom):
            return not node.level and node.module.split(".")[0] not in (package, "__future__")
        return all(alias.name.split(".")[0] != package for alias in node.names)

    tree = ast.parse(inspect.getsource(home))
    return [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom) and foreign(n)]


def reference_outcome(request: ProbeRequest, assignment: Assignment) -> ProbeOutcome:
    """Run the same probe on the reference, in this (trusted) process: the expected outputs."""
    return trusted_outcome(request, assignment.reference_namespace)


def trusted_outcome(request: ProbeRequest, namespace: dict[str, object]) -> ProbeOutcome:
    """A probe run on trusted definitions (the reference, or a known faulty variant of it)."""
    with np.errstate(all="ignore"):
        rec = probes.run_probe(namespace, request.kind, dict(request.inputs), request.params)
    outcome = ProbeOutcome(errors=rec.errors)  # as the checks read the sandbox's frames
    for key, value in rec.outputs.items():
        meta, array = wire.pack(value)
        outcome.types[key] = meta
        outcome.values[key] = array if array is not None else meta.get("value")
    return outcome
