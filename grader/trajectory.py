"""Reference training runs: what the reference network becomes under the grader's training probe.

A `fixed_inputs` probe (the accuracy unit's training) draws its inputs from the installation's training
key, never from the submission's seed and never visible in the sandbox; so
its expected outcome, the reference's SGD run over those batches, is the same for every submission and
is computed once and cached on disk (plain .npz, no pickle).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import secrets
import tempfile
from pathlib import Path

import numpy as np

from grader import data, probing
from grader.config import Settings
from grader.types import Assignment, FileInput, ProbeOutcome, ProbeRequest


def training_key(settings: Settings) -> int:
    """The seed of the training start and batches: `settings.training_key` (the service passes the one kept in
    its database, so every machine grades alike; GRADER_TRAINING_KEY for the CLI), else the CLI's local
    default, a random key made once in this machine's cache directory."""
    if settings.training_key is not None:
        return settings.training_key
    path = settings.cache_dir / "training_key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "w") as fh:
            fh.write(str(secrets.randbits(63)))
        os.replace(tmp, path)  # 0600 from mkstemp; a racing writer's key wins consistently
    return int(path.read_text().strip())


_MEMORY: dict[str, ProbeOutcome] = {}


def reference_outcome(request: ProbeRequest, assignment: Assignment, files: dict[str, Path],
                      cache_dir: Path) -> ProbeOutcome:
    """The reference's outcome for a probe whose inputs include data `files` (FileInput name ->
    path), cached in memory and on disk."""
    digest = _digest(request, assignment, files)
    if digest not in _MEMORY:
        _MEMORY[digest] = _load_or_run(cache_dir / "reference" / f"{assignment.name}-{digest}.npz",
                                       request, assignment, files)
    return _MEMORY[digest]


def _load_or_run(path: Path, request: ProbeRequest, assignment: Assignment, files: dict[str, Path]) -> ProbeOutcome:
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            return ProbeOutcome(values={k: stored[k] for k in stored.files},
                                types={k: {"type": "array", "pytype": "ndarray"} for k in stored.files})
    inputs = data.load_inputs(request.inputs, files)
    outcome = probing.reference_outcome(ProbeRequest(request.name, request.kind, request.params, inputs), assignment)
    if outcome.errors:
        raise RuntimeError(f"the reference failed its own probe {request.name}: {outcome.errors}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    with os.fdopen(fd, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in outcome.values.items()})
    os.replace(tmp, path)
    return outcome


def _digest(request: ProbeRequest, assignment: Assignment, files: dict[str, Path]) -> str:
    """Everything the reference run depends on: probe, inputs, data files, reference source."""
    h = hashlib.sha256(json.dumps([request.kind, request.params], sort_keys=True, default=str).encode())
    for name, value in sorted(request.inputs.items()):
        h.update(name.encode())
        h.update(value.name.encode() if isinstance(value, FileInput) else np.ascontiguousarray(value).tobytes())
    for name, path in sorted(files.items()):
        h.update(f"{name}={path}:{path.stat().st_size}".encode())
    for name, obj in sorted(assignment.reference_namespace.items()):
        h.update(name.encode() + _source(obj))
    return h.hexdigest()[:24]


@functools.cache
def _source(definition: object) -> bytes:
    """A reference definition's source, read once per process (inspect re-tokenizes its file each time)."""
    return inspect.getsource(definition).encode()
