"""Training curves: the student's run as measured in the sandbox beside the reference network's run on
the same batches, both in the report.

The reference's run is the one grading already made for the trajectory check (grader/expected.py,
cached per installation by grader/trajectory.py): the curve costs no training of its own, and whoever
shows the curves (the web pages) only reads the report.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.expected import Expected
from grader.inside.network import CURVE_EVERY
from grader.probing import Probing
from grader.types import Assignment, Execution, ProbeSpec, UnitSpec

CURVES = ("loss", "accuracy")


def _train_probe(assignment: Assignment) -> tuple[UnitSpec, ProbeSpec] | None:
    return next(((u, p) for u in assignment.units.values() for p in u.probes.values() if p.kind == "train"), None)


def training(assignment: Assignment, execution: Execution, expected: Expected,
             asked: Probing) -> dict[str, Any] | None:
    """The report's `training` key: the student's loss and batch accuracy every `every` steps, and the
    reference's on the same batches (its outcome as the checks were judged against, from `expected`)."""
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
            "student": {k: _series(got.values.get(f"curve_{k}")) for k in CURVES},
            "reference": _reference(expected, asked, unit, probe)}


def _reference(expected: Expected, asked: Probing, unit: UnitSpec, probe: ProbeSpec) -> dict[str, list] | None:
    """The reference's curves on the probe's batches; None where the reference recorded none."""
    values = expected.outcome(asked, unit.name, probe.name).values
    curves = {k: _series(values.get(f"curve_{k}")) for k in CURVES}
    return curves if curves["loss"] else None


def _series(values: object, limit: int = 1000) -> list[float | None]:
    """A curve as JSON numbers (nan and inf become null); anything but a numeric array is empty."""
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiub":
        return []
    return [round(float(v), 6) if np.isfinite(v) else None for v in values.ravel()[:limit].astype(float)]
