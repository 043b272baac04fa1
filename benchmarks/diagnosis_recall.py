"""Diagnosis recall and false diagnoses, on generated and on hand-written single mistakes.

Usage: python benchmarks/diagnosis_recall.py [--per-family 2] [--handwritten-only] [--generated-only]

Generated corpus: every mutation operator (grader/diagnoses/operators.py) applied to the
solution notebook's definitions, `--per-family` edits per operator family (spread over the
definitions), each graded in the sandbox without the training unit. An edit no check tells from
the solution (full score) is left out. A diagnosis is right when it points at the function the
edit is in (a derived one: that very method, not another of its class; a curated one: a mutant
of that definition), or is an observation
(`off_by_factor`, `transposed`); any other names a mistake the notebook does not have (wrong).
Hand-written corpus: benchmarks/handwritten_mistakes.py (edits no operator makes).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.handwritten_mistakes import HANDWRITTEN  # noqa: E402
from grader import pipeline, spec  # noqa: E402
from grader.config import Settings  # noqa: E402
from grader.diagnoses.operators import apply, sites  # noqa: E402
from tests.notebooks import notebook_bytes, solution_cells  # noqa: E402

OBSERVATIONS = {"off_by_factor", "transposed"}
# the curated mutants (reference/mutants.py), by the definition their mistake is in
CURATED = {"log_without_delta": "cross_entropy_error", "cee_no_batch_mean": "cross_entropy_error",
           "cee_one_hot_labels_only": "cross_entropy_error", "cee_index_labels_only": "cross_entropy_error",
           "numerical_forward_difference": "numerical_grad", "numerical_x_not_restored": "numerical_grad",
           "return_inside_loop": "numerical_grad", "softmax_no_max_subtraction": "softmax",
           "softmax_global_max": "softmax", "softmax_backward_no_batch_division": "SoftmaxWithLoss",
           "relu_mask_inverted": "Relu", "relu_mask_not_applied": "Relu", "relu_mask_not_stored": "Relu",
           "relu_forward_overwrites_input": "Relu", "affine_db_wrong_axis": "Affine",
           "affine_dW_transposed": "Affine", "affine_dx_not_reshaped": "Affine",
           "params_and_layers_differ": "Affine", "backward_in_forward_order": "TwoLayerNet",
           "layers_wrong_order": "TwoLayerNet", "relu_layer_missing": "TwoLayerNet"}


def generated(per_family: int) -> list[tuple[str, list[str], str]]:
    """(name, cells, the function edited): `per_family` edits per family, evenly spread over its sites."""
    cells = solution_cells()
    by_family: dict[str, list] = defaultdict(list)
    for c, source in enumerate(cells):
        tree = ast.parse(source)
        for site in sites(tree):
            by_family[site.family].append((c, tree, site))
    chosen = []
    for _, found in sorted(by_family.items()):
        stride = max(1, len(found) // per_family)
        for c, tree, site in found[stride // 2::stride][:per_family]:
            mutated = list(cells)
            mutated[c] = ast.unparse(apply(tree, site))
            chosen.append((f"{site.family}@{site.where}:{site.code[:40]}", mutated, site.where))
    return chosen


def handwritten() -> list[tuple[str, list[str], set[str]]]:
    out = []
    for name, (edits, right) in HANDWRITTEN.items():
        cells = solution_cells()
        for old, new in edits:
            assert sum(c.count(old) for c in cells) == 1, (name, old)
            cells = [c.replace(old, new) for c in cells]
        out.append((name, cells, right))
    return out


def diagnoses(report) -> list[dict]:
    return [c.diagnosis for u in report.units.values() for c in u.checks if c.diagnosis]


def points_at(diagnosis: dict, facts_where: str | None, edited: str) -> bool:
    """A curated mutant names a definition (the edited function's class, or itself); a derived one
    names the very function its edit is in."""
    if diagnosis["id"] in CURATED:
        return CURATED[diagnosis["id"]] == edited.partition(".")[0]
    return facts_where == edited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=1)
    parser.add_argument("--generated-only", action="store_true")
    parser.add_argument("--handwritten-only", action="store_true")
    args = parser.parse_args()
    full = spec.load("backprop")
    quick = dataclasses.replace(full, units={k: u for k, u in full.units.items() if k != "accuracy"})
    settings = Settings.from_env()

    def grade(cells: list[str], seed: int):
        return pipeline.grade_bytes(notebook_bytes(*cells), "mutant.ipynb", quick, settings, seed=seed, lang="en")

    if not args.handwritten_only:
        told = right = wrong = 0
        seconds = []
        for seed, (name, cells, edited) in enumerate(generated(args.per_family)):
            report = grade(cells, seed)
            seconds.append(report.timings["diagnosis"])
            if report.score == report.max_score:
                print(f"  untold     {name}")
                continue
            told += 1
            named = diagnoses(report)
            # the derived diagnoses say where; the report's message carries it between backticks
            hits = [points_at(d, d["message"].split("`")[1] if d["message"].startswith("`") else None, edited)
                    for d in named if d["id"] not in OBSERVATIONS]
            bad = not all(hits)
            good = any(hits) or any(d["id"] in OBSERVATIONS for d in named)
            right += good and not bad
            wrong += bool(bad)
            status = "WRONG" if bad else "right" if good else "none"
            print(f"  {status:10s} {name}  {sorted({d['id'] for d in named})}")
        print(f"generated: {told} told apart; recall {right}/{told} = {right / max(told, 1):.0%}, "
              f"wrong {wrong}; diagnosis time mean {sum(seconds) / max(len(seconds), 1):.2f} s")
    if not args.generated_only:
        right = wrong = expecting = 0
        for seed, (name, cells, accepted) in enumerate(handwritten()):
            report = grade(cells, 1000 + seed)
            ids = {d["id"] for d in diagnoses(report)}
            bad = ids - accepted
            expecting += bool(accepted)
            right += bool(accepted) and bool(ids & accepted) and not bad
            wrong += bool(bad)
            status = "WRONG" if bad else "right" if ids else "none"
            print(f"  {status:10s} {name}  {sorted(ids)}  (right: {sorted(accepted) or 'none'})")
        print(f"hand-written: {len(HANDWRITTEN)} notebooks; an observation where one is right {right}/{expecting}, "
              f"wrong {wrong}")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"{time.monotonic() - started:.0f} s")
