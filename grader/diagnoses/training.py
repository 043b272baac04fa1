"""Training evidence: what the grader's own training loop saw, as a diagnosis of the accuracy unit.

The loop (grader/inside/network.py: train) records the loss on each batch from the student's
parameters (`curve_loss`, computed by the harness, not by the student's loss), each gradient's
norm and each step's size. A diagnosis here names what those series show, never a cause they
do not show.
"""

from __future__ import annotations

import numpy as np

from grader.types import ProbeOutcome

MIN_STEPS = 20          # fewer recorded steps say nothing about a trend
SAME_NORM_RTOL = 1e-9   # gradients whose norms agree this closely over every step ignore their inputs
DIVERGING = 1.5         # the loss at the end this many times the loss at the start
FLAT = 0.9              # the loss at the end above this share of the loss at the start


def diagnose(got: ProbeOutcome) -> tuple[str, dict] | None:
    """(id, facts) of what training showed: parameters that never moved, a gradient the same on
    every batch, a loss that grew, or one that stayed flat; None when training looked normal."""
    loss, grads, steps = (_series(got, k) for k in ("curve_loss", "grad_norms", "step_norms"))
    if steps.size and not steps.any() and grads.size == steps.size and not grads.any():
        return "training_params_unchanged", {"steps": int(steps.size)}
    if grads.size >= MIN_STEPS and np.isfinite(grads).all() and grads.min() > 0 \
            and np.ptp(grads) <= SAME_NORM_RTOL * grads.max():
        return "training_gradient_ignores_batch", {"grad_first": float(grads[0]), "steps": int(grads.size)}
    if loss.size >= 2 and np.isfinite(loss[0]) and steps.any():
        facts = {"loss_first": float(loss[0]), "loss_last": float(loss[-1])}
        if not np.isfinite(loss[-1]) or loss[-1] > DIVERGING * loss[0]:
            return "training_loss_diverging", facts
        if loss[-1] > FLAT * loss[0]:
            return "training_loss_flat", facts
    return None


def _series(got: ProbeOutcome, name: str) -> np.ndarray:
    value = got.values.get(name)
    return np.asarray(value, dtype=float).ravel() if isinstance(value, np.ndarray) else np.zeros(0)
