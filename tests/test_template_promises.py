"""The template and the checks say the same thing: every form the template promises a graded
definition handles (array ranks, label forms, edge cases) is probed, with every behaviour the unit
checks, and nothing is probed that the template does not promise. The template states each promise
in one fixed phrase per language (`Graded forms of `name`: ...` / `` `name` の採点する形：...``)."""

from __future__ import annotations

import itertools
import re

import nbformat

from grader.config import ASSIGNMENTS_DIR
from grader.types import ProbeSpec

TEMPLATE = ASSIGNMENTS_DIR / "backprop" / "template.ipynb"
# a promise: definition -> (argument -> its forms, in order), edge cases
Promise = tuple[dict[str, list[str]], list[str]]
ENGLISH = re.compile(r"^- Graded forms of `(\w+)`: (.+)\.$", re.M)
JAPANESE = re.compile(r"^- `(\w+)` の採点する形：(.+)。$", re.M)
# how the Japanese phrase names each form the English one does
IN_JAPANESE = {"1-D": "1次元", "2-D": "2次元", "3-D": "3次元", "4-D": "4次元", "one-hot": "one-hot",
               "index": "クラス番号", "zero probability": "確率 0", "large scores": "大きなスコア"}
# an edge case, as the probe's input generators produce it
EDGES = {"zero probability": lambda g: "zero_at" in g, "large scores": lambda g: "row_offsets" in g}


def promises(lang: str) -> dict[str, Promise]:
    """Each phrase of the template in `lang`, parsed: "`y` 1-D, 2-D; `t` one-hot, index; also zero probability"."""
    pattern, groups, items, also = (ENGLISH, "; ", ", ", "also ") if lang == "en" else (JAPANESE, "、", "・", "および")
    text = "\n".join(c.source for c in nbformat.read(TEMPLATE, as_version=4).cells if c.cell_type == "markdown")
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


def graded(backprop) -> dict[str, list[ProbeSpec]]:
    """The probes of each single graded definition (the network's units grade a method, no forms)."""
    return {unit.defines[0]: [p for p in unit.probes.values() if p.params.get("target") == unit.defines[0]]
            for unit in backprop.units.values() if len(unit.defines) == 1}


def test_the_template_states_the_forms_of_every_graded_definition_alike_in_both_languages(backprop):
    english, japanese = promises("en"), promises("ja")
    assert set(english) == set(graded(backprop)), "a graded definition whose forms the template does not state"
    for name, (forms, edges) in english.items():
        assert japanese[name] == ({arg: [IN_JAPANESE[f] for f in fs] for arg, fs in forms.items()},
                                  [IN_JAPANESE[e] for e in edges]), name


def test_every_promised_form_is_probed_with_every_checked_behaviour_and_edge_case_and_no_other(backprop):
    """For each combination of promised forms (y 1-D with t index...): a probe of it, one of it with
    each edge case, and every output the unit checks anywhere checked there too."""
    english = promises("en")
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
