"""Compare a grading report with the verdicts of an expected.json (full/partial/zero/notfull/any), or with another
report of the same notebook and seed."""

from __future__ import annotations

from grader.reports import SubmissionReport


def mismatches(report: SubmissionReport, expected_units: dict[str, str]) -> list[str]:
    problems = []
    for unit, verdict in expected_units.items():
        got = report.units[unit]
        ok = {
            "full": got.score == got.max_score,
            "zero": got.score == 0,
            "partial": 0 < got.score < got.max_score,
            "notfull": got.score < got.max_score,
            "any": True,
        }[verdict]
        if not ok:
            failed = [f"{c.name}[{c.variant}]: {c.message}" for c in got.checks if not c.passed][:4]
            problems.append(f"{unit}: expected {verdict}, got {got.score:g}/{got.max_score:g} {failed}")
    return problems


def diagnosis_ids(report: SubmissionReport) -> set[str]:
    """Every mistake the report names, over all units and checks."""
    return {c.diagnosis["id"] for unit in report.units.values() for c in unit.checks if c.diagnosis}


def differences(got: object, want: object, where: str = "") -> list[str]:
    """Where two reports differ, leaf by leaf (`units.gradient.checks[3].message: ... != ...`), so that a failure
    says which check or message came out otherwise, not only that the reports differ."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted(set(got) | set(want), key=str)
                for d in differences(got.get(k), want.get(k), f"{where}.{k}" if where else str(k))]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for k, (g, w) in enumerate(zip(got, want, strict=True)) for d in differences(g, w, f"{where}[{k}]")]
    return [] if got == want else [f"{where}: {got!r} != {want!r}"]
