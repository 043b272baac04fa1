"""Code that runs inside the sandbox, next to the student's code.

Everything in this package is visible to (and can be tampered with by)
student code, so it holds no expected values, tolerances or test data:
only the calls to make (probes) and the framing of what comes back (wire).
It uses the standard library and numpy only, and relative imports only,
because in the sandbox it is mounted as the top-level package `inside`.
"""
