"""Code that runs inside the sandbox, next to the student's code.

Everything in this package is visible to (and can be tampered with by)
student code, so it holds no expected values, tolerances or test data:
only the calls to make (probes.py: its registry; recorder.py, calls.py,
network.py, deadlines.py) and the protocol (wire.py). It uses the standard
library and numpy only. In the sandbox every *.py here is mounted as the
top-level package `inside`; on the trusted side the same files are
`grader.inside`. So the modules import each other relatively, and only
main.py, which the sandbox runs as a script, imports the package by its
sandbox name (`from inside import ...`).
"""
