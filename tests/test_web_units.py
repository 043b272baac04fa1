"""The web pages' pure parts: the page catalogue, language choice, sanitising, written answers, class views."""

from __future__ import annotations

from types import SimpleNamespace

import nbformat

from service.web import i18n, notebook_view, views, written


def test_every_page_message_exists_in_every_language_the_switch_offers():
    missing = {key: set(i18n.LANGUAGES) - set(texts) for key, texts in i18n.MESSAGES.items()
               if set(i18n.LANGUAGES) - set(texts)}
    assert missing == {}


def test_the_switch_wins_over_the_browser_language_which_wins_over_the_default():
    assert i18n.negotiate("ja-JP,ja;q=0.9,en;q=0.8", None) == "ja"
    assert i18n.negotiate("fr-FR,en;q=0.5,ja;q=0.9", None) == "ja"
    assert i18n.negotiate("ja", "en") == "en"
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


def test_outputs_are_capped_and_javascript_outputs_dropped():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('x')", execution_count=4, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="y" * 100_000),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert('js-output')"})])
    nb.cells = [cell]
    html = notebook_view.render(nbformat.writes(nb).encode(), notebook_view.Marks(
        {"In [4]": ["Relu.backward (line 1)"]}, "a check failed here", "[output truncated]"))
    assert "alert" not in html and "[output truncated]" in html and len(html) < 20_000
    assert html.index("a check failed here") < html.index("In&nbsp;[4]")


def test_written_answers_are_the_sections_under_the_reflection_headings():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## 1. Layers\nnot this"), nbformat.v4.new_markdown_cell("## 感想"),
                nbformat.v4.new_markdown_cell("難しかった。\n\n## 参考文献\nbook"), nbformat.v4.new_code_cell("1")]
    found = written.answers(nbformat.writes(nb).encode(), written.DEFAULT_HEADINGS)
    assert [(a.heading, a.text) for a in found] == [("感想", "難しかった。")]


def _standing(student: str, failed: list[str]) -> SimpleNamespace:
    checks = [{"name": name, "passed": False, "diagnosis": {"id": "d", "message": "forgot to divide by batch"}}
              for name in failed] + [{"name": "ok", "passed": True}]
    report = {"units": {"SoftmaxWithLoss": {"score": 1, "max_score": 5, "checks": checks}}}
    return SimpleNamespace(student=SimpleNamespace(id=student, name=student.title()),
                           submission=SimpleNamespace(id=f"sub-{student}"),
                           result=SimpleNamespace(report=report, unit_scores={"SoftmaxWithLoss": 1}, score=1))


def test_common_failures_count_each_student_once_per_check_and_diagnosis():
    standings = [_standing("ann", ["backward", "backward/with_reference_deps"]), _standing("ben", ["backward"]),
                 _standing("cho", [])]
    common = {c.label: [s[0] for s in c.students] for c in views.common_failures(standings)}
    assert common == {"SoftmaxWithLoss.backward": ["ann", "ben"], "forgot to divide by batch": ["ann", "ben"]}
    matrix = views.matrix(["SoftmaxWithLoss"], standings, {"sub-ann": 2.0})
    assert [r.total for r in matrix.rows] == [3.0, 1.0, 1.0] and matrix.means["SoftmaxWithLoss"] == 1.0
