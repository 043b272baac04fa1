"""The web pages' pure parts: the page catalogue, language choice, sanitising, written answers, class views."""

from __future__ import annotations

from datetime import UTC, datetime

import nbformat
import pytest

from grader import languages, spec
from service import grades, summaries
from service.grades import GradeRow, ManualMark
from service.store import Counted
from service.web import class_view, i18n, notebook_view, render, written
from tests.service_parts import TINY_SPEC


def test_the_switch_offers_every_language_by_its_own_name():
    assert i18n.LANGUAGES == {"ja": "日本語", "en": "English", "ko": "한국어", "zh": "简体中文"}
    assert list(i18n.LANGUAGES) == list(languages.LANGUAGES)


def test_a_page_string_says_its_facts_escaped_in_the_pages_language():
    """Templates use the catalogue through Jinja2's i18n extension; a student's name is text, never markup."""
    page = render.templates("ja").from_string("<p>{{ _('signed_in_as', name=who) }} {{ _('status_' + s) }}</p>")
    assert page.render(who="<b>Ann & Bo</b>", s="done") == \
        "<p>&lt;b&gt;Ann &amp; Bo&lt;/b&gt; としてサインイン中 完了</p>"
    assert render.templates("en").from_string("{{ gettext('where_in_notebook', cell='In [3]', line=4) }}").render() \
        == "In [3], line 4"


def test_the_switch_wins_over_the_browser_language_which_wins_over_the_default():
    assert i18n.negotiate("ja-JP,ja;q=0.9,en;q=0.8", None) == "ja"
    assert i18n.negotiate("fr-FR,en;q=0.5,ja;q=0.9", None) == "ja"
    assert i18n.negotiate("ko-KR,ko;q=0.9,en;q=0.8", None) == "ko"
    assert i18n.negotiate("zh-TW,zh;q=0.9", None) == "zh"
    assert i18n.negotiate("ja", "en") == "en"
    assert i18n.negotiate("en-US", "zh") == "zh"
    assert i18n.negotiate("fr", None) == i18n.DEFAULT


def test_sanitised_notebook_html_keeps_text_but_no_script_handler_link_or_outside_resource():
    dirty = ('<p onclick="x()">text</p><script>alert(1)</script><a href="javascript:alert(1)">js</a>'
             '<a href="https://example.org/">out</a><a href="#here">in</a><img src="https://example.org/a.png">'
             '<img src="data:image/png;base64,AAAA"><svg onload="x()"><script>y()</script></svg>'
             '<style>*{background:url(//x)}</style><iframe src="//x"></iframe>')
    clean = notebook_view.sanitise(dirty)
    for banned in ("onclick", "<script", "javascript:", "example.org", "<svg", "<style", "<iframe", "onload"):
        assert banned not in clean
    assert "text" in clean and 'href="#here"' in clean and 'src="data:image/png;base64,AAAA"' in clean


def test_written_answers_are_the_sections_under_the_reflection_headings():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## 1. Layers\nnot this"), nbformat.v4.new_markdown_cell("## 感想"),
                nbformat.v4.new_markdown_cell("難しかった。\n\n## 参考文献\nbook"), nbformat.v4.new_code_cell("1")]
    found = written.answers(nbformat.writes(nb).encode(), spec.ManualSpec().headings)
    assert [(a.heading, a.text) for a in found] == [("感想", "難しかった。")]


def _standing(student: str, failed: list[str] | None, manual: float | None = None) -> GradeRow:
    """A gradebook row: graded with these checks failed, or (failed None) without a submission."""
    grade = ManualMark(manual, "", f"sub-{student}", None) if manual is not None else None
    if failed is None:
        return GradeRow(student, student.title(), grades.NO_SUBMISSION, None, grade)
    checks = [{"name": name, "passed": False, "diagnosis": {"id": "d", "message": "forgot to divide by batch"}}
              for name in failed] + [{"name": "ok", "passed": True}]
    report = {"score": 1, "max_score": 5, "units": {"SoftmaxWithLoss": {"score": 1, "max_score": 5, "checks": checks}}}
    summary = summaries.columns(report)
    score = summary["score"]
    counted = Counted(f"sub-{student}", datetime.now(UTC), "hw.ipynb", 1, 0, score, score, summary["max_score"],
                      summary["unit_scores"], summary["unit_max_scores"], summary["failing"], None)
    return GradeRow(student, student.title(), grades.GRADED, counted, grade)


def test_common_failures_count_each_student_once_per_check_and_diagnosis():
    standings = [_standing("ann", ["backward", "backward/with_reference_deps"], manual=2.0),
                 _standing("ben", ["backward"]), _standing("cho", []), _standing("dan", None)]
    common = {c.label: [s[0] for s in c.students] for c in class_view.common_failures(standings)}
    assert common == {"SoftmaxWithLoss.backward": ["ann", "ben"], "forgot to divide by batch": ["ann", "ben"]}
    matrix = class_view.matrix(["SoftmaxWithLoss"], standings)
    assert [r.total for r in matrix.rows] == [3.0, 1.0, 1.0, None]
    assert [r.cells[0].band for r in matrix.rows[:3]] == [0, 0, 0]      # 1 of 5 points: the lowest quarter
    assert matrix.rows[3].cells is None and matrix.rows[3].status == "no submission"
    assert [r.student for r in matrix.of({"ben"})] == ["ben"] and len(matrix.of(set())) == 4


def test_the_class_mean_says_whom_it_is_over():
    matrix = class_view.matrix(["SoftmaxWithLoss"], [_standing("ann", []), _standing("ben", None)])
    assert (matrix.graded.count, matrix.graded.units["SoftmaxWithLoss"], matrix.graded.total) == (1, 1.0, 1.0)
    assert (matrix.roster.count, matrix.roster.units["SoftmaxWithLoss"], matrix.roster.total) == (2, 0.5, 0.5)


@pytest.mark.parametrize(("score", "band"), [(0, 0), (1.2, 0), (1.25, 1), (2.5, 2), (4.9, 3), (5, 4)])
def test_matrix_cells_are_coloured_by_the_quarter_of_the_maximum_they_reached(score, band):
    assert class_view.score_band(score, 5) == band
    assert class_view.score_band(score, 0) == 0          # a unit without points has no colour


def test_the_written_parts_points_and_headings_come_from_the_specs_manual_table(tmp_path, backprop):
    (tmp_path / "assignment.toml").write_text(TINY_SPEC + '\n[manual]\npoints = 2.5\nheadings = ["Essay"]\n')
    essay = spec.load(tmp_path).manual
    assert (essay.points, essay.headings) == (2.5, ("Essay",))
    assert backprop.manual == spec.ManualSpec() and backprop.manual.points == 5 and "感想" in backprop.manual.headings
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Essay\nmine"), nbformat.v4.new_markdown_cell("## 感想\nnot asked")]
    assert [a.text for a in written.answers(nbformat.writes(nb).encode(), essay.headings)] == ["mine"]
