"""The host side of isolation: the only package that starts student code.

session.py starts one bubblewrap-isolated interpreter and speaks frames with it; execution.py
drives a submission through sessions (load, run every unit, survive crashes); seccomp.py,
identities.py, runtime.py and cgroups.py are the layers a session is built from (syscall filter,
host UID, staged interpreter, cgroup). What runs inside is grader/inside/.
"""

from grader.sandbox.execution import Plan, execute
from grader.sandbox.session import Sandbox, SandboxLost, SandboxUnavailable, sandbox_problem

__all__ = ["Plan", "SandboxUnavailable", "Sandbox", "SandboxLost", "execute", "sandbox_problem"]
