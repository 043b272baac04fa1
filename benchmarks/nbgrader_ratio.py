"""The anchor: nbgrader autograding the same ten correct notebooks, against `grader grade --jobs 2`, in one run.

Usage: python benchmarks/nbgrader_ratio.py [--n 10] [--venv DIR]

nbgrader 0.9.6 goes into a virtualenv of its own (`--venv`, default GRADER_CACHE_DIR/anchors/nbgrader-0.9.6,
made on first use from the package registry), never into the project's. A scratch course directory gets a
source assignment: the backprop solution notebook plus the autograder test cells an instructor would write
for the same units (values of cross_entropy_error, numerical_grad, the layers' forward and backward against
numerical gradients, the network's gradient check, and 200 SGD steps on the grader's own MNIST training
split with an accuracy bound). `nbgrader generate_assignment`, then N students' submissions, each a distinct
copy (its own comment cell), and `nbgrader autograde` grades them all; `grader grade --jobs 2` grades the same
N files. Both with one BLAS thread, each timed whole (its command from start to exit). Prints both and the
ratio; the target is >= 10. Wall-clock: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from parts import REPO

from grader import data
from grader.config import Settings

NBGRADER = "nbgrader==0.9.6"
ASSIGNMENT = "report4"
SOLUTION = REPO / "assignments" / "backprop" / "solution.ipynb"
GRADER = str(Path(sys.executable).with_name("grader"))

TESTS = {  # grade_id -> the instructor's test cell for one unit (points 1 each)
    "cross_entropy_error": """
import numpy as np
y = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]])
assert abs(cross_entropy_error(y, np.array([1, 2])) - np.mean(-np.log(np.array([0.7, 0.4]) + 1e-7))) < 1e-9
assert abs(cross_entropy_error(y, np.eye(3)[[1, 2]]) - cross_entropy_error(y, np.array([1, 2]))) < 1e-12
""",
    "numerical_grad": """
x = np.random.default_rng(0).normal(size=(3, 4))
assert np.allclose(numerical_grad(lambda v: np.sum(v ** 3), x.copy()), 3 * x ** 2, atol=1e-6)
""",
    "layers": """
rng = np.random.default_rng(1)
x, W, b = rng.normal(size=(5, 2, 3)), rng.normal(size=(6, 4)), rng.normal(size=4)
relu = Relu()
assert np.array_equal(relu.forward(x), np.maximum(x, 0))
assert np.array_equal(relu.backward(np.ones_like(x)), (x > 0).astype(float))
affine = Affine(W, b)
out = affine.forward(x)
dx = affine.backward(np.ones_like(out))
assert dx.shape == x.shape and np.allclose(affine.db, np.full(4, 5.0))
assert np.allclose(affine.dW, x.reshape(5, -1).T @ np.ones((5, 4)))
""",
    "SoftmaxWithLoss": """
scores, labels = rng.normal(size=(4, 3)) * 1000, np.array([0, 2, 1, 1])
layer = SoftmaxWithLoss()
assert np.isfinite(layer.forward(scores, labels))
s = rng.normal(size=(4, 3))
layer.forward(s, labels)
assert np.allclose(layer.backward(1), numerical_grad(lambda v: SoftmaxWithLoss().forward(v, labels), s), atol=1e-6)
""",
    "gradient_check": """
net = TwoLayerNet(6, 5, 3)
xc, tc = rng.normal(size=(4, 6)), np.eye(3)[[0, 1, 2, 1]]
grads, numeric = net.gradient(xc, tc), net.numerical_gradient(xc, tc)
assert all(np.mean(np.abs(grads[k] - numeric[k])) < 1e-7 for k in ("W1", "b1", "W2", "b2"))
""",
    "accuracy": """
x_train, t_train = np.load({x!r}), np.load({t!r})
np.random.seed(0)
net = TwoLayerNet(784, 50, 10)
onehot = np.eye(10)[t_train]
for step in range(200):
    batch = np.random.choice(len(x_train), 100)
    grads = net.gradient(x_train[batch], onehot[batch])
    for key in ("W1", "b1", "W2", "b2"):
        net.params[key] -= 0.1 * grads[key]
