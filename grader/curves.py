"""Training curves: the student's run as measured in the sandbox, and, on demand, the reference
network's run on the same batches (same seed), trained in the trusted process.

The reference run costs a whole training run, so it is not part of grading: the report carries the
student's curve and its seed, and whoever shows the curves (the web pages) asks `reference_run`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from grader import data, probing, trajectory
from grader.config import Settings
from grader.inside.network import CURVE_EVERY
from grader.types import Assignment, Execution, FileInput, ProbeSpec, UnitSpec

CURVES = ("loss", "accuracy")
_cache: OrderedDict[tuple[str, int], dict[str, list]] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 256


def _train_probe(assignment: Assignment) -> tuple[UnitSpec, ProbeSpec] | None:
    return next(((u, p) for u in assignment.units.values() for p in u.probes.values() if p.kind == "train"), None)


def training(assignment: Assignment, execution: Execution) -> dict[str, Any] | None:
    """The report's `training` key: the student's loss and batch accuracy every `every` steps."""
    found = _train_probe(assignment)
    if found is None:
        return None
    unit, probe = found
    run = execution.runs.get(f"{unit.name}:own")
    got = run.probes.get(probe.name) if run else None
    if got is None or got.values.get("curve_loss") is None:
        return None
    batch_size = probe.params.get("batch_size") or probe.inputs.get("batches", {}).get("shape", [None, None])[-1]
    return {"unit": unit.name, "every": CURVE_EVERY, "batch_size": batch_size,
            "student": {k: _series(got.values.get(f"curve_{k}")) for k in CURVES}, "reference": None}


def reference_run(assignment: Assignment, seed: int, settings: Settings) -> dict[str, list] | None:
    """The reference network trained on the batches a submission graded with `seed` was trained on
    (same request, same seed), with one BLAS thread; remembered for the last CACHE_SIZE seeds."""
    key = (assignment.name, seed)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    found = _train_probe(assignment)
    if found is None:
        return None
    unit, probe = found
    request = probing.request(unit, probe.name, probing.Definitions({}), assignment, seed,
                              trajectory.training_key(settings))
    split = data.train_files(settings)   # the training split: what the sandbox was given
    inputs = {k: np.load(split[f"{v.part}_train"], allow_pickle=False) if isinstance(v, FileInput) else v
              for k, v in request.inputs.items()}
    with threadpool_limits(1):  # as in the sandbox: many BLAS threads on a busy machine are far slower
        values = probing.reference_outcome(replace(request, inputs=inputs), assignment).values
    curves = {k: _series(values.get(f"curve_{k}")) for k in CURVES}
    with _cache_lock:
        _cache[key] = curves
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return curves


def _series(values: object, limit: int = 1000) -> list[float | None]:
    """A curve as JSON numbers (nan and inf become null); anything but a numeric array is empty."""
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiub":
        return []
    return [round(float(v), 6) if np.isfinite(v) else None for v in values.ravel()[:limit].astype(float)]
