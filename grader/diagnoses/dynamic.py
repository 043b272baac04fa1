"""Dynamic evidence: the student's outputs against known faulty variants, ratios and shapes.

Mutants (reference/mutants.py) run here, on the trusted side, on exactly
the inputs the student's code got. A mutant is named only when the
student's output agrees with it on every output of the failed check, and
the check can tell that mutant from the reference on those inputs.
"""

from __future__ import annotations

import importlib

import numpy as np

from grader import probing
from grader.checks import DEFAULT_ATOL, DEFAULT_RTOL, absent
from grader.types import CheckSpec, ProbeOutcome

MIN_FACTOR = 2   # an integer factor this large (or its inverse) on every value is ratio evidence


def outputs(check: CheckSpec) -> tuple[str, ...]:
    """The probe outputs a check judges (all must agree with a mutant's)."""
    if check.kind == "gradient_check":
        param = check.options["param"]
        return f"grad_{param}", f"lplus_{param}", f"lminus_{param}"
    if check.kind in {"close", "scalar"}:
        return (check.output,)
    return ()  # training is too costly to rerun per mutant


def agrees(check: CheckSpec, got: ProbeOutcome, mutant: ProbeOutcome) -> bool:
    """Same values within the check's tolerance (nan where nan, inf where inf), or the same exception."""
    names = outputs(check)
    rtol = float(check.options.get("rtol", DEFAULT_RTOL))
    atol = float(check.options.get("atol", DEFAULT_ATOL))
    for name in names:
        mine, theirs = absent(got, name), absent(mutant, name)
        if mine is not None or theirs is not None:
            if not (mine and theirs and mine.code == theirs.code == "raised"  # the very same exception
                    and (mine.facts.get("type"), mine.facts.get("message"))
                    == (theirs.facts.get("type"), theirs.facts.get("message"))):
                return False
            continue
        g = np.asarray(got.values[name], dtype=float)
        m = np.asarray(mutant.values[name], dtype=float)
        if g.shape != m.shape or not np.allclose(g, m, rtol=rtol, atol=atol, equal_nan=True):
            return False
    return bool(names)


class MutantRunner:
    """Runs each mutant's probe once per submission (cached), only for checks that failed."""

    def __init__(self, reference: str, namespace: dict[str, object]) -> None:
        try:
            self.catalogue = importlib.import_module(f"{reference}.mutants").MUTANTS
        except ModuleNotFoundError:  # an assignment without a catalogue gets static evidence only
            self.catalogue = ()
        self.namespace = namespace
        self.cache: dict[tuple[int | None, str, str], ProbeOutcome] = {}

    def match(self, unit: str, variant: str, check: CheckSpec, failed: list[tuple[CheckSpec, ProbeOutcome]],
              asked: probing.Probing) -> tuple[str, dict] | None:
        """The mutant agreeing with the student on `check`; if several do, the one that also agrees on
        most of the unit's other `failed` checks (catalogue order breaks ties)."""
        best, best_count = None, 0
        got = dict((c.name, o) for c, o in failed)[check.name]
        if _zero_gradients(got):
            return None
        correct = self._outcome(None, unit, check.probe, asked)
        for i, mutant in enumerate(self.catalogue):
            if unit not in mutant.units or variant not in mutant.variants:
                continue
            outcome = self._outcome(i, unit, check.probe, asked)
            if agrees(check, correct, outcome) or not agrees(check, got, outcome):
                continue  # a mutant the check cannot tell from correct code is no evidence
            count = sum(agrees(c, o, self._outcome(i, unit, c.probe, asked)) for c, o in failed)
            if count > best_count:
                best, best_count = mutant.id, count
        return (best, {}) if best else None

    def _outcome(self, index: int | None, unit: str, probe: str, asked: probing.Probing) -> ProbeOutcome:
        """The probe's outcome, on the probe as `asked`, with mutant `index` swapped in (None: the reference itself)."""
        key = (index, unit, probe)
        if key not in self.cache:
            replaces = {} if index is None else self.catalogue[index].replaces
            self.cache[key] = probing.trusted_outcome(asked.request(unit, probe), {**self.namespace, **replaces})
        return self.cache[key]


def _zero_gradients(got: ProbeOutcome) -> bool:
    """gradient() returned zeros for every parameter: it computed nothing, and zeros agree with
    any mutant that zeroes part of a gradient (a Relu without its mask zeroes W1's and b1's), so
    no mutant is evidence."""
    grads = [v for k, v in got.values.items() if k.startswith("grad_")]
    return bool(grads) and all(isinstance(v, np.ndarray) and not v.any() for v in grads)


def ratio_or_shape(check: CheckSpec, got: ProbeOutcome, expected: ProbeOutcome) -> tuple[str, dict] | None:
    """`off_by_factor` (every value exactly k or 1/k times right) or `transposed` (right values, axes swapped)."""
    if check.kind != "close" or absent(got, check.output) or absent(expected, check.output):
        return None
    g = np.asarray(got.values[check.output], dtype=float)
    e = np.asarray(expected.values[check.output], dtype=float)
    if g.ndim == 2 and g.shape == e.shape[::-1] and g.shape != e.shape and np.allclose(g.T, e):
        return "transposed", {}
    if g.shape != e.shape or not np.isfinite(g).all() or np.any(np.abs(e) < 1e-12):
        return None
    ratio = g / e
    median = float(np.median(ratio))
    if median == 0 or not np.isfinite(median):
        return None
    for k in (median, 1 / median):
        if k >= MIN_FACTOR and abs(k - round(k)) < 1e-6 * k and np.allclose(ratio, ratio.flat[0], rtol=1e-6):
            big = k == ratio.flat[0] or abs(k - ratio.flat[0]) < 1e-6 * k
            return "off_by_factor", {"factor": int(round(k)), "direction": "times" if big else "divided"}
    return None
