"""The sandbox's syscall filter, judged twice: from inside (each denied call answers EPERM, the host's
keyrings stay as they were) and as a program (the BPF decoded and run on every call number and arch).
"""

from __future__ import annotations

import ctypes
import errno
import platform
import re
import struct
from pathlib import Path

import pytest

from grader.sandbox import seccomp
from tests import hostile as h
from tests.hostile import LIBC, in_class_body, printed

pytestmark = pytest.mark.usefixtures("sandboxed")

TABLE = seccomp.SYSCALLS.get(platform.machine(), {})  # the sandbox refuses other machines


# --- from inside: EPERM per denied call, the host's keyrings unchanged --------------------

# Arguments that would succeed (or fail otherwise than EPERM) were the call not filtered.
SYSCALL_ARGS = {"unshare": (0,), "inotify_init1": (0,), "memfd_create": (b"x", 0), "shmget": (0, 4096, 0o600),
                "msgget": (0, 0o600), "ptrace": (0, 0, 0, 0), "personality": (0x0040000,),
                "clone": (0x10000000 | 17, 0, 0, 0, 0), "clone3": (0, 0),
                "add_key": (b"user", b"grader-test", b"x", 1, -3), "keyctl": (1, 0)}  # join a new session keyring


def _keyrings() -> dict[int, bytes]:
    """The grader's session and user keyrings, as the serial lists KEYCTL_READ returns."""
    found = {}
    for ring in (-3, -4):
        buf = ctypes.create_string_buffer(4096)
        n = LIBC.syscall(TABLE["keyctl"], 11, ring, buf, 4096)
        found[ring] = buf.raw[:max(n, 0)] if n >= 0 else errno.errorcode[ctypes.get_errno()].encode()
    return found


def test_each_denied_syscall_returns_eperm_inside_and_keyrings_stay_untouched(fast, settings):
    calls = [*seccomp.denied_syscalls(), "clone", "clone3"]
    code = f"""
    import ctypes, errno, json, os
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    table, args, got = {TABLE!r}, {SYSCALL_ARGS!r}, {{}}
    for name in {calls!r}:
        ctypes.set_errno(0)
        result = libc.syscall(table[name], *args.get(name, (0, 0, 0, 0, 0)))
        got[name] = errno.errorcode.get(ctypes.get_errno(), "0") if result < 0 else "succeeded"
        if result == 0 and name == "clone":
            os._exit(0)
    got["personality query"] = "succeeded" if libc.personality(0xFFFFFFFF) >= 0 else "failed"
    print("SYSCALLS", json.dumps(got))
    """
    before = _keyrings()
    g = h.grade(in_class_body(code), fast, settings)
    assert _keyrings() == before
    g.assert_full_except()  # numpy, fork, threads: the harness still works under the filter
    got = printed(g.report, "SYSCALLS")
    expected = {name: "EPERM" for name in calls} | {"clone3": "ENOSYS", "personality query": "succeeded"}
    assert got == expected


def test_syscall_tables_match_the_kernel_headers():
    """The numbers are data typed by hand: check them against linux-libc-dev's headers where present."""
    headers = {"x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
               "aarch64": Path("/usr/include/asm-generic/unistd.h")}
    checked = 0
    for machine, header in headers.items():
        if not header.exists():
            continue
        defined = {m[0]: int(m[1]) for m in re.findall(r"#define __NR_(\w+)\s+(\d+)\b", header.read_text())}
        for name, number in seccomp.SYSCALLS[machine].items():
            assert defined.get(name) == number, (machine, name)
            checked += 1
    if not checked:
        pytest.skip("no kernel headers (linux-libc-dev) to compare the syscall tables with")


# --- as a program: the BPF decoded, every call number and arch ------------------------------


def run_filter(program: bytes, nr: int, arch: int, args: tuple[int, ...] = ()) -> int:
    """What a classic-BPF seccomp program returns for one call: a tiny interpreter of the opcodes
    a filter may use on `struct seccomp_data` (nr, arch, instruction pointer, six u64 args)."""
    words = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    data = struct.pack("=iIQ6Q", nr, arch, 0, *(list(args) + [0] * 6)[:6])
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = words[pc]  # an IndexError: a path that runs off the end without returning
        if code == 0x20:  # BPF_LD | BPF_W | BPF_ABS
            acc = struct.unpack_from("=I", data, k)[0]
        elif code == 0x06:  # BPF_RET | BPF_K
            return k
        elif code in (0x15, 0x25, 0x35, 0x45):  # BPF_JMP | JEQ, JGT, JGE, JSET with K
            taken = {0x15: acc == k, 0x25: acc > k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf
        elif code == 0x05:  # BPF_JMP | BPF_JA
            pc += k
        elif code == 0x54:  # BPF_ALU | BPF_AND | BPF_K
            acc &= k
        else:
            raise AssertionError(f"opcode {code:#x} at {pc} is not one this interpreter knows")
        pc += 1


ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
FOREIGN_ARCHES = {"i386": 0x40000003, "arm": 0x40000028, "x86_64": 0xC000003E, "aarch64": 0xC00000B7}


@pytest.mark.parametrize("machine", seccomp.MACHINES)
def test_the_filter_program_decoded_answers_each_call_as_the_module_says(machine):
    """Every syscall number of the table and beyond, on the machine's own arch: each denied call
    EPERM, clone3 ENOSYS, clone only without namespace flags, personality only as a query,
    everything else allowed; an x32 call or another arch's call EPERM whatever its number."""
    program, table = seccomp.program(machine), seccomp.SYSCALLS[machine]
    arch = seccomp.AUDIT_ARCH[machine]
    assert len(program) % 8 == 0 and len(program) // 8 < 4096
    denied = {table[name] for name in seccomp.denied_syscalls(machine)}
    assert len(denied) == len(seccomp.denied_syscalls(machine)) and denied
    special = {table["clone"], table["clone3"], table["personality"]}
    for nr in range(max(table.values()) + 64):
        if nr not in special:
            assert run_filter(program, nr, arch) == (EPERM if nr in denied else ALLOW), (machine, nr)
    assert run_filter(program, table["clone3"], arch) == ENOSYS
    namespace_flags = [1 << bit for bit in range(32) if seccomp.CLONE_NAMESPACES >> bit & 1]
    assert len(namespace_flags) == 8
    for flag in namespace_flags:
        assert run_filter(program, table["clone"], arch, (flag | 17,)) == EPERM, hex(flag)
    thread = 0x3D0F00  # CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    assert run_filter(program, table["clone"], arch, (thread,)) == ALLOW
    assert run_filter(program, table["clone"], arch, (17,)) == ALLOW  # fork(): SIGCHLD only
    assert run_filter(program, table["personality"], arch, (0xFFFFFFFF,)) == ALLOW
    assert run_filter(program, table["personality"], arch, (0x0040000,)) == EPERM  # ADDR_NO_RANDOMIZE
    for other, foreign in FOREIGN_ARCHES.items():
        if other != machine:
            assert {run_filter(program, nr, foreign) for nr in (0, 1, table["clone"], 400)} == {EPERM}, other
    if machine == "x86_64":
        x32 = seccomp.X32_SYSCALL_BIT
        assert {run_filter(program, x32 + nr, arch) for nr in (0, 1, 56, 101, 250, 435, 547)} == {EPERM}
