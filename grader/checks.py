"""Check kinds: judge one probe outcome against the reference's, on the trusted side.

A check returns whether it passed, a feedback code and the facts behind
it (shapes, errors, which index is worst). Facts never carry whole
expected arrays: at most one expected number, for scalars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.inside.network import construct, params_of, size_of
from grader.types import CheckSpec, ProbeOutcome, ProbeSpec

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-8
LAYER_KINDS = {"layer", "layer_gradient"}   # probes of one layer: its cost is its backward's, not a network's


@dataclass(frozen=True)
class Verdict:
    passed: bool
    code: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class CheckContext:
    """What a check may need beyond the two outcomes."""

    heldout: Callable[[], tuple[np.ndarray, np.ndarray]]   # the test split, never sent to the sandbox
    reference: dict[str, Any]                               # the assignment's reference definitions


def absent(outcome: ProbeOutcome, name: str) -> Verdict | None:
    """Why an output is not there to be judged (a crash, timeout, exception or odd type), if so."""
    if outcome.failure is not None and name not in outcome.types:
        return Verdict(False, outcome.failure["code"], {**outcome.failure, "output": name})
    if name in outcome.errors:
        return Verdict(False, "raised", {**outcome.errors[name], "output": name})
    meta = outcome.types.get(name)
    if meta is None:
        return Verdict(False, "no_output", {"output": name})
    if meta.get("type") not in {"array", "number"} or outcome.values.get(name) is None:
        return Verdict(False, "wrong_type", {"got_type": meta.get("pytype", "?"), "output": name})
    return None


def _shape(value: np.ndarray | float) -> tuple[int, ...]:
    return tuple(np.shape(value))


def compare(got: np.ndarray | float, expected: np.ndarray | float, rtol: float, atol: float) -> Verdict:
    g = np.asarray(got, dtype=float)
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        return Verdict(False, "wrong_shape", {"got_shape": list(g.shape), "expected_shape": list(e.shape)})
    close = np.isclose(g, e, rtol=rtol, atol=atol)
    if close.all():
        return Verdict(True, "ok", {})
    err = np.where(np.isnan(g) | np.isnan(e), np.inf, np.abs(g - e))
    err = np.where(np.isinf(g) & np.isinf(e) & (np.sign(g) == np.sign(e)), 0.0, err)
    worst = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    facts = {"max_abs_error": float(err[worst]), "wrong": int((~close).sum()), "total": int(close.size),
             "index": [int(i) for i in worst], "shape": list(g.shape), "rtol": rtol, "atol": atol}
    if g.ndim == 0:
        facts.update(got=float(g), expected=float(e))
    if not np.isfinite(g).all() and np.isfinite(e).all():
        return Verdict(False, "not_finite", facts)
    return Verdict(False, "mismatch_scalar" if g.ndim == 0 else "mismatch", facts)


def close(check: CheckSpec, probe: ProbeSpec, got: ProbeOutcome, expected: ProbeOutcome | None,
          ctx: CheckContext) -> Verdict:
    if (why := absent(got, check.output)) is not None:
        return why
    if expected is None or (ref := absent(expected, check.output)) is not None:
        raise RuntimeError(f"reference has no output {check.output!r} for probe {probe.name}: {ref}")
    value = got.values[check.output]
    return compare(value, expected.values[check.output], *tolerances(check, value))


def tolerances(check: CheckSpec, value: np.ndarray | float) -> tuple[float, float]:
    """The check's rtol and atol for this value (its float32 ones where it was computed in float32)."""
    single = "rtol_float32" in check.options and single_precision(value)
    rtol = check.options["rtol_float32" if single else "rtol"] if single or "rtol" in check.options else DEFAULT_RTOL
    atol = check.options["atol_float32" if single else "atol"] if single or "atol" in check.options else DEFAULT_ATOL
    return float(rtol), float(atol)


def steps(check: CheckSpec, probe: ProbeSpec, got: ProbeOutcome, expected: ProbeOutcome | None,
          ctx: CheckContext) -> Verdict:
    """`close` on a trajectory, one row per step (an optimizer's parameters after each update()):
    where it fails, the first step whose row differs, and how many steps there were."""
    verdict = close(check, probe, got, expected, ctx)
    if verdict.passed or verdict.code not in {"mismatch", "not_finite"}:
        return verdict
    value = got.values[check.output]
    g, e = np.asarray(value, dtype=float), np.asarray(expected.values[check.output], dtype=float)
    rtol, atol = tolerances(check, value)
    rows = ~np.isclose(g, e, rtol=rtol, atol=atol).reshape(len(g), -1).all(axis=1)
    return Verdict(False, "step_mismatch", {**verdict.facts, "step": int(np.argmax(rows)) + 1, "steps": len(g)})


