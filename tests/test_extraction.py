"""Code extraction keeps the definitions of a notebook and never runs IPython syntax or top-level work."""

from __future__ import annotations

from grader.extraction import extract, strip_magics
from grader.intake import Cell


def cells(*sources: str) -> tuple[Cell, ...]:
    return tuple(Cell(i, i + 1, s) for i, s in enumerate(sources))


def test_magics_and_shell_escapes_become_pass_keeping_definitions():
    source = "!pip install numpy\n%matplotlib inline\nimport numpy as np\ndef f(x):\n    %timeit x\n    return x\n"
    stripped = strip_magics(source)
    assert "pip" not in stripped and "matplotlib" not in stripped and "timeit" not in stripped
    program = extract(cells(source))
    assert [s.kind for s in program.statements] == ["import", "definition"]
    assert program.statements[1].defines == ("f",)


def test_python_cell_magics_keep_their_body_and_others_are_dropped():
    program = extract(cells("%%time\ndef g():\n    return 1\n", "%%bash\nrm -rf /\n", "%%writefile x.py\nprint(1)\n"))
    assert [s.defines for s in program.statements] == [("g",)]
    assert [s.reason for s in program.skipped] == ["magic_cell", "magic_cell"]


def test_assignment_with_magic_and_comparison_operator_survive():
    stripped = strip_magics("files = !ls\nx = 1\nif x != 2:\n    y = 3\n")
    assert "ls" not in stripped
    assert "x != 2" in stripped


def test_definitions_mode_skips_top_level_work_and_reports_it_by_cell():
    program = extract(cells(
        "import numpy as np\nh = 1e-4\nnet = TwoLayerNet(784, 50, 10)\n",
        "for i in range(10000):\n    train()\n",
        "class A:\n    def m(self):\n        return 1\nf = lambda x: np.sum(x ** 2)\nalias = A\n",
    ))
    kinds = [(s.filename, s.kind, s.defines) for s in program.statements]
    assert kinds == [("In [1]", "import", ()), ("In [1]", "assignment", ("h",)),
                     ("In [3]", "definition", ("A",)), ("In [3]", "assignment", ("f",)),
                     ("In [3]", "assignment", ("alias",))]
    assert program.statements[2].methods == ("m",)
    assert program.statements[4].bases == ("A",)  # an alias is defined when what it names is
    assert [(s.cell.label, s.line, s.reason) for s in program.skipped] == [("In [1]", 3, "code"), ("In [2]", 1, "code")]
    assert program.skipped[0].names == ("net",)  # so feedback can say where a missing name was meant to come from


def test_full_mode_runs_everything():
    program = extract(cells("x = compute()\nfor i in range(3):\n    pass\n"), mode="full")
    assert [s.kind for s in program.statements] == ["code", "code"]
    assert program.skipped == ()


def test_statement_source_keeps_the_cells_line_numbers():
    program = extract(cells("import numpy as np\n\n\ndef f():\n    return 1\n"))
    stmt = program.statements[1]
    assert stmt.line == 4
    assert stmt.source == "def f():\n    return 1\n"


def test_decorators_stay_with_their_definition():
    program = extract(cells("import functools\n@functools.lru_cache()\ndef f():\n    return 1\n"))
    assert program.statements[1].line == 2
    assert program.statements[1].source.startswith("@functools.lru_cache()\ndef f():")


def test_code_too_deeply_nested_to_parse_is_a_syntax_error_of_that_cell():
    program = extract(cells("x = " + "-" * 100_000 + "1\n", "def ok():\n    return 1\n"))
    assert [s.defines for s in program.statements] == [("ok",)]
    assert program.skipped[0].reason == "syntax_error"


def test_a_syntax_error_loses_only_its_own_block():
    program = extract(cells("def good():\n    return 1\n\ndef bad(:\n    return 2\n\nclass Fine:\n    pass\n"))
    assert [s.defines for s in program.statements] == [("good",), ("Fine",)]
    (skipped,) = program.skipped
    assert skipped.reason == "syntax_error" and skipped.names == ("bad",) and skipped.line == 4


def test_failed_imports_are_recorded_with_their_module():
    program = extract(cells("from common.functions import softmax, cross_entropy_error\nfrom common.layers import *\n"))
    assert program.statements[0].imports == {"softmax": "common.functions", "cross_entropy_error": "common.functions"}
    assert program.statements[1].imports == {"*": "common.layers"}


SETUP_CELL = """import numpy as np
rng = np.random.default_rng(2024)
np.set_printoptions(precision=3)
LABELS = [str(k) for k in range(10)]
EPS = np.finfo(float).eps
W = rng.normal(size=(2, 2))
unused = np.zeros(3)
data = np.load("x.npy")
x_train, t_train = load_mnist()
net = TwoLayerNet(1, 2, 3)
table = [open(p).read() for p in ["a"]]
for i in range(3):
    W = W * 2
def init(n):
    return W * rng.normal(size=n) + EPS, LABELS
"""


def test_cheap_set_up_that_definitions_read_runs_and_top_level_work_is_still_skipped():
    program = extract(cells(SETUP_CELL))
    ran = [(s.line, s.kind) for s in program.statements if s.kind == "setup"]
    assert ran == [(2, "setup"), (3, "setup"), (4, "setup"), (5, "setup"), (6, "setup")]
    skipped = [s.line for s in program.skipped]
    assert skipped == [7, 8, 9, 10, 11, 12]  # unused, file I/O, data loading, user code, open, a loop


def test_set_up_is_not_run_in_a_way_that_changes_full_mode():
    program = extract(cells(SETUP_CELL), mode="full")
    assert {s.kind for s in program.statements} <= {"import", "definition", "assignment", "code"}
