"""Probes: the calls the grader makes into a namespace of definitions, one registry of kinds.

A probe runs the same way on the student's namespace (inside the sandbox)
and on the reference namespace (in the trusted process, to compute the
expected outputs), so both sides see exactly the same call sequence.
A probe records every value it gets back, or the exception that stopped
it, per named output (recorder.py); it never judges anything. The kinds
live in calls.py (single definitions), network.py (a network of Affine layers) and optimizers.py
(update() step after step).
"""

from __future__ import annotations

from collections.abc import Callable

from . import calls, network, optimizers
from .recorder import Recorder

PROBES: dict[str, Callable[[dict, dict, dict, Recorder], None]] = {
    "call": calls.call,
    "batch_and_rows": calls.batch_and_rows,
    "numerical_grad": calls.numerical_grad,
    "draws": calls.draws,
    "layer": calls.layer,
    "layer_gradient": calls.layer_gradient,
    "optimizer": optimizers.optimizer,
    "network_methods": network.network_methods,
    "network_gradient": network.network_gradient,
    "gradient_check": network.gradient_check,
    "train": network.train,
}


def run_probe(ns: dict, kind: str, inputs: dict, params: dict) -> Recorder:
    rec = Recorder()
    PROBES[kind](ns, inputs, params, rec)
    return rec