def statistics(check: CheckSpec, probe: ProbeSpec, got: ProbeOutcome, expected: ProbeOutcome | None,
               ctx: CheckContext) -> Verdict:
    """Random draws judged by their statistics, not their values: the mean and standard deviation
    of all the student's values against those of the reference's draws, |std / std_ref - 1| <=
    `std_rtol` and |mean - mean_ref| <= `mean_atol` * std_ref (the spec says why its bounds hold
    for every seed of a correct draw and fail a wrong scale)."""
    if (why := absent(got, check.output)) is not None:
        return why
    g, e = (np.asarray(o.values[check.output], dtype=float) for o in (got, expected))
    if g.shape != e.shape:
        return Verdict(False, "wrong_shape", {"got_shape": list(g.shape), "expected_shape": list(e.shape)})
    std_rtol, mean_atol = float(check.options["std_rtol"]), float(check.options["mean_atol"])
    facts = {"n": int(g.size), "mean": float(np.mean(g)), "std": float(np.std(g)),
             "expected_mean": float(np.mean(e)), "expected_std": float(np.std(e)),
             "std_rtol": std_rtol, "mean_atol": mean_atol}
    if not np.isfinite(g).all():
        return Verdict(False, "not_finite", {**facts, "wrong": int((~np.isfinite(g)).sum()), "total": int(g.size),
                                             "max_abs_error": float("inf"), "index": [], "rtol": std_rtol,
                                             "atol": mean_atol})
    spread = abs(facts["std"] / facts["expected_std"] - 1) <= std_rtol if facts["expected_std"] else facts["std"] == 0
    centred = abs(facts["mean"] - facts["expected_mean"]) <= mean_atol * facts["expected_std"]
    return Verdict(bool(spread and centred), "ok" if spread and centred else "statistics_off", facts)


def single_precision(value: np.ndarray | float) -> bool:
    """Computed in float32 (or less): then "agrees to rounding error" means float32's rounding."""
    return isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.dtype.itemsize <= 4


def scalar(check: CheckSpec, probe: ProbeSpec, got: ProbeOutcome, expected: ProbeOutcome | None,
           ctx: CheckContext) -> Verdict:
    if (why := absent(got, check.output)) is not None:
        return why
    shape = _shape(got.values[check.output])
    if shape != ():
        return Verdict(False, "not_scalar", {"got_shape": list(shape), "got_type": got.types[check.output]["pytype"]})
    return Verdict(True, "ok", {})


def same_as(check: CheckSpec, probe: ProbeSpec, got: ProbeOutcome, expected: ProbeOutcome | None,
            ctx: CheckContext) -> Verdict:
    """One of the student's outputs against another of their own (`like`), no reference needed: a
    batch's result against the same rows computed one at a time (`batch_and_rows`), within `rtol`/`atol`;
    `code` names what a difference means where it is not that (the arrays an optimizer was given
    against the parameters it left)."""
    like = check.options["like"]
    for name in (check.output, like):
        if (why := absent(got, name)) is not None:
            return why
    ours, theirs = np.asarray(got.values[check.output], dtype=float), np.asarray(got.values[like], dtype=float)
    ours = ours[:len(theirs)] if ours.ndim and theirs.ndim else ours   # the rows computed alone
    verdict = compare(ours, theirs, float(check.options.get("rtol", DEFAULT_RTOL)),
                      float(check.options.get("atol", DEFAULT_ATOL)))
    if verdict.passed or verdict.code == "wrong_shape":
        return verdict
    return Verdict(False, check.options.get("code", "batch_differs"), {**verdict.facts, "rows": len(theirs)})


