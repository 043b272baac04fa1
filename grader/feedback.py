"""Feedback: turn a verdict's code and facts into a sentence a student can act on.

Pure functions over the message catalogue's tables `messages` and `outputs` (grader/catalogue.py:
one gettext catalogue per language, ja, en, ko, zh, with the same keys in each). Facts arrive
already enriched (grader/explaining.py: the call that was made, the student's source line, where
a missing name was imported from); a harness stop's facts arrive as data (grader/inside/wire.py),
never read back from its wording.
"""

from __future__ import annotations

import re
from typing import Any

from grader import catalogue

Lang = str  # one of grader.languages.LANGUAGES

_CELL = re.compile(r"cell (\d+)")
_SPEC = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")  # a %-format placeholder with its conversion


def output_label(name: str, kind: str, lang: Lang) -> str:
    """A probe output as the student knows it: `grad_W1` is grads['W1'], `param_b2` is params['b2'],
    `dx_2` is backward's dx on the second call."""
    if name.endswith("_2"):
        return catalogue.text("outputs", "second_call", lang) % {"label": output_label(name[:-2], kind, lang)}
    for key in (f"{kind}:{name}", name):
        if key in catalogue.table("outputs"):
            return catalogue.text("outputs", key, lang)
    for prefix, owner in (("grad_", "grads"), ("param_", "params")):
        if name.startswith(prefix):
            return f"{owner}['{name[len(prefix):]}']"
    return name


class _Facts(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def render(code: str, facts: dict[str, Any], lang: Lang) -> str:
    """One message; unknown codes fall back to the code itself, missing facts to '?'.
    A never-run cell's label (`cell 3`) is said in the message's language."""
    try:
        template = catalogue.text("messages", code, lang)
    except KeyError:
        template = code.replace("%", "%%")
    cell = _CELL.fullmatch(str(facts.get("cell", "")))
    if cell and code != "cell":
        facts = {**facts, "cell": render("cell", {"number": cell.group(1)}, lang)}
    try:
        return template % _Facts(facts)
    except (ValueError, TypeError):  # a fact of an unexpected type for its format spec
        return _SPEC.sub(r"%(\1)s", template) % _Facts(facts)


def check_message(code: str, facts: dict[str, Any], lang: Lang) -> str:
    """The message for one check, with the parts that depend on optional facts filled in."""
    facts = dict(facts)
    stop = facts.get("stop")
    if code == "raised" and stop is not None:  # the harness stopped the probe: its own message, its facts
        code = stop["code"]
        facts.update(stop["facts"])
    if code == "ok" and "rel_error" in facts:
        code = "gradient_check_ok"
    elif code == "ok" and "accuracy" in facts:
        code = "accuracy_ok"
    frames = facts.get("where")
    facts["where"] = render("where", frames, lang) if isinstance(frames, dict) else ""
    facts["values"] = render("scalar_values", facts, lang) if "got" in facts and "expected" in facts else ""
    if code in {"too_costly", "too_costly_layer"}:
        facts["clock_name"] = render(f"clock_{facts.get('clock')}", {}, lang)
    if code == "lost":
        facts["reason"] = render(f"lost_{facts.get('reason')}", {}, lang)
    if code in {"off_trajectory", "accuracy_low"}:
        facts["training"] = training_story(facts.get("training") or {}, lang)
    if code == "not_defined":
        facts["why"] = "".join(render(w["code"], w, lang) for w in facts.get("why", []))
    hint = facts.get("hint")
    text = render(code, facts, lang)
    if facts.get("cause") in catalogue.table("messages"):
        text += " — " + render(facts["cause"], facts, lang)
    if isinstance(hint, dict):
        text += " — " + render("not_defined", {**hint, "why": render(hint["why"]["code"], hint["why"], lang)}, lang)
    if facts.get("variant_names"):
        text += render("variant", {"names": facts["variant_names"]}, lang)
    return text


def training_story(seen: dict[str, Any], lang: Lang) -> str:
    """What the grader saw while training, where it points at a cause: a loss that does not go
    down, parameters that do not move, gradients that grow."""
    parts = []
    if "loss_first" in seen and not seen["loss_last"] < 0.9 * seen["loss_first"]:
        parts.append(render("training_loss_flat", seen, lang))
    if seen.get("still_steps"):
        parts.append(render("training_still", seen, lang))
    if "grad_first" in seen and seen["grad_last"] > 10 * seen["grad_first"]:
        parts.append(render("training_growing", seen, lang))
    return "".join(parts)


def describe_call(kind: str, params: dict[str, Any], shapes: dict[str, tuple[int, ...] | None],
                  lang: Lang) -> str:
    """What the grader called, with input shapes, e.g. `Affine(W (4, 3), b (3,)).forward(x (3, 1, 2, 2))`."""
    def arg(name: object) -> str:
        if not isinstance(name, str):
            return repr(name)
        if name in params.get("dicts", {}):   # a dict of the grader's arrays, e.g. the network
            return name
        if name in params.get("take", ()):    # rows of a data file
            return f"{name}[{(shapes.get(params.get('rows')) or ('?',))[0]} rows]"
        return f"{name} {shapes.get(name)}"

    def args(names: list) -> str:
        return ", ".join(arg(n) for n in names)

    target = params.get("target") or "?"
    if kind in {"call", "batch_and_rows"}:
        return f"{target}({args(params.get('args', []))})"
    if kind == "numerical_grad":
        f = "lambda W: f(x)" if params.get("closure") else "f"
        return f"{target}({f}, x {shapes.get('x')})"
    if kind == "draws":
        kwargs = "".join(f", {k}={v!r}" for k, v in params.get("kwargs", {}).items())
        return f"{params.get('repeat', 1)} × {target}({args(params.get('args', []))}{kwargs})"
    if kind in {"layer", "layer_gradient"}:
        return (f"{target}({args(params.get('init', []))}).forward({args(params.get('forward', []))})"
                f" / .backward({args(params.get('backward', []))})")
    if kind == "optimizer":
        init = ", ".join(f"{k}={v!r}" for k, v in params.get("init", {}).items())
        keys = ", ".join(f"'{k}' {shapes.get(k)}" for k in params.get("params", []))
        return f"{target}({init}).update(params {{{keys}}}, grads) × {params.get('steps')}"
    sizes = tuple(params.get("sizes", ()))
    kwargs = [f"{k}={v!r}" for k, v in params.get("kwargs", {}).items()]
    built = ", ".join([*map(repr, params.get("args", sizes)), *kwargs])
    if kind == "train":   # the network as it was built: TwoLayerNet(784, 50, 10), SimpleConvNet(input_dim=...)
        steps, batch = shapes.get("batches") or ("?", "?")
        return render("train_call", {**params, "sizes": f"({built})", "steps": steps, "batch_size": batch}, lang)
    if kind == "network_methods":
        return f"{target}({built})" + " / ".join(f".{m}({args(a)})" for m, a in params.get("methods", {}).items())
    return f"{target}({built}).gradient(x {shapes.get('x')}, t {shapes.get('t')})"
