"""Training curves: the student's run as measured in the sandbox beside the reference network's
run on the same batches, trained here in the trusted process while the sandbox works."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from grader import probing
from grader.execution import Execution
from grader.inputs import FileInput
from grader.inside import probes
from grader.spec import Assignment, ProbeSpec, UnitSpec


def _train_probe(assignment: Assignment) -> tuple[UnitSpec, ProbeSpec] | None:
    return next(((u, p) for u in assignment.units.values() for p in u.probes.values() if p.kind == "train"), None)


def start_reference(assignment: Assignment, seed: int, files: dict[str, Path]) -> Future | None:
    """Begin training the reference network on the batches the sandbox will use (same request,
    same seed), in a thread, so an idle grader's latency does not grow by the reference run."""
    found = _train_probe(assignment)
    if found is None:
        return None
    unit, probe = found
    request = probing.request(unit, probe.name, probing.Definitions({}), assignment, seed)
    inputs = {k: np.load(files[v.name], allow_pickle=False) if isinstance(v, FileInput) else v
              for k, v in request.inputs.items()}
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reference-run")
    future = pool.submit(_reference_run, replace(request, inputs=inputs), assignment)
    pool.shutdown(wait=False)
    return future


def _reference_run(request: probing.ProbeRequest, assignment: Assignment) -> dict[str, Any]:
    with threadpool_limits(1):  # as in the sandbox: many BLAS threads on a busy machine are far slower
        return probing.reference_outcome(request, assignment).values


def training(assignment: Assignment, execution: Execution, reference: Future | None) -> dict[str, Any] | None:
    """The report's `training` key: loss and accuracy every `every` steps, student and reference."""
    found = _train_probe(assignment)
    if found is None or reference is None:
        return None
    unit, probe = found
    run = execution.runs.get(f"{unit.name}:own")
    got = run.probes.get(probe.name) if run else None
    if got is None or got.values.get("curve_loss") is None:
        return None
    ref = reference.result()
    return {"unit": unit.name, "every": probes.CURVE_EVERY, "batch_size": probe.params.get("batch_size"),
            "student": {k: _series(got.values.get(f"curve_{k}")) for k in ("loss", "accuracy")},
            "reference": {k: _series(ref.get(f"curve_{k}")) for k in ("loss", "accuracy")}}


def _series(values: object, limit: int = 1000) -> list[float | None]:
    """A curve as JSON numbers (nan and inf become null); anything but a numeric array is empty."""
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiub":
        return []
    return [round(float(v), 6) if np.isfinite(v) else None for v in values.ravel()[:limit].astype(float)]
