"""Feedback that reads in one screen: failed checks with the same cause are one entry, named once."""

from __future__ import annotations

from grader import causes


def check(name: str, message: str, line: int | None = 9, diagnosis: str | None = None, passed: bool = False) -> dict:
    return {"name": name, "passed": passed, "message": message, "messages": {"en": message, "ja": f"ja: {message}"},
            "where": {"cell": "In [57]", "line": line, "text": "dout = lastLayer.backward(dout)"} if line else None,
            **({"diagnosis": {"id": diagnosis, "message": f"because {diagnosis}"}} if diagnosis else {})}


def gradient_checks() -> list[dict]:
    error = "raised NameError: name 'SoftmaxWithLoss' is not defined"
    small, large = (f"TwoLayerNet(6, 5, 4).gradient(x (5, 6), t (5, 4)) {error}",
                    f"TwoLayerNet(400, 100, 10).gradient(x (20, 400), t (20, 10)) {error}")
    names = ["W1", "b1", "W2", "b2"]
    return ([check(n, small, diagnosis=("a", "b")[i % 2]) for i, n in enumerate(names)]
            + [check(f"{n}_second_call", small, diagnosis="a") for n in names]
            + [check(f"{n}_large", large, diagnosis="c") for n in names]
            + [check("W1/with_reference_deps", "raised AttributeError: 'NoneType' object has no attribute 'shape'", 3)]
            + [check("ok", "", passed=True)])


def test_twelve_checks_failing_at_one_line_with_one_message_are_one_entry_with_each_diagnosis_once():
    first, second = causes.group(gradient_checks(), "en")
    assert first.count == 12 and first.message.startswith("TwoLayerNet(6, 5, 4)")
    assert causes.label(first, "en") == "W1, b1, W2, b2, and their second-call and large twins (12 checks)"
    assert [d["id"] for d in first.diagnoses] == ["a", "b", "c"]
    assert first.where["line"] == 9 and second.where["line"] == 3                    # another line: another cause
    assert causes.label(second, "en") == "W1" and second.count == 1


def test_the_entry_is_named_and_told_in_the_readers_language():
    first = causes.group(gradient_checks(), "ja")[0]
    assert first.message.startswith("ja: ") and causes.label(first, "ja").endswith("（12 件のチェック）")


def test_names_without_a_twin_pattern_are_listed_as_they_are():
    group = causes.group([check("forward_one_hot", "not defined"), check("backward_one_hot", "not defined")])[0]
    assert causes.label(group, "en") == "forward_one_hot, backward_one_hot (2 checks)"
    assert causes.twins(("W1", "b1", "W1_large")) == (["W1", "b1", "W1_large"], [])   # b1 has no large twin
    many = causes.group([check(f"c{i}", "not defined") for i in range(12)])[0]
    assert causes.label(many, "en") == "c0, c1, c2, c3 and 8 more (12 checks)"
