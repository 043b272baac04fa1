"""The template and the checks say the same thing: every form the template promises a graded
definition handles (array ranks, label forms, edge cases) is probed, and nothing is probed that the
template does not promise; in backprop's, every form with every behaviour the unit checks. Each
template states each promise in one fixed phrase per language (`Graded forms of `name`: ...` /
`` `name` の採点する形：...``)."""

from __future__ import annotations

import itertools
import re

import nbformat
import pytest

from grader import spec
from grader.types import Assignment, ProbeSpec

# a promise: definition -> (argument -> its forms, in order), edge cases
Promise = tuple[dict[str, list[str]], list[str]]
ENGLISH = re.compile(r"^- Graded forms of `(\w+)`: (.+)\.$", re.M)
JAPANESE = re.compile(r"^- `(\w+)` の採点する形：(.+)。$", re.M)
# how the Japanese phrase names each form the English one does
IN_JAPANESE = {"1-D": "1次元", "2-D": "2次元", "3-D": "3次元", "4-D": "4次元", "one-hot": "one-hot",
               "index": "クラス番号", "zero probability": "確率 0", "large scores": "大きなスコア",
               "integers": "整数", "exactly 0": "ちょうど 0", "large values": "大きな値"}
# an edge case, as the probe's input generators produce it
EDGES = {"zero probability": lambda g: "zero_at" in g, "large scores": lambda g: "row_offsets" in g,
         "integers": lambda g: g["gen"] == "integers" and g.get("dtype", "int64").startswith("int"),
         "exactly 0": lambda g: 0 in g.get("include", ()),
         "large values": lambda g: max(map(abs, g.get("include", [0]))) >= 100}
# graded definitions whose arguments are no array of the student's choosing, so no form to promise:
# the grader's own parameter dicts (optimizers), sizes (init_weight), images of a data file
UNSTATED = {"backprop": set(), "forward": {"predict", "accuracy"},
            "learning": {"SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "init_weight"}}


@pytest.fixture(scope="module", params=sorted(UNSTATED))
def assignment(request) -> Assignment:
    return spec.load(request.param)


def promises(assignment: Assignment, lang: str) -> dict[str, Promise]:
    """Each phrase of the template in `lang`, parsed: "`y` 1-D, 2-D; `t` one-hot, index; also zero probability"."""
    pattern, groups, items, also = (ENGLISH, "; ", ", ", "also ") if lang == "en" else (JAPANESE, "、", "・", "および")
    template = assignment.directory / "template.ipynb"
    text = "\n".join(c.source for c in nbformat.read(template, as_version=4).cells if c.cell_type == "markdown")
    found: dict[str, Promise] = {}
    for name, body in pattern.findall(text):
        forms, edges = {}, []
        for group in body.split(groups):
            if group.startswith(also):
                edges = group.removeprefix(also).split(items)
            else:
                arg, _, listed = group.partition(" ")
                forms[arg.strip("`")] = listed.split(items)
        found[name] = (forms, edges)
    return found


def form(probe: ProbeSpec, arg: str) -> str:
    """The form of one input of a probe: its label encoding, or its number of dimensions."""
    g = probe.inputs[arg]
    if g["gen"] in {"one_hot", "labels"}:
        return "one-hot" if g["gen"] == "one_hot" else "index"
    return form(probe, g["like"]) if "like" in g else f"{len(g['shape'])}-D"


def graded(assignment: Assignment) -> dict[str, list[ProbeSpec]]:
    """The probes of each single graded definition (the network's units grade a method, no forms)."""
    return {unit.defines[0]: [p for p in unit.probes.values() if p.params.get("target") == unit.defines[0]]
            for unit in assignment.units.values()
            if len(unit.defines) == 1 and unit.defines[0] not in UNSTATED[assignment.name]}


def test_the_template_states_the_forms_of_every_graded_definition_alike_in_both_languages(assignment):
    english, japanese = promises(assignment, "en"), promises(assignment, "ja")
    assert set(english) == set(graded(assignment)), "a graded definition whose forms the template does not state"
    for name, (forms, edges) in english.items():
        assert japanese[name] == ({arg: [IN_JAPANESE[f] for f in fs] for arg, fs in forms.items()},
                                  [IN_JAPANESE[e] for e in edges]), name


def test_every_promised_form_and_edge_case_is_probed_and_no_other(assignment):
    """Each array rank and label form the template names (and each combination of them, y 1-D with
    t index...) has a probe, each edge case at least one; no probe of a form it does not name."""
    english = promises(assignment, "en")
    for name, probes in graded(assignment).items():
        forms, edges = english[name]
        assert all(set(forms) <= set(p.inputs) for p in probes), f"{name}: a probe without a promised argument"
        for combination in itertools.product(*forms.values()):
            assert any(tuple(form(p, arg) for arg in forms) == combination for p in probes), \
                f"{name}: no probe of {combination}"
        for edge in edges:
            assert any(EDGES[edge](g) for p in probes for g in p.inputs.values()), f"{name}: no probe with {edge}"
        for p in probes:
            assert all(form(p, arg) in forms[arg] for arg in forms), f"{name}: probe {p.name} is not promised"


def test_every_promised_form_is_probed_with_every_checked_behaviour_and_edge_case_and_no_other(backprop):
    """Backprop's promise is stricter: for each combination of promised forms, a probe of it, one of
    it with each edge case, and every output the unit checks anywhere checked there too."""
    english = promises(backprop, "en")
    for name, probes in graded(backprop).items():
        forms, edges = english[name]
        unit = next(u for u in backprop.units.values() if u.defines == (name,))
        checked = {p: {c.output for c in unit.checks if c.probe == p} for p in unit.probes}
        assert all(set(forms) <= set(p.inputs) for p in probes), f"{name}: a probe without a promised argument"
        for combination in itertools.product(*forms.values()):
            alike = [p for p in probes if tuple(form(p, arg) for arg in forms) == combination]
            assert alike, f"{name}: no probe of {combination}"
            for edge in edges:
                has_it = [p for p in alike if any(EDGES[edge](g) for g in p.inputs.values())]
                assert has_it, f"{name}: no probe of {combination} with {edge}"
            outputs = set().union(*(checked[p.name] for p in alike))
            assert outputs == set().union(*checked.values()), f"{name}: {combination} checks only {outputs}"
        for p in probes:  # nothing probed that the template does not promise
            assert all(form(p, arg) in forms[arg] for arg in forms), f"{name}: probe {p.name} is not promised"