assert net.accuracy(x_train[-1000:], onehot[-1000:]) > 0.8
""",
}


def nbgrader_venv(where: Path) -> Path:
    """nbgrader's own virtualenv (made once), so the anchor never shares the project's packages."""
    if not (where / "bin" / "nbgrader").exists():
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
        subprocess.run([str(where / "bin" / "pip"), "install", "-q", NBGRADER, "numpy"], check=True)
    return where / "bin"


def cell(kind: str, source: str, **nbgrader: object) -> dict:
    made = {"cell_type": kind, "metadata": {"nbgrader": {"schema_version": 3, **nbgrader}} if nbgrader else {},
            "source": source.strip()}
    return {**made, "outputs": [], "execution_count": None} if kind == "code" else made


def course(root: Path, settings: Settings) -> Path:
    """A scratch nbgrader course with the source assignment: the solution plus the instructor's test cells."""
    files = data.train_files(settings)
    source = json.loads(SOLUTION.read_text())
    source["cells"] += [cell("code", TESTS[name].format(x=str(files["x_train"]), t=str(files["t_train"])),
                             grade=True, grade_id=name, points=1, locked=True, solution=False, task=False)
                        for name in TESTS]
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "source" / ASSIGNMENT / "report.ipynb").write_text(json.dumps(source))
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root}/gradebook.db'\n"
        f"c.Exchange.root = {str(root / 'exchange')!r}\n")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--venv", type=Path)
    args = parser.parse_args()
    settings = Settings.from_env()
    bin_dir = nbgrader_venv(args.venv or settings.cache_dir / "anchors" / "nbgrader-0.9.6")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory() as scratch:
        root = course(Path(scratch) / "course", settings)
        nbgrader = [str(bin_dir / "nbgrader")]
        run = {"cwd": root, "env": env, "check": True, "capture_output": True}
        subprocess.run(nbgrader + ["generate_assignment", ASSIGNMENT, "--force"], **run)
        released = json.loads((root / "release" / ASSIGNMENT / "report.ipynb").read_text())
        ours = Path(scratch) / "ours"
        ours.mkdir()
        for i in range(args.n):
            student = f"s{i:03d}"
            copy = {**released, "cells": [cell("markdown", f"学籍番号 {student}")] + released["cells"]}
            folder = root / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            (folder / "report.ipynb").write_text(json.dumps(copy))
            (ours / f"{student}.ipynb").write_text(json.dumps(copy))
            subprocess.run(nbgrader + ["db", "student", "add", student], **run)
        started = time.perf_counter()
        subprocess.run(nbgrader + ["autograde", ASSIGNMENT, "--force"], **run)
        theirs = time.perf_counter() - started
        subprocess.run(nbgrader + ["export", "--to", str(Path(scratch) / "grades.csv")], **run)
        with open(Path(scratch) / "grades.csv", newline="") as fh:
            scores = sorted({f"{row['score']}/{row['max_score']}" for row in csv.DictReader(fh)})
        started = time.perf_counter()
        graded = subprocess.run([GRADER, "grade", "--assignment", "backprop", "--jobs", "2", "--format", "csv",
                                 *sorted(map(str, ours.iterdir()))],
                                env=env, check=True, capture_output=True, text=True)
        mine = time.perf_counter() - started
    totals = sorted({f"{row['score']}/{row['max_score']}" for row in csv.DictReader(graded.stdout.splitlines())})
    print(f"{args.n} distinct correct notebooks, one BLAS thread (load average {os.getloadavg()[0]:.1f}):")
    print(f"  nbgrader 0.9.6 autograde: {theirs:.2f} s  (scores: {', '.join(scores)})")
    print(f"  grader grade --jobs 2:    {mine:.2f} s  (totals: {', '.join(totals)})")
    print(f"  ratio: {theirs / mine:.1f} (target >= 10)")


if __name__ == "__main__":
    main()
