"""Mutation testing of a lab's hidden cases with its bank of known mistakes.

A lab's solutions/<lab>/mistakes.py lists MISTAKES (each a small edit of the reference that
must lose points in its `part`) and VARIANTS (correct rewrites that must score full marks),
with `apply(edits, sources)`. `run` grades them all like any batch and reports, per mistake,
the points lost in its own part and elsewhere.
"""
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import batch

LEAK_ALLOWED = 0.0  # points a mistake may cost outside its own part (documented in the README)


@dataclass
class Verdict:
    name: str
    part: str
    lost_own: float
    lost_elsewhere: dict
    total: float

    @property
    def caught(self):
        return self.lost_own > 0


def load_bank(lab):
    return lab.private_module("mistakes", "mutation testing needs a bank of known mistakes")


def write_bank(lab, bank, into):
    """Folders into/<name>/ for every mistake and variant; returns (mistake dirs, variant dirs)."""
    reference = lab.reference_sources()
    folders = {}
    for kind, entries in (("mistake", bank.MISTAKES), ("variant", bank.VARIANTS)):
        for entry in entries:
            folder = Path(into) / entry.name
            folder.mkdir(parents=True)
            for module, text in bank.apply(entry.edits, reference).items():
                (folder / f"{module}.py").write_text(text)
            folders[entry.name] = (kind, entry, folder)
    return folders


def run(lab, settings, jobs=None, log=lambda *a: None, progress=False):
    """(mistake verdicts, variant verdicts) for the lab's whole bank."""
    bank = load_bank(lab)
    full = {q.name: q.points for q in lab.questions}
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        folders = write_bank(lab, bank, Path(tmp) / "bank")
        rows = batch.grade_batch(lab, [f for _, _, f in folders.values()], Path(tmp) / "out", settings,
                                 jobs=jobs, log=log, progress=progress)
    by_name = {row["file"]: row for row in rows}
    mistakes, variants = [], []
    for name, (kind, entry, _) in folders.items():
        row = by_name[name]
        part = getattr(entry, "part", "")
        lost = {q: round(full[q] - float(row[q]), 2) for q in full}
        verdict = Verdict(name, part, lost.get(part, 0.0), {q: v for q, v in lost.items() if q != part and v > 0},
                          float(row["total_points_earned"]))
        (mistakes if kind == "mistake" else variants).append(verdict)
    return mistakes, variants


def summary(mistakes, variants):
    """Lines of the mutation report."""
    caught = [m for m in mistakes if m.caught]
    lines = [f"mutation score: {len(caught)}/{len(mistakes)} mistakes caught ({100 * len(caught) / max(1, len(mistakes)):.1f}%)"]
    for m in mistakes:
        flag = "caught " if m.caught else "ESCAPED"
        leak = f"; also lost {m.lost_elsewhere}" if m.lost_elsewhere else ""
        lines.append(f"  {flag} {m.name:45} -{m.lost_own:<6g} in {m.part}{leak}")
    full = [v for v in variants if v.total >= 100]
    lines.append(f"correct variants at full marks: {len(full)}/{len(variants)}")
    for v in variants:
        if v.total < 100:
            lines.append(f"  WRONGLY PENALISED {v.name}: {v.total:g} (lost {v.lost_elsewhere})")
    escaped = [m.name for m in mistakes if not m.caught]
    lines.append("escaped: " + (", ".join(escaped) if escaped else "none"))
    return lines
