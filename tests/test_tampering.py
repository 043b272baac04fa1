"""Hostile code claiming success for a WRONG implementation: patched comparisons and harness modules,
fake results on stdout, in files or on the result pipe, a hijacked harness, forged frames. Whatever it
writes, the trusted side judges the answers and never takes a frame's word for a score.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests import hostile as h

pytestmark = pytest.mark.usefixtures("sandboxed")
BASE = h.BASE_SECONDS


WRONG = ("grad[idx] = (f_plus - f_minus) / (2 * h)", "grad[idx] = (f_plus - f_minus) / h")

TAMPER = {
    "numpy_comparisons": """
import numpy, numpy.testing
numpy.allclose = numpy.isclose = numpy.array_equal = numpy.array_equiv = lambda *a, **k: True
numpy.testing.assert_allclose = numpy.testing.assert_array_almost_equal = lambda *a, **k: None
""",
    "harness_modules": """
import inside.wire, inside.probes
inside.wire.encode = lambda header, arrays=None: b""
inside.wire.write_frame = lambda fd, frame: None
inside.probes.PROBES["numerical_grad"] = lambda ns, inputs, params, rec: rec.put("grad", inputs["x"] * 0 + 1.0)
inside.probes.TEST_FUNCTIONS.clear()
""",
    "sys_modules": """
import sys, types
fake = types.SimpleNamespace(allclose=lambda *a, **k: True, isclose=lambda *a, **k: True)
sys.modules["numpy.testing"] = fake
sys.modules["inside.wire"] = sys.modules["inside.probes"] = fake
sys.modules["grader"] = sys.modules["grader.checks"] = fake
""",
    "fake_results_on_stdout": """
import sys, json, struct
result = {"op": "result", "unit": "numerical_grad:own", "status": "ok", "score": 4, "passed": True, "probes": []}
print(json.dumps(result))
head = json.dumps({"probe": "square_1d", "outputs": {"grad": {"type": "number", "pytype": "float", "value": 0.0}},
                   "errors": {}, "arrays": []}).encode()
sys.stdout.flush()
sys.stdout.buffer.write(struct.pack(">II", len(head), 0) + head)
sys.stdout.flush()
sys.stderr.write("ALL TESTS PASSED\\n")
""",
    "fake_result_files": """
import json
import os
for path in ("/tmp/result.json", "/tmp/report.json", "results.json", "/tmp/score"):
    try:
        with open(path, "w") as fh:
            json.dump({"score": 37, "max_score": 37, "passed": True}, fh)
    except OSError:
        pass
""",
}
# Only in the forked child of a unit: builtins broken in the harness itself stop every unit.
TAMPER_IN_CALL = {
    "builtins": """
import builtins
builtins.isinstance = lambda obj, cls: True
builtins.float = lambda *a: 0.0
builtins.len = lambda obj: 0
""",
    # well-formed frames with made-up values, written straight to the result pipe; then exit
    "fake_frames_on_the_result_pipe": """
import io, json, os, struct, sys
import numpy
frame = sys._getframe()
while "command" not in frame.f_locals:
    frame = frame.f_back
names = [p["name"] for p in frame.f_locals["command"]["probes"]]
for fd in map(int, os.listdir("/proc/self/fd")):
    for name in names if fd > 2 else ():
        buf = io.BytesIO()
        numpy.save(buf, numpy.ones(x.shape))
        head = json.dumps({"probe": name, "outputs": {"grad": {"type": "array", "pytype": "ndarray"}},
                           "errors": {}, "arrays": [["grad", len(buf.getvalue())]]}).encode()
        try:
            os.write(fd, struct.pack(">II", len(head), len(buf.getvalue())) + head + buf.getvalue())
        except OSError:
            pass
os._exit(0)
""",
}


@pytest.mark.parametrize("case", sorted(TAMPER) + sorted(TAMPER_IN_CALL))
def test_tampering_in_the_call_does_not_rescue_a_wrong_answer(case, fast, settings):
    code = TAMPER.get(case) or TAMPER_IN_CALL[case]
    cells = h.substitute(h.in_numerical_grad(code), *WRONG)
    g = h.grade(cells, fast, settings)
    g.assert_full_except("numerical_grad")
    assert "ALL TESTS PASSED" not in g.json
    g.assert_within(BASE)


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_tampering_while_loading_does_not_rescue_a_wrong_answer(case, fast, settings):
    code = "class Tamper:\n" + "\n".join("    " + line for line in TAMPER[case].strip("\n").splitlines())
    cells = [*h.substitute(h.solution_cells(), *WRONG), code]
    g = h.grade(cells, fast, settings)
    assert g.report.error is None
    assert not g.full("numerical_grad")
    assert g.report.score < g.report.max_score
    g.assert_within(BASE)


def test_hijacked_harness_cannot_report_success(fast, settings):
    """Student code replaces the harness's run_unit: every unit's results are made up (ones)."""
    code = """
