"""What a batch writes: grades.csv (Otter's final_grades.csv layout), one Gradescope
results.json and one feedback.txt per submission, report.png for the class, a terminal table.
Every file is written atomically (a temporary file renamed into place), so an interrupted
batch never leaves a half-written grade.
"""
import csv
import io
import os
import re
from collections import Counter
from pathlib import Path

STATUS_COLUMNS = ["total_points_earned", "percent_correct", "grading_status"]
POINTS_ROW = "points-per-question"


def write_atomic(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- grades.csv
def grades_csv(questions, rows):
    """rows: [{"file", question..., "total_points_earned", "percent_correct", "grading_status"}]."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = [q.name for q in questions]
    writer.writerow(["file", *names, *STATUS_COLUMNS])
    writer.writerow([POINTS_ROW, *[fmt(q.points) for q in questions], fmt(sum(q.points for q in questions)), 1, "--"])
    for row in rows:
        writer.writerow([row["file"], *[fmt(row[n]) for n in names], fmt(row["total_points_earned"]),
                         row["percent_correct"], row["grading_status"]])
    return buffer.getvalue()


def fmt(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


def csv_row(result):
    return {"file": result.name, **result.scores, "total_points_earned": result.total,
            "percent_correct": result.percent, "grading_status": result.status}


# ---------------------------------------------------------------------------- results.json
def results_json(result, prepared):
    """Gradescope's schema: one test per function and visibility, hidden cases marked hidden."""
    groups = {}
    for r in result.cases:
        key = (r.case.question, r.case.function, r.case.hidden)
        groups.setdefault(key, []).append(r)
    counts = Counter(r.case.function for r in result.cases)
    tests = []
    for (question, function, hidden), group in groups.items():
        share = prepared.shares[function] / counts[function]
        failed = [r for r in group if not r.passed]
        tests.append({
            "name": f"{question}: {function.split('.')[1]} ({'hidden' if hidden else 'public'} cases)",
            "score": round(share * (len(group) - len(failed)), 4),
            "max_score": round(share * len(group), 4),
            "visibility": "hidden" if hidden else "visible",
            "output": case_feedback(group) if failed else f"all {len(group)} cases passed",
        })
    return {"score": result.total, "tests": tests,
            "output": f"Graded in a {result.isolation} sandbox. Status: {result.status}",
            "extra_data": {"scores": result.scores, "isolation": result.isolation}}


def case_feedback(group):
    lines = []
    for r in group:
        if r.passed:
            continue
        lines.append(describe_failure(r))
    return "\n".join(lines)


def describe_failure(r):
    case = r.case
    where = f"{case.name}, {'hidden' if case.hidden else 'public'} case {case.number}"
    detail = ", ".join(x for x in (case.input_shapes(), case.label) if x)
    text = f"- {where}" + (f" ({detail})" if detail else "") + f": {r.message}"
    if case.equation:
        text += f"\n  Reread: {case.equation}."
    text += f"\n  Reproduce: {reproduce(case)}"
    return text


def reproduce(case):
    shapes = case.input_shapes()
    public = f"`python checks.py {case.question}` runs the public checks of this part"
    if case.hidden:
        return (f"{public}; this hidden case calls {case.name} on float64 inputs"
                + (f" of shapes {shapes}" if shapes else "") + " (values not shown)")
    return public


# ---------------------------------------------------------------------------- feedback.txt
def feedback_text(result, prepared):
    lines = [f"Submission: {result.name}", f"Score: {result.total:g} / {sum(result.possible.values()):g}",
             f"Status: {result.status}", ""]
    for q in prepared.lab.questions:
        lines.append(f"{q.name}: {result.scores[q.name]:g} / {q.points:g}")
        failed = [r for r in result.cases if r.case.question == q.name and not r.passed]
        if failed:
            shown = failed[:12]
            lines += ["  " + line for line in case_feedback(shown).splitlines()]
            if len(failed) > len(shown):
                lines.append(f"  ... and {len(failed) - len(shown)} more failed cases in {q.name}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- terminal
def table(questions, rows, isolation=""):
    names = [q.name for q in questions]
    header = ["file", *names, "total", "status"]
    body = [[r["file"], *[fmt(r[n]) for n in names], fmt(r["total_points_earned"]), short_status(r["grading_status"])] for r in rows]
    body.insert(0, ["(points)", *[fmt(q.points) for q in questions], fmt(sum(q.points for q in questions)), ""])
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    widths[-1] = min(widths[-1], 60)
    line = lambda row: "  ".join(str(c)[:w].ljust(w) if i in (0, len(row) - 1) else str(c).rjust(w)
                                 for i, (c, w) in enumerate(zip(row, widths)))
    out = [line(header), line(["-" * w for w in widths]), *map(line, body)]
    return "\n".join(out)


def short_status(status):
    return status if len(status) <= 60 else status[:57] + "..."


# ---------------------------------------------------------------------------- report.png
def failure_key(r):
    """A failure message without its numbers, so that the same mistake groups together."""
    message = r.message.split(". Likely mistake: ")
    head = re.sub(r"[-+]?\d[\d.e+-]*", "#", message[0])[:70]
    return f"{r.case.name}: " + (message[1][:70] if len(message) > 1 else head)


def report_png(path, prepared, results):
    """Score histogram, pass rate of every case, and the ten most common failure messages."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    totals = [r.total for r in results]
    n_cases = len(prepared.cases)
    passed = [0] * n_cases
    failures = Counter()
    for result in results:
        for r in result.cases:
            passed[r.case.number] += r.passed
        failures.update({failure_key(r) for r in result.cases if not r.passed})  # once per submission
    fig, axes = plt.subplots(3, 1, figsize=(11, 10), gridspec_kw={"height_ratios": [1, 1, 0.6]})
    axes[0].hist(totals, bins=range(0, 102, 5), color="#4477aa", edgecolor="white")
    axes[0].set(title=f"{prepared.lab.name}: scores of {len(results)} submissions", xlabel="total points", ylabel="submissions")
    colors = {q.name: c for q, c in zip(prepared.lab.questions, ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#aa3377", "#66ccee"])}
    rates = [p / max(1, len(results)) for p in passed]
    axes[1].bar(range(n_cases), rates, color=[colors.get(c.question, "grey") for c in prepared.cases], width=1.0)
    axes[1].set(title="pass rate of every case (colour = question)", xlabel="case number", ylabel="pass rate", ylim=(0, 1.05))
    handles = [Patch(color=colors[q.name], label=q.name) for q in prepared.lab.questions]
    axes[1].legend(handles=handles, ncol=len(handles), fontsize=8, loc="lower right")
    common = failures.most_common(10)
    axes[2].axis("off")
    axes[2].set_title("ten most common failures (number of submissions)")
    text = "\n".join(f"{count:5d}  {key}" for key, count in common) or "no failures"
    axes[2].text(0, 1, text, va="top", family="monospace", fontsize=8)
    fig.tight_layout()
    tmp = Path(path).with_name(".report.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
