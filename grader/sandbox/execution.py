"""Drive one submission through a sandbox session: load definitions, run every unit.

A session can die or hang at any point (student code is hostile or just
broken). Whatever it was doing then is charged to that statement or unit
alone: the session is restarted without it and grading goes on, within
the submission's overall wall-clock budget.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from grader.config import Settings
from grader.extraction import Program
from grader.inside import wire
from grader.sandbox.session import Sandbox, SandboxLost
from grader.types import Cost, Execution, FileInput, Limits, ProbeOutcome, RunResult, UnitRun

MARGIN = 5.0  # seconds the grader waits beyond a limit the harness enforces itself


class Plan(Protocol):
    """What to run once the program has loaded (grader.probing.Plan: every unit whose definitions
    loaded, from the submission's seed; grader.seeds: the same for many seeds at once), and what
    to run after those, given their results (asked once)."""

    def runs(self, statement_errors: dict[int, dict]) -> list[UnitRun]: ...

    def follow_ups(self, statement_errors: dict[int, dict], runs: dict[str, RunResult]) -> list[UnitRun]: ...


def execute(program: Program, plan: Plan, limits: Limits, files: dict[str, Path], settings: Settings) -> Execution:
    """Load the program, then run what `plan` asks for given which statements failed to load, then
    what it asks for after those."""
    result = Execution()
    deadline = time.monotonic() + limits.wall_seconds
    pending: list[UnitRun] | None = None
    followed = False   # the follow-ups were asked for (and are in `pending` until they ran)
    skip: set[int] = set()
    while True:
        started = time.monotonic()
        if started >= deadline:
            unrun = pending if pending is not None else plan.runs(dict(result.statement_errors))
            if not followed:
                unrun = [*unrun, *plan.follow_ups(dict(result.statement_errors), result.runs)]
            _fail_all(result, unrun, {"code": "submission_timeout", "seconds": limits.wall_seconds})
            return result
        budget = replace(limits, wall_seconds=deadline - started)
        with Sandbox(budget, files, settings) as session:
            try:
                # what a clean load runs, drawn while the interpreter starts (a load with statement errors asks again)
                clean = plan.runs({}) if pending is None and not result.statement_errors else None
                _load(session, program, skip, limits, result)
                result.timings.setdefault("load", time.monotonic() - started)
                if pending is None:
                    pending = clean if not result.statement_errors else plan.runs(dict(result.statement_errors))
                while pending or not followed:
                    if not pending:
                        followed, pending = True, plan.follow_ups(dict(result.statement_errors), result.runs)
                        continue
                    _run(session, pending[0], result)
                    pending.pop(0)
                _stop(session)
                return result
            except _Restart as restart:
                result.restarts += 1
                if restart.statement is not None:
                    skip.add(restart.statement)
                elif pending:
                    run = pending.pop(0)
                    result.runs[run.key] = _failed(run, restart.failure)
            finally:
                result.output += session.output.decode(errors="replace")
                result.output_dropped += session.output_dropped
                result.output_withheld += session.output_withheld


class _Restart(Exception):
    def __init__(self, failure: dict, statement: int | None = None) -> None:
        super().__init__(failure["code"])
        self.failure = failure
        self.statement = statement


def _load(session: Sandbox, program: Program, skip: set[int], limits: Limits, result: Execution) -> None:
    session.send(wire.LOAD(
        limits=limits.for_harness() if not session.unsafe else {}, own_pid_namespace=not session.unsafe,
        files=session.files, skip=sorted(skip),
        statements=[{"id": s.id, "source": s.source, "filename": s.filename, "line": s.line}
                    for s in program.statements]))
    ids = {s.id for s in program.statements if s.id not in skip}
    current = last = None
    while True:
        try:
            header, _ = session.receive(limits.statement_seconds if last is not None else 30)
        except SandboxLost as lost:
            if last is None:
                raise RuntimeError(f"the sandbox did not start: {session.output.decode(errors='replace')[-500:]}"
                                   ) from None
            failure = {"code": "statement_timeout" if lost.reason == "timeout" else "statement_crashed",
                       "seconds": limits.statement_seconds, "reason": lost.reason}
            result.statement_errors[last] = failure
            raise _Restart(failure, last) from None
        if wire.STMT_START.of(header) and type(header.get("id")) is int and header["id"] in ids:  # could be forged
            current = last = header["id"]
        elif wire.STMT_DONE.of(header) and current is not None and header.get("id") == current:
            if isinstance(header.get("error"), dict):
                result.statement_errors[current] = _clean_error(header["error"])
            current = None
        elif wire.LOADED.of(header):
            return


def _run(session: Sandbox, run: UnitRun, result: Execution) -> None:
    started, cpu_before = time.monotonic(), session.cpu_seconds()
    arrays: dict[str, np.ndarray] = {}
    probes = []
    for probe in run.probes:
        inline = {k: v for k, v in probe.inputs.items() if not isinstance(v, FileInput)}
        arrays.update({f"{probe.name}/{k}": v for k, v in inline.items()})
        probes.append({"name": probe.name, "kind": probe.kind, "params": probe.params,
                       "inputs": sorted(inline),
                       "files": {k: v.name for k, v in probe.inputs.items() if isinstance(v, FileInput)}})
    try:
        if run.substitutes is not None:
            session.withhold_output()
            arrays["substitutes"] = np.frombuffer(run.substitutes, dtype=np.uint8)
        session.send(wire.RUN(unit=run.key, timeout=run.timeout, probes=probes), arrays)
        header, values = session.receive(run.timeout + MARGIN)
    except SandboxLost as lost:
        raise _Restart({"code": "lost", "reason": lost.reason}) from None
    if not wire.RESULT.of(header) or header.get("unit") != run.key:
        raise _Restart({"code": "lost", "reason": "garbled"})
    seconds, cpu_after = time.monotonic() - started, session.cpu_seconds()
    cost = Cost(seconds, "wall") if cpu_before is None or cpu_after is None else Cost(cpu_after - cpu_before, "cpu")
    result.runs[run.key] = _parse_result(run, header, values, seconds, cost)


def _parse_result(run: UnitRun, header: dict, values: dict[str, np.ndarray], seconds: float,
                  cost: Cost) -> RunResult:
    """Turn the harness's frame into outcomes; anything malformed counts as missing."""
    outcomes = {p.name: ProbeOutcome(cost=cost) for p in run.probes}
    for frame in header.get("probes", []) if isinstance(header.get("probes"), list) else []:
        probe = frame.get("probe") if isinstance(frame, dict) else None
        outcome = outcomes.get(probe) if isinstance(probe, str) else None
        if outcome is None:
            continue
        metas = frame.get("outputs") if isinstance(frame.get("outputs"), dict) else {}
        for name, meta in metas.items():
            if not isinstance(meta, dict):
                continue
            kind, value = _text(meta.get("type"), 10), meta.get("value")
            outcome.types[name] = {"type": kind, "pytype": _text(meta.get("pytype"), 100)}
            if kind == "array":
                outcome.values[name] = values.get(f"{probe}/{name}")
            elif kind == "number" and type(value) in (int, float):
                outcome.values[name] = float(value) if type(value) is float or abs(value) < 2**1023 else None
            else:
                outcome.values[name] = None
        errors = frame.get("errors") if isinstance(frame.get("errors"), dict) else {}
        outcome.errors = {k: _clean_error(v) for k, v in errors.items() if isinstance(v, dict)}
    status = header.get("status")
    code = header.get("exit_code") if isinstance(header.get("exit_code"), int) else None
    bad_frame = header.get("bad_frame")
    for outcome in outcomes.values():
        if not outcome.types and not outcome.errors:
            if status == "timeout":
                outcome.failure = {"code": "unit_timeout", "seconds": run.timeout}
            elif bad_frame in wire.BAD_FRAMES:
                outcome.failure = {"code": f"frame_{bad_frame}", "limit_mb": wire.MAX_FRAME >> 20}
            else:
                outcome.failure = {"code": "unit_crashed", "exit_code": code}
    output = header.get("output") if isinstance(header.get("output"), str) else ""
    return RunResult(outcomes, output, seconds)


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else "?"


def _clean_error(error: dict) -> dict:
    """An exception as the harness describes it (inside/recorder.describe_exception), and nothing
    else: it comes from the process student code runs in, so any other key or type could be
    forged. A harness stop keeps only a known code and its declared facts (wire.read_stop)."""
    frames = error.get("frames") if isinstance(error.get("frames"), list) else []
    clean = {"type": _text(error.get("type"), 100), "message": _text(error.get("message"), 500),
             "frames": [[f[0][:200], f[1], _text(f[2], 200)] for f in frames[-5:]
                        if isinstance(f, list) and len(f) == 3 and isinstance(f[0], str)
                        and type(f[1]) is int and abs(f[1]) < 10**9]}
    stop = wire.read_stop(error.get("stop"))
    if stop is not None:
        clean["stop"] = stop
    return clean


def _failed(run: UnitRun, failure: dict) -> RunResult:
    return RunResult({p.name: ProbeOutcome(failure=failure) for p in run.probes})


def _fail_all(result: Execution, pending: list[UnitRun], failure: dict) -> None:
    for run in pending:
        result.runs[run.key] = _failed(run, failure)


def _stop(session: Sandbox) -> None:
    try:
        session.send(wire.EXIT())
    except SandboxLost:
        pass