def gradient_check(check: CheckSpec, probe: ProbeSpec, got: ProbeOutcome, expected: ProbeOutcome | None,
                   ctx: CheckContext) -> Verdict:
    """Relative error ||backprop - numerical|| / (||backprop|| + ||numerical||) for one parameter,
    the numerical gradient taken from the student's own loss: a forward-pass mistake is charged to
    `gradient`/`accuracy`, not again here. The loss must be finite and change with the parameter,
    so a constant loss cannot pass. Where the probe samples positions (`coords_<param>`, read from
    the trusted run), only those elements are compared; with `cpu_budget`, as in `backprop`."""
    param = check.options["param"]
    names = (f"grad_{param}", f"lplus_{param}", f"lminus_{param}", f"step_{param}")
    for name in names:
        if (why := absent(got, name)) is not None:
            return why
    if (costly := over_budget(check, probe, got)) is not None:
        return costly
    grad, plus, minus, step = (np.asarray(got.values[n], dtype=float) for n in names)
    ref_plus = np.asarray(expected.values[names[1]], dtype=float)
    ref_shape = _shape(expected.values[names[0]])
    if grad.shape != ref_shape or not plus.shape == minus.shape == step.shape == ref_plus.shape:
        return Verdict(False, "wrong_shape", {"got_shape": list(grad.shape), "expected_shape": list(ref_shape),
                                              "output": names[0]})
    if not (np.isfinite(plus).all() and np.isfinite(minus).all()):
        return Verdict(False, "loss_not_finite", {"param": param})
    if np.array_equal(plus, minus) or not np.all(step > 0):
        return Verdict(False, "loss_independent", {"param": param})
    numerical = (plus - minus) / step
    coords = expected.values.get(f"coords_{param}")
    full_grad = got.values[names[0]]
    if coords is not None:
        grad = grad.ravel()[np.asarray(coords, dtype=np.int64)]
    else:
        numerical = numerical.reshape(ref_shape)
    threshold = float(check.options["threshold"])
    # rounding in the loss (eps * |loss| per evaluation) bounds how well a tiny gradient can agree
    noise = np.sqrt(step.size) * 4 * np.finfo(float).eps * float(np.max(np.abs([plus, minus]))) / float(step.min())
    with np.errstate(all="ignore"):
        scale = max(float(np.linalg.norm(grad) + np.linalg.norm(numerical)), noise / threshold)
        rel = float(np.linalg.norm(grad - numerical) / scale)
    passed = bool(rel < threshold)  # a nan (non-finite backprop) fails
    facts = {"param": param, "rel_error": rel, "threshold": threshold}
    same_loss = bool(np.allclose(plus, ref_plus, rtol=1e-9, atol=0.0))  # the network computes the reference's loss
    if passed and same_loss and (fake := numerical_not_backprop(check, full_grad,
                                                                expected.values[names[0]])) is not None:
        return fake
    return Verdict(passed, "ok" if passed else "gradient_check_failed", facts)


def numerical_not_backprop(check: CheckSpec, grad: np.ndarray | float, ref_grad: np.ndarray | float) -> Verdict | None:
    """For a network whose loss is the reference's: its backprop is the reference's to rounding
    error, while a numerical gradient, however close to its own loss's, is not (evidence the
    student's code cannot edit, unlike a counter of forward passes)."""
    rtol = check.options.get("backprop_rtol_float32" if single_precision(grad) else "backprop_rtol")
    ref = np.asarray(ref_grad, dtype=float)
    grad = np.asarray(grad, dtype=float)
    if rtol is None or grad.shape != ref.shape:
        return None
    scale = max(float(np.max(np.abs(ref))), 1e-300)
    with np.errstate(all="ignore"):
        error = float(np.max(np.abs(grad - ref))) / scale
    if error <= float(rtol):
        return None
    return Verdict(False, "exact_backprop_mismatch",
                   {"param": check.options["param"], "error": error, "rtol": float(rtol)})


def over_budget(check: CheckSpec, probe: ProbeSpec, got: ProbeOutcome) -> Verdict | None:
    """Whether the unit run the probe ran in cost more than the check's `cpu_budget` seconds, as
    the grader measured it (the sandbox cgroup's CPU time, else the wall clock). On a network of
    tens of thousands of parameters any numerical gradient (central, five-point, complex-step,
    vectorised) costs thousands of forward passes, backprop one: evidence of the method that
    student code can neither edit nor see, where values alone cannot tell. So it is for a layer's
    backward on inputs of thousands of numbers (`too_costly_layer`)."""
    if "cpu_budget" not in check.options or got.cost is None:
        return None
    budget = float(check.options["cpu_budget"])
    if got.cost.seconds <= budget:
        return None
    facts = {"seconds": got.cost.seconds, "budget": budget, "clock": got.cost.clock}
    if probe.kind in LAYER_KINDS:
        return Verdict(False, "too_costly_layer", facts)
    shapes = {k: g.get("shape", ()) for k, g in probe.inputs.items()}
    return Verdict(False, "too_costly", {**facts, "parameters": size_of(probe.params, shapes)})


