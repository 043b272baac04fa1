"""Dynamic evidence: the student's outputs against known faulty variants, ratios and shapes.

Mutants (reference/mutants.py) run here, on the trusted side, on exactly
the inputs the student's code got. A mutant is named only when the
student's output agrees with it on every output of the failed check, and
the check can tell that mutant from the reference on those inputs.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

import numpy as np

from grader import probing
from grader.checks import DEFAULT_ATOL, DEFAULT_RTOL, Verdict, absent
from grader.diagnoses import derived
from grader.expected import Expected
from grader.types import Assignment, CheckSpec, ProbeOutcome, UnitSpec

BOTH = ("own", "reference_deps")
MIN_FACTOR = 2   # an integer factor this large (or its inverse) on every value is ratio evidence
CHEAP = 2_000    # input values in a probe cheap enough to run every candidate mutant on
NUMERICAL_PASSES = 20   # a gradient check's cost per input value, relative to one forward pass
Raised = bool | Callable[[list[str]], bool]   # whether an exception counts, or where it must have been raised


def outputs(check: CheckSpec) -> tuple[str, ...]:
    """The probe outputs a check judges (all must agree with a mutant's)."""
    if check.kind == "gradient_check":
        param = check.options["param"]
        return f"grad_{param}", f"lplus_{param}", f"lminus_{param}"
    if check.kind in {"close", "scalar", "steps", "statistics"}:   # draws agree value by value: seeded alike
        return (check.output,)
    return ()  # training is too costly to rerun per mutant


def agrees(check: CheckSpec, got: ProbeOutcome, mutant: ProbeOutcome, exceptions: Raised = True) -> bool:
    """Same values within the check's tolerance (nan where nan, inf where inf), the same odd type
    (None where None), the same harness stop (a shape the harness refused), or, if `exceptions`
    count, the same exception raised through the same functions (if `exceptions` is a test of
    the mutant's chain of functions, one it passes: raised where a derived mutant's edit is)."""
    names = outputs(check)
    rtol = float(check.options.get("rtol", DEFAULT_RTOL))
    atol = float(check.options.get("atol", DEFAULT_ATOL))
    for name in names:
        mine, theirs = absent(got, name), absent(mutant, name)
        if mine is not None or theirs is not None:
            if not (mine is not None and theirs is not None and _same_failure(mine, theirs, exceptions)):
                return False
            continue
        g = np.asarray(got.values[name], dtype=float)
        m = np.asarray(mutant.values[name], dtype=float)
        if g.shape != m.shape or not np.allclose(g, m, rtol=rtol, atol=atol, equal_nan=True) \
                or not np.array_equal(*structural_zeros(g, m)):   # tiny values are not zeros
            return False
    return bool(names) and not _skips_forward(got, mutant)


def structural_zeros(*arrays: np.ndarray) -> list[np.ndarray]:
    """Where each array is zero but for rounding: at most a few ulps of the larger of 1 and the
    arrays' largest magnitude. What is left of a sum that cancels (a bias gradient over balanced
    labels) is ~1e-17 or exactly 0 by the order the BLAS kernel or the student's code adds in, while
    a value a mistake made tiny (1e-10, inside a check's atol) is not a zero."""
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    floor = 64 * np.finfo(float).eps * max([1.0, *(float(f.max()) for f in finite if f.size)])
    return [np.abs(a) <= floor for a in arrays]


def _skips_forward(got: ProbeOutcome, mutant: ProbeOutcome) -> bool:
    """The mutant's gradient() never ran the network forward where the student's did: whatever it
    raises alike, it is not the student's mistake (the other way round is no evidence: a student
    may run the layers' forward inline, not through loss() or predict())."""
    return any(key.startswith("ran_forward") and value == 1 and mutant.values.get(key) == 0
               for key, value in got.values.items())


def _same_failure(mine: Verdict, theirs: Verdict, exceptions: Raised) -> bool:
    if mine.code != theirs.code:
        return False
    if mine.code == "wrong_type":
        return mine.facts.get("got_type") == theirs.facts.get("got_type")
    if mine.code != "raised":
        return False
    chain = [[f[2] for f in v.facts.get("frames") or []] for v in (mine, theirs)]
    if callable(exceptions) and not exceptions(chain[1]):
        return False   # not where the mutant's edit is: even a harness stop may come from elsewhere
    if "stop" in mine.facts or "stop" in theirs.facts:
        return mine.facts.get("stop") == theirs.facts.get("stop")
    if exceptions is False:
        return False
    return (mine.facts.get("type"), mine.facts.get("message"), chain[0] if chain[1] else []) \
        == (theirs.facts.get("type"), theirs.facts.get("message"), chain[1])


class MutantRunner:
    """Tries the catalogue's mutants on a unit's failed checks, each probe of each mutant run at most
    once per submission (the outcomes are shared between units and checks).

    The catalogue is the reference's curated mutants (reference/mutants.py, named by their own
    messages) and then every operator edit of the reference (grader.diagnoses.derived). A mutant is
    tried only on a unit whose run includes the definition it edits, cheapest failed check first;
    mutants that explained a check earlier in the submission are tried first, and the search stops
    at the first mutant that explains every failed check of the unit.
    """

    def __init__(self, assignment: Assignment, expected: Expected) -> None:
        self.explained_in: dict[str, set[int]] = {}
        self.tried_in: dict[tuple[str, str], set[int]] = {}   # (unit, variant) -> mutants run on its failed checks
        self.passed_in: dict[tuple[str, str], tuple[CheckSpec, ...]] = {}   # (unit, variant) -> checks passed
        self.failed_units: set[str] = set()
        self.namespace, self.expected, self.assignment = assignment.reference_namespace, expected, assignment
        self.cache: dict[tuple[int, str, str], ProbeOutcome | None] = {}
        self.costs: dict[tuple[int, str, str], int] = {}
        self.proven: list[int] = []   # mutants that explained a check in an earlier unit

    @functools.cached_property
    def program(self) -> derived.Program | None:
        """The reference as a program of derived mutants: built (once per process) only when a
        check failed, so a batch of correct notebooks never pays for it."""
        return derived.program(self.assignment.reference, tuple(sorted(self.assignment.aliases.items())))

    @functools.cached_property
    def catalogue(self) -> tuple:
        try:
            curated: tuple = importlib.import_module(f"{self.assignment.reference}.mutants").MUTANTS
        except ModuleNotFoundError:  # an assignment without a catalogue gets derived mutants only
            curated = ()
        return (*curated, *(self.program.mutants if self.program else ()))

    @functools.cached_property
    def home(self) -> dict[str, str | None]:
        """A derived mutant's home: the first unit that runs the definition it edits; elsewhere it
        is tried only if it explained a check there (the student's definition behaves like it)."""
        program, units = self.program, self.assignment.units.values()
        return {d: next((u.name for u in units if d in program.runs(u, "own")), None)
                for d in program.uses} if program else {}

    def explain(self, unit: UnitSpec, variant: str, failed: list[tuple[CheckSpec, ProbeOutcome]],
                asked: probing.Probing, passed: tuple[CheckSpec, ...] = ()) -> dict[str, tuple[str, dict, bool]]:
        """check name -> (mutant id, facts, whether by values) for the failed checks some mutant
        reproduces exactly: the mutant explaining most of them (catalogue order, proven mutants
        first, breaks ties); by values, not only by raising the same exception. A mutant that would
        fail a cheap check the student `passed` is not their mistake, however well it matches."""
        if failed:
            self.failed_units.add(unit.name)
        self.passed_in[(unit.name, variant)] = passed
        failed = sorted(((c, o) for c, o in failed if outputs(c) and not _zero_gradients(o) and not _all_zero(c, o)),
                        key=lambda pair: self._cost(asked, unit.name, pair[0].probe))
        if not failed:
            return {}
        order = [*self.proven, *(i for i in range(len(self.catalogue)) if i not in self.proven)]
        best: dict[str, tuple[int, int, bool]] = {}   # check -> (mutant, how many it explains, by values)
        for i in order:
            if not self._applies(i, unit, variant, asked):
                continue
            explained = self._explained(i, unit.name, failed, asked)
            self.tried_in.setdefault((unit.name, variant), set()).add(i)
            if explained and self._contradicted(i, unit.name, passed, asked):
                continue
            for name, by_values in explained.items():
                if name not in best or len(explained) > best[name][1]:
                    best[name] = (i, len(explained), by_values)
            if len(explained) == len(failed):
                break
        for i in dict.fromkeys(i for i, _, _ in best.values()):
            self.explained_in.setdefault(unit.name, set()).add(i)
            if i not in self.proven:
                self.proven.append(i)
        return {name: (self.catalogue[i].id, dict(getattr(self.catalogue[i], "facts", {})), by_values)
                for name, (i, _, by_values) in best.items()}

    def _explained(self, index: int, unit: str, failed: list[tuple[CheckSpec, ProbeOutcome]],
                   asked: probing.Probing) -> dict[str, bool]:
        """The failed checks the mutant reproduces and the reference does not (and whether by
        values); a mutant that misses the cheapest failed check is not run on the costly ones."""
        explained: dict[str, bool] = {}
        for position, (check, got) in enumerate(failed):
            if position and not explained and self._cost(asked, unit, check.probe) > CHEAP:
                break
            outcome = self._outcome(index, unit, check.probe, asked)
            if outcome is None:
                return {}
            if agrees(check, got, outcome, self._by_exception(index, unit)) and not agrees(
                    check, self.expected.outcome(asked, unit, check.probe), outcome):
                explained[check.name] = agrees(check, got, outcome, exceptions=False)
        return explained

    def _contradicted(self, index: int, unit: str, passed: tuple[CheckSpec, ...], asked: probing.Probing) -> bool:
        """The mutant fails one of the cheap checks the student passed (it tells itself from the
        reference where the student does not)."""
        for check in passed:
            if check.kind != "close" or self._cost(asked, unit, check.probe) > CHEAP:
                continue
            outcome = self._outcome(index, unit, check.probe, asked)
            if outcome is not None and not _close(check, self.expected.outcome(asked, unit, check.probe), outcome):
                return True
        return False

    def _by_exception(self, index: int, unit: str) -> Raised:
        """Whether the same exception is evidence for this mutant. For a derived one: raised in the
        function it edits, or, when every other definition the unit runs passed its own unit (then
        the student's code raised it only because of the edited one), anywhere if the edit is a
        function of its own, and while the edited method ran if it is one method of a class (the
        class's other methods are as likely a place for the student's mistake: a gradient() that
        backpropagates from a fresh loss layer raises just as a loss() without its return would,
        after loss() returned), and only in the unit of
        the definition it edits (beyond it, a static finding there may explain more); for a curated one only
        where it replaces the unit's own definition (one built on a faulty dependency raises what the
        student's own code may raise too)."""
        mutant = self.catalogue[index]
        if not isinstance(mutant, derived.DerivedMutant):
            return tuple(mutant.variants) == BOTH
        if self.home.get(mutant.site.definition) != unit:
            return False
        spec = self.assignment.units[unit]
        homes = {self.home.get(d) for d in self.program.runs(spec, "own")} - {None, unit}
        name = mutant.site.where.rpartition(".")[2]
        if homes & self.failed_units:
            return lambda chain: chain[-1:] == [name]
        return True if mutant.site.where == mutant.site.definition else lambda chain: name in chain

    def _applies(self, index: int, unit: UnitSpec, variant: str, asked: probing.Probing) -> bool:
        mutant = self.catalogue[index]
        if isinstance(mutant, derived.DerivedMutant):
            home = self.home.get(mutant.site.definition)
            return mutant.applies(unit, variant) and (home in {None, unit.name}
                                                      or index in self.explained_in.get(home, ()))
        return unit.name in mutant.units and variant in mutant.variants \
            and not self._missed_before(index, unit, variant, asked) and not self._home_passed(mutant.home)

    def _home_passed(self, home: str | None) -> bool:
        """A mistake in a definition another unit grades (a Relu without its mask, seen through the
        network's gradient) is not the student's where that unit failed no check: their Relu is right,
        and a gradient() that skips it only looks like one that does not apply its mask."""
        return home is not None and home in self.assignment.units and home not in self.failed_units

    def _missed_before(self, index: int, unit: UnitSpec, variant: str, asked: probing.Probing) -> bool:
        """A curated mutant of several units was run on the failed checks of an earlier one (the
        same variant) and explained none, or fails a cheap check the student passed there: those
        units grade the same definition (`gradient` and `gradient_check` the network's gradient()),
        so it is not the student's mistake here either, and its costly probes are not run."""
        mutant = self.catalogue[index]
        earlier = mutant.units[:mutant.units.index(unit.name)]
        return any(index in self.tried_in.get((u, variant), ()) and index not in self.explained_in.get(u, ())
                   for u in earlier) or any(self._contradicted(index, u, self.passed_in.get((u, variant), ()), asked)
                                            for u in earlier)

    def _cost(self, asked: probing.Probing, unit: str, probe: str) -> int:
        """A probe's size: the number of input values it draws (a data file's too), times the
        forward passes of a numerical gradient check (a proxy for the time a mutant takes on it)."""
        key = (asked.seed, unit, probe)
        if key not in self.costs:
            request = self.expected.with_data(asked.request(unit, probe))
            passes = NUMERICAL_PASSES if request.kind == "gradient_check" else 1
            self.costs[key] = passes * sum(int(np.size(v)) for v in request.inputs.values())
        return self.costs[key]

    def _outcome(self, index: int, unit: str, probe: str, asked: probing.Probing) -> ProbeOutcome | None:
        """The probe's outcome, on the probe as `asked`, with mutant `index` swapped in (an outcome
        of None: a mutant that cannot be run)."""
        key = (index, unit, probe)
        if key not in self.cache:
            replaces = self.catalogue[index].replaces
            self.cache[key] = None if replaces is None else probing.trusted_outcome(
                self.expected.with_data(asked.request(unit, probe)), {**self.namespace, **replaces})
        return self.cache[key]


def _close(check: CheckSpec, expected: ProbeOutcome, mutant: ProbeOutcome) -> bool:
    """The mutant would pass this value check: its output as close to the reference's as the check asks."""
    if absent(expected, check.output) is not None or absent(mutant, check.output) is not None:
        return absent(mutant, check.output) is not None and absent(expected, check.output) is not None
    e = np.asarray(expected.values[check.output], dtype=float)
    m = np.asarray(mutant.values[check.output], dtype=float)
    return e.shape == m.shape and np.allclose(m, e, rtol=float(check.options.get("rtol", DEFAULT_RTOL)),
                                              atol=float(check.options.get("atol", DEFAULT_ATOL)), equal_nan=True)


def _all_zero(check: CheckSpec, got: ProbeOutcome) -> bool:
    """Every output the check judges is zeros: code that computed nothing agrees with any mutant
    that zeroes its result, so no mutant is evidence."""
    values = [got.values.get(n) for n in outputs(check)]
    return all(isinstance(v, np.ndarray) and v.size and not v.any() for v in values)


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
