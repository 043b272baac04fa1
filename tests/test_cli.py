"""The `grader` command as a user runs it: formats, batch behaviour, exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from grader import spec
from grader.reports import CheckReport, SubmissionReport, UnitReport, to_table
from grader.terminal import ProgressLine, show_table
from tests.conftest import REPO

EXAMPLES = REPO / "assignments" / "backprop" / "examples"
GRADER = str(Path(sys.executable).with_name("grader"))


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([GRADER, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


def test_json_report_follows_the_documented_schema(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    good = EXAMPLES / "01_correct.ipynb"
    result = run("grade", "--assignment", "backprop", "--format", "json", "--jobs", "2", "--seed", "5",
                 str(good), str(broken))
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout)
    assert [r["submission"] for r in reports] == [str(good), str(broken)]
    first, second = reports
    assert {"submission", "score", "max_score", "seed", "error", "units"} <= set(first)
    assert first["error"] is None and first["seed"] == 5 and first["score"] == first["max_score"]
    unit = first["units"]["Affine"]
    assert unit["score"] == unit["max_score"] == sum(c["max_score"] for c in unit["checks"])
    assert set(unit["checks"][0]) >= {"name", "passed", "score", "max_score", "message"}
    assert second["error"].startswith("the file is not JSON") and second["score"] == 0


def test_csv_has_one_row_per_notebook_and_one_column_per_unit(tmp_path):
    out = tmp_path / "grades.csv"
    result = run("grade", "--assignment", "backprop", "--format", "csv", "--out", str(out), "--jobs", "2",
                 str(EXAMPLES / "04_relu_forward_inplace_backward_wrong.ipynb"), str(EXAMPLES / "01_correct.ipynb"))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [Path(r["submission"]).name for r in rows] == ["04_relu_forward_inplace_backward_wrong.ipynb",
                                                          "01_correct.ipynb"]
    relu_max = spec.load("backprop").units["Relu"].max_score
    assert float(rows[0]["Relu"]) < relu_max and float(rows[1]["Relu"]) == relu_max
    assert float(rows[1]["score"]) == float(rows[1]["max_score"])


def test_folder_table_and_progress(tmp_path):
    for name in ("01_correct.ipynb", "05_affine_db_wrong_axis.ipynb"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    result = run("grade", "--assignment", "backprop", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "2/2" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["submission", "cross_entropy_error", "numerical_grad", "Relu", "Affine",
                                "SoftmaxWithLoss", "gradient", "gradient_check", "accuracy", "total"]
    failure = next(i for i, line in enumerate(lines) if line.startswith("  Affine.backward_db"))
    assert lines[failure + 1].startswith("    hint: db") and "axis" in lines[failure + 1]  # the diagnosis, below


def test_usage_errors_exit_non_zero():
    assert run("grade", "--assignment", "nope", str(EXAMPLES)).returncode == 2
    assert run("grade", "--assignment", "backprop", "/no/such/file.ipynb").returncode == 2
    assert run("grade", "--assignment", "backprop").returncode == 2


def test_assignments_are_listed():
    result = run("assignments")
    assert result.returncode == 0 and result.stdout.startswith("backprop\t8 units")
    listed = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert listed == ["backprop", "cnn", "forward", "learning"]


def test_refuses_without_bubblewrap_unless_unsafe_is_allowed(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on PATH
    refused = run("grade", "--assignment", "backprop", str(EXAMPLES / "01_correct.ipynb"), env=env)
    assert refused.returncode == 3 and "bubblewrap" in refused.stderr
    allowed = run("grade", "--assignment", "backprop", "--format", "json", "--unsafe-no-sandbox",
                  str(EXAMPLES / "01_correct.ipynb"), env=env)
    assert allowed.returncode == 0, allowed.stderr
    (report,) = json.loads(allowed.stdout)
    assert report["sandbox"] == "none (unsafe)" and report["score"] == report["max_score"]
    table = run("grade", "--assignment", "backprop", "--unsafe-no-sandbox", str(EXAMPLES / "01_correct.ipynb"), env=env)
    assert table.stdout.startswith("WARNING: 1 submission(s) graded without a sandbox")


def test_lang_option_chooses_any_of_the_four_languages(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    said = {}
    for lang in ("ja", "en", "ko", "zh"):
        result = run("grade", "--assignment", "backprop", "--format", "json", "--lang", lang, str(broken))
        assert result.returncode == 0, result.stderr
        (report,) = json.loads(result.stdout)
        said[report["language"]] = report["error"]
    assert said["zh"].startswith("文件不是 JSON") and said["ko"].startswith("파일이 JSON이 아니므로")
    assert said["ja"].startswith("ファイルが JSON ではない") and said["en"].startswith("the file is not JSON")
    assert run("grade", "--assignment", "backprop", "--lang", "fr", str(broken)).returncode == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _report(name: str, message: str) -> SubmissionReport:
    check = CheckReport("backward_db", "own", False, 0.0, 3.0, message)
    return SubmissionReport(submission=name, assignment="backprop", score=9.0, max_score=12.0, seed=1, language="en",
                            units={"Affine": UnitReport(9.0, 12.0, (check,))})


def test_on_a_terminal_the_table_and_bar_are_drawn_and_student_text_stays_inert():
    """rich draws them, but a file name or message with markup or escape sequences is shown as text."""
    name, message = "[bold red]x\x1b[2J.ipynb", "[link=http://x]db[/link] wrong\x1b]0;pwned\x07"
    table, bar = _Terminal(), _Terminal()
    show_table([_report(name, message)], ["Affine"], table)
    progress = ProgressLine(1, bar)
    progress.step(Path(name), _report(name, message))
    progress.done()
    for out in (table.getvalue(), bar.getvalue()):
        own = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)  # rich's own styling and cursor moves only
        assert "\x1b" not in own and "\x07" not in own, repr(out)
        assert "[bold red]x\\x1b[2J.ipynb" in own
    assert "│" in table.getvalue() and "[link=http://x]db[/link] wrong\\x1b]0;pwned\\x07" in table.getvalue()
    assert "1/1" in bar.getvalue() and "9/12" in bar.getvalue()


def test_off_a_terminal_the_table_is_the_plain_text_table():
    out = io.StringIO()
    show_table([_report("a.ipynb", "wrong")], ["Affine"], out)
    assert out.getvalue() == to_table([_report("a.ipynb", "wrong")], ["Affine"]) + "\n"


def test_a_malformed_setting_stops_the_command_naming_the_variable():
    for name, value in (("GRADER_MAX_NOTEBOOK_BYTES", "abc"), ("GRADER_UNSAFE_NO_SANDBOX", "maybe"),
                        ("GRADER_SANDBOX_UID_COUNT", "0")):
        result = run("grade", "--assignment", "backprop", str(EXAMPLES / "01_correct.ipynb"),
                     env={**os.environ, name: value})
        assert result.returncode == 2 and name in result.stderr and value in result.stderr, result.stderr


def test_grading_computes_with_one_blas_thread_and_gives_the_callers_threads_back(settings, backprop, monkeypatch):
    """Notebooks are graded side by side (`--jobs`, workers): a BLAS pool per process on top of that
    oversubscribes the cores (ten notebooks at --jobs 2 took twice as long)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from grader import pipeline

    seen = []
    judge = pipeline.judge
    monkeypatch.setattr(pipeline, "judge", lambda *a, **k: seen.extend(
        p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas") or judge(*a, **k))
    with threadpool_limits(limits=2, user_api="blas"):
        report = pipeline.grade_file(EXAMPLES / "01_correct.ipynb", backprop, settings, seed=5, lang="en")
        after = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert report.score == report.max_score
    assert seen and set(seen) == {1}
    assert set(after) == {2}
