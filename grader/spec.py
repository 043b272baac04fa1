"""Assignment specs: read `assignment.toml`, the declarative description of units, probes and checks.

An assignment is a folder under assignments/ holding `assignment.toml`;
nothing in the pipeline knows a particular assignment. The spec's types
live in grader/types.py; every kind a spec names is checked against its
registry here (check kinds, input generators, probe kinds).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from grader.checks import CHECK_KINDS
from grader.config import ASSIGNMENTS_DIR
from grader.inputs import CONSTRAINTS, GENERATORS
from grader.inside.probes import PROBES
from grader.types import Assignment, CheckSpec, Limits, ManualSpec, ProbeSpec, UnitSpec

__all__ = ["Assignment", "ManualSpec", "SpecError", "available", "load"]


class SpecError(ValueError):
    """An assignment spec that is missing or malformed."""


def available() -> list[str]:
    return sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob("*/assignment.toml"))


def load(name_or_path: str | Path) -> Assignment:
    path = Path(name_or_path)
    if not path.suffix:
        path = (ASSIGNMENTS_DIR / str(name_or_path) / "assignment.toml") if not path.is_dir() \
            else path / "assignment.toml"
    if not path.is_file():
        raise SpecError(f"no assignment {name_or_path!r} (known: {', '.join(available()) or 'none'})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return _assignment(raw, path.parent)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"{path}: {exc}") from None


def _assignment(raw: dict, directory: Path) -> Assignment:
    meta = raw["assignment"]
    mode = meta.get("mode", "definitions")
    if mode not in {"definitions", "full"}:
        raise ValueError(f"mode must be 'definitions' or 'full', not {mode!r}")
    units = {name: _unit(name, body) for name, body in raw["units"].items()}
    return Assignment(
        name=meta["name"], title=meta.get("title", meta["name"]),
        titles={k.removeprefix("title_"): v for k, v in meta.items() if k.startswith("title_")},
        mode=mode, directory=directory, limits=Limits(**raw.get("limits", {})),
        aliases={k: tuple(v) for k, v in raw.get("aliases", {}).items()}, units=units,
        reference=meta.get("reference", "reference"), manual=_manual(raw.get("manual", {})),
    )


def _manual(body: dict) -> ManualSpec:
    default = ManualSpec()
    return ManualSpec(float(body.get("points", default.points)), tuple(body.get("headings", default.headings)))


def _unit(name: str, body: dict) -> UnitSpec:
    probes = {}
    for pname, p in body.get("probes", {}).items():
        p = dict(p)
        kind, inputs, constraint = p.pop("kind"), p.pop("inputs", {}), p.pop("constraint", None)
        if kind not in PROBES:
            raise ValueError(f"unit {name}: probe {pname}: unknown kind {kind!r}")
        for iname, gen in inputs.items():
            if gen.get("gen") not in GENERATORS:
                raise ValueError(f"unit {name}: probe {pname}: input {iname}: unknown gen {gen.get('gen')!r}")
        if constraint is not None and constraint not in CONSTRAINTS:
            raise ValueError(f"unit {name}: probe {pname}: unknown constraint {constraint!r}")
        probes[pname] = ProbeSpec(pname, kind, p, inputs, constraint)
    checks = []
    for c in body.get("checks", []):
        c = dict(c)
        check = CheckSpec(name=c.pop("name"), kind=c.pop("kind", "close"), probe=c.pop("probe"),
                          output=c.pop("output", "out"), points=float(c.pop("points", 1)),
                          property=bool(c.pop("property", False)), needs=c.pop("needs", None), options=c)
        if check.kind not in CHECK_KINDS:
            raise ValueError(f"unit {name}: check {check.name}: unknown kind {check.kind!r}")
        if check.probe not in probes:
            raise ValueError(f"unit {name}: check {check.name}: unknown probe {check.probe!r}")
        checks.append(check)
    unknown = [c.needs for c in checks if c.needs is not None and c.needs not in {k.name for k in checks}]
    if unknown:
        raise ValueError(f"unit {name}: `needs` names no check of the unit: {unknown}")
    if not checks:
        raise ValueError(f"unit {name} has no checks")
    return UnitSpec(
        name=name, defines=tuple(body.get("defines", ())), defines_any=tuple(body.get("defines_any", ())),
        requires=tuple(body.get("requires", ())), substitute=tuple(body.get("substitute", ())),
        own_share=float(body.get("own_share", 0.5)), time_limit=float(body.get("time_limit", 10)),
        probes=probes, checks=tuple(checks),
    )
