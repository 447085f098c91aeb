"""Mutation testing of a lab's hidden cases with its bank of known mistakes.

A lab's solutions/<lab>/mistakes.py lists MISTAKES (each a small edit of the reference that
must lose points in its `part`) and VARIANTS (correct rewrites that must score full marks), as
data in the engine's schema (autograder.bank). `run` grades them all like any batch and reports, per mistake,
the points lost in its own function, in its own part and elsewhere; `summary` prints them as
a table (every mistake with its function's points and the points it costs).
"""
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from . import bank as schema
from . import batch

LEAK_ALLOWED = 0.0  # points a mistake may cost outside its own part (documented in the README)


@dataclass
class Verdict:
    name: str
    part: str
    lost_own: float
    lost_elsewhere: dict
    total: float
    function: str = ""            # "module.name" of the function the mistake is in
    function_points: float = 0.0  # that function's points
    lost_function: float = 0.0    # points it lost in that function
    possible: float | None = None  # the lab's full marks (run() sets them from the lab's points)

    @property
    def caught(self):
        return self.lost_own > 0

    @property
    def full_marks(self):
        """Every point of the lab (unknown full marks never count as full)."""
        return self.possible is not None and round(self.total, 2) >= round(self.possible, 2)

    @property
    def share_lost(self):
        """The part of its function's points the mistake costs (0 to 1)."""
        return self.lost_function / self.function_points if self.function_points else 0.0


def load_bank(lab) -> ModuleType:
    """The lab's mistakes.py (MISTAKES and VARIANTS), checked against the lab."""
    bank = lab.private_module("mistakes", "mutation testing needs a bank of known mistakes")
    problems = schema.problems(bank, lab.modules, [q.name for q in lab.questions])
    if problems:
        raise ValueError(f"{lab.reference_dir / 'mistakes.py'}: " + "; ".join(problems[:5]))
    return bank


def write_bank(lab, bank, into):
    """Folders into/<name>/ for every mistake and variant; returns (mistake dirs, variant dirs)."""
    reference = lab.reference_sources()
    folders = {}
    for kind, entries in (("mistake", bank.MISTAKES), ("variant", bank.VARIANTS)):
        for entry in entries:
            folder = Path(into) / entry.name
            folder.mkdir(parents=True)
            for module, text in schema.apply(entry.edits, reference).items():
                (folder / f"{module}.py").write_text(text)
            folders[entry.name] = (kind, entry, folder)
    return folders


def run(lab, settings, jobs: int | None = None, log=lambda *a: None,
        progress: bool = False) -> tuple[list[Verdict], list[Verdict]]:
    """(mistake verdicts, variant verdicts) for the lab's whole bank."""
    bank = load_bank(lab)
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        folders = write_bank(lab, bank, Path(tmp) / "bank")
        rows = batch.grade_batch(lab, [f for _, _, f in folders.values()], Path(tmp) / "out", settings,
                                 jobs=jobs, log=log, progress=progress)
        functions = {name: function_scores(Path(tmp) / "out" / "submissions" / name / "results.json")
                     for name in folders}
    return verdicts(lab, bank, {row["file"]: row for row in rows}, functions)


def verdicts(lab, bank, by_name: dict, functions: dict) -> tuple[list[Verdict], list[Verdict]]:
    """(mistake verdicts, variant verdicts) from the bank's grades.csv rows {name: row} and
    {name: {function: (earned, points)}} (function_scores of each results.json)."""
    full = {q.name: q.points for q in lab.questions}
    mistakes, variants = [], []
    for kind, entries in (("mistake", bank.MISTAKES), ("variant", bank.VARIANTS)):
        for entry in entries:
            row = by_name[entry.name]
            part = getattr(entry, "part", "")
            lost = {q: round(full[q] - float(row[q]), 2) for q in full}
            function = full_name(lab, part, getattr(entry, "function", ""))
            earned, points = functions[entry.name].get(function, (0.0, 0.0))
            verdict = Verdict(entry.name, part, lost.get(part, 0.0), {q: v for q, v in lost.items() if q != part and v > 0},
                              float(row["total_points_earned"]), function, round(points, 2), round(points - earned, 2),
                              possible=sum(full.values()))
            (mistakes if kind == "mistake" else variants).append(verdict)
    return mistakes, variants


def function_scores(results_file):
    """{function: (earned, points)} from a results.json written by report.results_json."""
    try:
        functions = json.loads(Path(results_file).read_text())["extra_data"]["functions"]
    except (OSError, ValueError, KeyError):
        return {}
    return {f: (float(v["earned"]), float(v["points"])) for f, v in functions.items()}


def full_name(lab, part, function):
    """"module.name" of a bank entry's function ("heaviside"), looked up in its part first."""
    questions = sorted(lab.questions, key=lambda q: q.name != part)
    for q in questions:
        for name in q.functions:
            if name.split(".")[1] == function or name == function:
                return name
    return function


def table(mistakes):
    """Every mistake with its function's points and the points it costs, one row each; a
    mistake that costs less than half of its function's points is marked."""
    rows = [("", "mistake", "part", "function", "points", "lost", "share", "elsewhere")]
    for m in mistakes:
        flag = "ESCAPED" if not m.caught else "< half" if m.share_lost < 0.5 else ""
        rows.append((flag, m.name, m.part, m.function.split(".")[-1], f"{m.function_points:g}", f"{m.lost_function:g}",
                     f"{100 * m.share_lost:.0f}%", ", ".join(f"{q} -{v:g}" for q, v in m.lost_elsewhere.items())))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {4, 5, 6}
    return ["  " + "  ".join(cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]


def summary(mistakes: list[Verdict], variants: list[Verdict]) -> list[str]:
    """Lines of the mutation report: the score, the table of every mistake, the variants."""
    caught = [m for m in mistakes if m.caught]
    lines = [f"mutation score: {len(caught)}/{len(mistakes)} mistakes caught ({100 * len(caught) / max(1, len(mistakes)):.1f}%)"]
    lines += table(mistakes)
    cheap = [m for m in mistakes if m.caught and m.share_lost < 0.5]
    lines.append(f"mistakes that cost less than half of their function's points: {len(cheap)}/{len(mistakes)}")
    full = [v for v in variants if v.full_marks]
    lines.append(f"correct variants at full marks: {len(full)}/{len(variants)}")
    for v in variants:
        if not v.full_marks:
            lines.append(f"  WRONGLY PENALISED {v.name}: {v.total:g} (lost {v.lost_elsewhere})")
    escaped = [m.name for m in mistakes if not m.caught]
    lines.append("escaped: " + (", ".join(escaped) if escaped else "none"))
    return lines