def backprop(check: CheckSpec, probe: ProbeSpec, got: ProbeOutcome, expected: ProbeOutcome | None,
             ctx: CheckContext) -> Verdict:
    """`close`, at backprop's cost (`over_budget`)."""
    if absent(got, check.output) is None and (costly := over_budget(check, probe, got)) is not None:
        return costly
    return close(check, probe, got, expected, ctx)


def heldout_accuracy(check: CheckSpec, probe: ProbeSpec, got: ProbeOutcome, expected: ProbeOutcome | None,
                     ctx: CheckContext) -> Verdict:
    """Score the trained parameters on the held-out split with the reference forward pass; they
    must also lie on the reference's trajectory from the same start over the same batches, so
    only training with the student's own backprop earns the points (not weights made otherwise)."""
    params = {}
    for key in params_of(probe.params):
        if (why := absent(got, f"param_{key}")) is not None:
            return why
        params[key] = np.asarray(got.values[f"param_{key}"], dtype=float)
    x_test, t_test = ctx.heldout()
    if "x_shape" in probe.params:
        x_test = x_test.reshape(len(x_test), *probe.params["x_shape"])
    net = construct(ctx.reference, probe.params)
    for key, value in params.items():
        if value.shape != net.params[key].shape:
            return Verdict(False, "wrong_shape", {"got_shape": list(value.shape), "output": f"param_{key}",
                                                  "expected_shape": list(net.params[key].shape)})
        net.params[key][...] = value
    with np.errstate(all="ignore"):
        accuracy = net.accuracy(x_test, t_test)
    threshold = float(check.options["threshold"])
    facts = {"accuracy": round(accuracy, 4), "threshold": threshold, "n_test": int(len(t_test)),
             "training": training_facts(got)}
    tolerance = float(check.options.get("trajectory_rtol", np.inf))
    distances = {}
    for key, value in params.items():
        ref = np.asarray(expected.values[f"param_{key}"], dtype=float)
        with np.errstate(all="ignore"):
            distances[key] = float(np.linalg.norm(value - ref) / max(np.linalg.norm(ref), 1e-12))
    worst = max(distances, key=lambda k: np.nan_to_num(distances[k], nan=np.inf))
    facts["trajectory_distance"] = distances[worst]
    if not distances[worst] <= tolerance:
        return Verdict(False, "off_trajectory", {**facts, "param": worst, "distance": distances[worst],
                                                 "tolerance": tolerance})
    return Verdict(accuracy >= threshold, "ok" if accuracy >= threshold else "accuracy_low", facts)


def training_facts(got: ProbeOutcome) -> dict[str, Any]:
    """What training looked like, from the student's side (only ever used to word feedback)."""
    def series(name: str) -> np.ndarray:
        value = got.values.get(name)
        return np.asarray(value, dtype=float).ravel() if isinstance(value, np.ndarray) else np.zeros(0)
    loss, grads, steps = series("loss_curve"), series("grad_norms"), series("step_norms")
    facts: dict[str, Any] = {}
    if loss.size >= 2:
        facts.update(loss_first=float(loss[0]), loss_last=float(loss[-1]))
    if steps.size:
        facts["still_steps"] = int(np.sum(steps == 0))
        facts["steps"] = int(steps.size)
    if grads.size >= 20:
        head, tail = float(np.mean(grads[:10])), float(np.mean(grads[-10:]))
        facts.update(grad_first=head, grad_last=tail)
    return facts


CheckFn = Callable[[CheckSpec, ProbeSpec, ProbeOutcome, ProbeOutcome | None, CheckContext], Verdict]
CHECK_KINDS: dict[str, CheckFn] = {
    "close": close,
    "scalar": scalar,
    "same_as": same_as,
    "steps": steps,
    "statistics": statistics,
    "gradient_check": gradient_check,
    "backprop": backprop,
    "heldout_accuracy": heldout_accuracy,
}
NEEDS_REFERENCE = {"close", "steps", "statistics", "gradient_check", "backprop", "heldout_accuracy"}
