"""How often each likely mistake the feedback names is the real one, measured on a lab's bank.

Every bank mistake is graded (serially, as one submission each); for every function whose
feedback block names a likely mistake (feedback.FunctionFeedback.headline), the mistake's key is
compared with the diagnosis the lab's mistakes.py records for that entry (DIAGNOSES: entry name ->
"transposed", "factor:N", "known:<wording>", ...). A diagnosis's precision is the share of the
blocks it heads whose entry records it, on the entry's own function. The feedback promises a
diagnosis only when it is right: the figures should stay at or above MIN_PRECISION.
"""
from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

MIN_PRECISION = 0.95


@dataclass(frozen=True)
class Named:
    entry: str        # the bank mistake
    function: str     # the function whose block names it
    key: str          # the diagnosis named ("factor:N")
    right: bool       # the entry records it, on its own function


def diagnosis_key(mistake) -> str:
    """"transposed", "factor:N" or "known:<wording>": a Mistake as DIAGNOSES records it."""
    return mistake.identity


def named_in(result, prepared, entry, own_function, recorded) -> list[Named]:
    """What the feedback of one graded bank entry names, and whether each is right."""
    from . import feedback
    out = []
    for question in feedback.submission_feedback(result, prepared).questions:
        for block in question.functions:
            if block.headline is not None:
                key = diagnosis_key(block.headline)
                out.append(Named(entry, block.function, key, block.function == own_function and recorded.get(entry) == key))
    return out


def measure(lab, settings) -> list[Named]:
    """Grade the lab's bank and return every diagnosis its feedback names."""
    from . import batch, intake, labs, mutants, roster
    from .sandbox import isolation
    from .sandbox.session import copy_runner
    prepared = labs.prepare(lab, settings)
    bank = mutants.load_bank(lab)
    recorded = dict(getattr(bank, "DIAGNOSES", {}))
    strategy = isolation.choose(settings.isolation, settings)
    root = Path(tempfile.mkdtemp(prefix="precision-"))
    try:
        folders = mutants.write_bank(lab, bank, root / "bank")
        runner = copy_runner(root / "runner")
        named = []
        for name, (kind, entry, folder) in folders.items():
            if kind != "mistake":
                continue
            own = mutants.full_name(lab, entry.part, entry.function)
            result = batch.grade_one(prepared, roster.Identity(name, name, name, folder),
                                     intake.take(folder, intake.LabFiles.of(lab)), strategy, settings, root / "scratch", runner, 0)
            named += named_in(result, prepared, name, own, recorded)
        return named
    finally:
        shutil.rmtree(root, ignore_errors=True)


def table(named: list[Named]) -> list[tuple[str, int, int, float]]:
    """(diagnosis, times named, times right, precision) per diagnosis key (a lab's known
    mistakes together as "known"), least precise first."""
    counts = defaultdict(lambda: [0, 0])
    for n in named:
        group = n.key.split(":")[0] if n.key.startswith("known:") else n.key
        counts[group][0] += 1
        counts[group][1] += n.right
    rows = [(key, total, right, right / total) for key, (total, right) in counts.items()]
    return sorted(rows, key=lambda row: (row[3], row[0]))


def lines(named: list[Named]) -> list[str]:
    rows = table(named)
    out = [f"{'diagnosis':24} {'named':>6} {'right':>6} {'precision':>9}"]
    out += [f"{key:24} {total:6d} {right:6d} {share:9.0%}" for key, total, right, share in rows]
    wrong = [n for n in named if not n.right]
    out += [f"wrong: {n.entry} ({n.function}) named {n.key}" for n in wrong]
    low = [key for key, _, _, share in rows if share < MIN_PRECISION]
    out.append(f"every diagnosis at or above {MIN_PRECISION:.0%}" if not low else
               f"below {MIN_PRECISION:.0%}: {', '.join(low)}")
    return out
