"""Run a program's probes in this process, without the sandbox: for the grader's own trusted
variants only (the seed-independence test), where thousands of probe runs must take seconds.

It mirrors the harness: statements load one by one (a failure is recorded, not fatal), and each
unit run gets a fresh namespace, with the reference substitutes executed into it if any.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from pathlib import Path

import numpy as np

from grader import probing
from grader.execution import Execution, RunResult, UnitRun
from grader.extraction import Program
from grader.inputs import FileInput
from grader.inside import probes
from grader.sandbox import Limits


def execute(program: Program, plan: Callable[[dict[int, dict]], list[UnitRun]], limits: Limits,
            files: dict[str, Path]) -> Execution:
    codes = [(s.id, compile("\n" * (s.line - 1) + s.source, s.filename, "exec")) for s in program.statements]
    result = Execution()
    _load(codes, result.statement_errors)
    for run in plan(dict(result.statement_errors)):
        ns = _load(codes, {})
        if run.substitutes is not None:  # as the harness's swap_in: only the named definitions
            names, code = marshal.loads(run.substitutes)
            private: dict = {"__name__": "<reference>"}
            exec(code, private)
            ns.update({name: private[name] for name in names})
        outcomes = {}
        for probe in run.probes:
            if any(isinstance(v, FileInput) for v in probe.inputs.values()):
                raise ValueError("in-process runs do not train: leave out units with file inputs")
            inputs = {k: np.array(v, copy=True) for k, v in probe.inputs.items()}
            outcomes[probe.name] = probing.outcome_of(probes.run_probe(ns, probe.kind, inputs, probe.params))
        result.runs[run.key] = RunResult(outcomes)
    return result


def _load(codes: list, errors: dict[int, dict]) -> dict:
    ns: dict = {"__name__": "__main__"}
    for stmt_id, code in codes:
        try:
            exec(code, ns)
        except Exception as exc:  # as in the harness: a failing statement fails alone
            errors[stmt_id] = probes.describe_exception(exc)
    return ns
