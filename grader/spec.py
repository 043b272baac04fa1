"""Assignment specs: the declarative description of units, probes and checks.

An assignment is a folder under assignments/ holding `assignment.toml`;
nothing in the pipeline knows a particular assignment.
"""

from __future__ import annotations

import functools
import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.config import ASSIGNMENTS_DIR
from grader.sandbox import Limits


class SpecError(ValueError):
    """An assignment spec that is missing or malformed."""


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    kind: str
    params: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    constraint: str | None = None


@dataclass(frozen=True)
class CheckSpec:
    name: str
    kind: str
    probe: str
    output: str
    points: float
    options: dict[str, Any]
    property: bool = False   # shape/side-effect check: earns points only once a value check of its variant passed
    needs: str | None = None  # another check of the unit that must pass (same variant) for this one to earn points


@dataclass(frozen=True)
class UnitSpec:
    name: str
    defines: tuple[str, ...]            # every one must be the student's own definition
    defines_any: tuple[str, ...]        # at least one (a "Class.method" names a method)
    requires: tuple[str, ...]           # must be defined for the probes to make sense
    substitute: tuple[str, ...]         # reference definitions swapped in for a second variant
    own_share: float
    time_limit: float
    probes: dict[str, ProbeSpec]
    checks: tuple[CheckSpec, ...]

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)


@dataclass(frozen=True)
class ManualSpec:
    """The written parts an instructor grades by hand (`[manual]`): their points, and the headings (ja, en,
    ko, zh by default) they sit under."""

    points: float = 5.0
    headings: tuple[str, ...] = ("感想", "考察", "Reflection", "Discussion", "소감", "고찰", "心得", "讨论")


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    titles: dict[str, str]             # the title in other languages (`title_ja`, `title_ko`, ... in the spec)
    mode: str
    directory: Path
    limits: Limits
    aliases: dict[str, tuple[str, ...]]
    units: dict[str, UnitSpec] = field(default_factory=dict)
    reference: str = "reference"     # module (trusted side only) whose NAMESPACE maps names to definitions
    manual: ManualSpec = field(default_factory=ManualSpec)

    @functools.cached_property
    def reference_namespace(self) -> dict[str, object]:
        """The reference's definitions, with every alias a student may use for them."""
        ns = dict(importlib.import_module(self.reference).NAMESPACE)
        for name, alternatives in self.aliases.items():
            ns.update({alt: ns[name] for alt in alternatives if name in ns})
        return ns

    @property
    def max_score(self) -> float:
        return sum(u.max_score for u in self.units.values())

    def title_in(self, lang: str) -> str:
        """The title in a reader's language, or the English one."""
        return self.titles.get(lang, self.title)


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
    from grader.checks import CHECK_KINDS
    from grader.inputs import CONSTRAINTS, GENERATORS
    from grader.inside.probes import PROBES

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