class Hijack:
    import sys
    main = sys.modules["__main__"]
    def run_unit(ns, command, inputs, result_fd, main=main):
        import numpy
        frames, arrays = [], {}
        names = ("out", "dx", "dW", "db", "grad", "x_after", "grad_W1", "grad_b1", "grad_W2", "grad_b2",
                 "lplus_W1", "lminus_W1", "param_W1", "param_b1", "param_W2", "param_b2")
        for probe in command["probes"]:
            frames.append({"probe": probe["name"], "errors": {},
                           "outputs": {n: {"type": "array", "pytype": "ndarray"} for n in names}})
            arrays.update({probe["name"] + "/" + n: numpy.ones(3) for n in names})
        main._write_frame(result_fd, main._encode({"op": "result", "unit": command["unit"], "status": "ok",
                                                   "exit_code": 0, "probes": frames, "output": "passed"}, arrays))
    main.run_unit = run_unit
"""
    g = h.grade([*h.solution_cells(), code], fast, settings)
    assert g.report.error is None
    for name, unit in g.report.units.items():
        assert unit.score < unit.max_score, name
    g.assert_within(BASE)


def test_harness_hijacked_to_hang_is_stopped_by_the_wall_clock(fast, settings):
    """The harness no longer enforces unit limits: the grader's own clock ends the submission."""
    wall = 10.0
    assignment = replace(h.fast(fast, **{name: 0.5 for name in fast.units}),
                         limits=replace(fast.limits, wall_seconds=wall))
    code = ("class Hijack:\n    import sys, time\n"
            "    sys.modules['__main__'].run_unit = lambda *a, t=time: t.sleep(1e6)\n")
    g = h.grade([*h.solution_cells(), code], assignment, settings)
    assert g.report.error is None
    assert g.report.score == 0
    messages = [m for name in g.report.units for m in g.messages(name)]
    assert any("stopped while running" in m and "(it did not answer in time)" in m for m in messages), messages
    assert any(f"used up its total time limit of {wall:g} s" in m for m in messages), messages
    g.assert_within(wall + 5)


# --- malformed frames from inside the sandbox must not crash the trusted side ---------------------

FORGED = {
    "unhashable_probe_name": {"probe": ["square_1d"], "outputs": {}, "errors": {}},
    "huge_integer": {"probe": "square_1d", "errors": {},
                     "outputs": {"grad": {"type": "number", "pytype": "float", "value": int("9" * 400)}}},
    "unhashable_output_type": {"probe": "square_1d", "errors": {},
                               "outputs": {"grad": {"type": ["array"], "pytype": ["x"], "value": 1.0}}},
    "error_frames_not_a_list": {"probe": "square_1d", "outputs": {},
                                "errors": {"grad": {"type": "X", "message": "m", "frames": 5}}},
    "error_frames_line_not_int": {"probe": "square_1d", "outputs": {},
                                  "errors": {"grad": {"type": "X", "message": "m", "frames": [["cell 3", "x", "y"]]}}},
    "error_overrides_output_fact": {"probe": "square_1d", "outputs": {},
                                    "errors": {"grad": {"type": "X", "message": "m", "output": ["grad"]}}},
    "error_message_not_text": {"probe": "square_1d", "outputs": {},
                               "errors": {"grad": {"type": {"a": 1}, "message": [[[]]], "frames": [[[], 1, 2]]}}},
}


@pytest.mark.parametrize("case", sorted(FORGED))
def test_forged_probe_frames_are_judged_not_trusted(case, fast, settings):
    code = f"""
    import json, os, struct
    head = json.dumps(dict({FORGED[case]!r}, arrays=[])).encode()
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd > 2:
            try:
                os.write(fd, struct.pack(">II", len(head), 0) + head)
            except OSError:
                pass
    os._exit(0)
    """
    g = h.grade(h.in_numerical_grad(code), fast, settings)
    g.assert_full_except("numerical_grad")
    assert g.unit("numerical_grad").score == 0
    g.assert_within(BASE)


def test_forged_load_frames_are_judged_not_trusted(fast, settings):
    """While loading, student code can write to the harness's own result pipe."""
    code = """class Forger:
    import json, struct, sys
    def send(header, json=json, struct=struct, fd=int(sys.argv[1])):
        head = json.dumps(dict(header, arrays=[])).encode()
        __import__("os").write(fd, struct.pack(">II", len(head), 0) + head)
    frame = sys._getframe()
    while "stmt" not in frame.f_locals:
        frame = frame.f_back
    me = frame.f_locals["stmt"]["id"]
    for fake in (10**6, -1, True, [1]):
        send({"op": "stmt_start", "id": fake})
        send({"op": "stmt_done", "id": fake, "error": {"frames": 5, "type": "X"}})
    send({"op": "stmt_start", "id": me})
    send({"op": "stmt_done", "id": me, "error": {"frames": "xy", "type": ["X"], "message": {}, "code": "nope"}})
"""
    g = h.grade([*h.solution_cells(), code], fast, settings)
    g.assert_full_except()
    assert any(n.startswith("cell 6, line 1: ?: ?") for n in g.report.notes), g.report.notes
    g.assert_within(BASE)
