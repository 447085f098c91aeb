"""What a batch writes: grades.csv (Otter's final_grades.csv layout), one Gradescope
results.json and one feedback.txt per submission, report.png for the class, a terminal table.
Every file is written atomically (a temporary file renamed into place), so an interrupted
batch never leaves a half-written grade.
"""
import csv
import io
import json
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np

from . import compare, intake
from .grading import function_points

STATUS_COLUMNS = ["total_points_earned", "percent_correct", "grading_status"]
SOURCE_COLUMN = "source"   # after Otter's columns: the submission's path relative to the common root, escaped
POINTS_ROW = "points-per-question"
SCORE_DIGITS = 4           # results.json's scores, and the points a test's text says were lost
HIDDEN_SUMMARY = "hidden cases (summary)"   # the visible test naming what lost points in hidden cases


def write_atomic(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- grades.csv
def grades_csv(questions, rows):
    """rows: [{"file", question..., "total_points_earned", "percent_correct", "grading_status",
    "source"}]: Otter's final_grades.csv columns, then `source`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = [q.name for q in questions]
    writer.writerow(["file", *names, *STATUS_COLUMNS, SOURCE_COLUMN])
    writer.writerow([POINTS_ROW, *[fmt(q.points) for q in questions], fmt(sum(q.points for q in questions)), 1, "--", ""])
    for row in rows:
        writer.writerow([row["file"], *[fmt(row[n]) for n in names], fmt(row["total_points_earned"]),
                         row["percent_correct"], row["grading_status"], row.get(SOURCE_COLUMN, row["file"])])
    return buffer.getvalue()


def fmt(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


def csv_row(result):
    return {"file": result.name, **result.scores, "total_points_earned": result.total,
            "percent_correct": result.percent, "grading_status": result.status}


# ---------------------------------------------------------------------------- feedback, by function
# What a student reads: for each question, then each function that lost points, the points
# lost, "k of n cases failed", the likely mistake once, one example (a public case with its
# values, or a hidden case by its shapes only) and where to reread. A message that every case
# of several functions shares (a module that does not import, nothing written yet) is one line.
FLOAT_DIGITS = re.compile(r"[-+]?(?:\d+\.\d{3,}|\d\.\d+[eE][-+]?\d+)(?:[eE][-+]?\d+)?")
SMALL_INPUT = 6  # a public input with at most this many numbers is shown by its values


def student_words(text):
    """Point to what students have (the function's docstring, the notebook, the lecture),
    never to the staff's ASSIGNMENT.md or "the contract"."""
    for pattern, words in ((r"; the contract says inputs stay unchanged", "; inputs must stay unchanged: work on a copy"),
                           (r"\(contract: ([^)]*)\)", r"(\1)"),
                           (r"\bASSIGNMENT\.md\b", "the docstring"), (r"\bthe contract's\b", "the docstring's"),
                           (r"\bthe contract\b", "the docstring"), (r"\bcontract\b", "docstring")):
        text = re.sub(pattern, words, text)
    return text


def hide_values(text):
    """A message of a hidden case without numbers that could be values (shapes, counts,
    indices and settings stay)."""
    return FLOAT_DIGITS.sub("(value hidden)", text)


class Namer:
    """Names of results and arguments as the lab's docstrings and signatures give them."""

    def __init__(self, prepared):
        self.prepared, self.cache = prepared, {}

    def result_names(self, case):
        if case.result_names:
            return tuple(case.result_names)
        if case.function not in self.cache:
            names = ()
            try:
                import inspect
                function = getattr(self.prepared.lab.reference()[case.module], case.name)
                names = compare.result_names_from_doc(inspect.getdoc(function))
            except Exception:
                pass
            form = getattr(case.check, "form", None)
            if form is not None and form.kind == "tuple" and len(names) != len(form.items):
                names = ()
            self.cache[case.function] = names
        return self.cache[case.function]

    def words(self, case, text):
        text = compare.leaf_names(text, self.result_names(case), getattr(case.check, "form", None), case.arg_names)
        return student_words(text)


def mistake_of(message):
    """The likely mistake of a message: a Finding's field, "" for any other message (text
    is never parsed: a student's own line may say anything)."""
    return message.mistake if isinstance(message, compare.Finding) else ""


def what_failed(message, hidden):
    """The message without its likely mistake; for a hidden case without values."""
    if isinstance(message, compare.Finding):
        return str(compare.Finding(message.where, message.brief, "" if hidden else message.detail))
    text = str(message)
    return hide_values(text) if hidden else text


def short_kind(message):
    """A few words for a failure without a likely mistake, without numbers that vary from
    case to case (so that the same failure groups together)."""
    if isinstance(message, compare.Finding):
        brief = message.brief
        kind = ("wrong shape" if brief.startswith("shape") else "nan or inf" if "not finite" in brief
                else "fails the gradient check" if "gradient check" in brief else "wrong values")
        return f"{message.where}: {kind}" if message.where else kind
    text = str(message)
    if text.startswith("raised "):
        return "raises " + text[len("raised "):].split(":")[0].split(" (")[0]
    if text.startswith("module ") and "could not be imported" in text:
        return text.split(":")[0]
    if text.startswith("modified its input"):
        return text.split(";")[0].replace("modified", "modifies")
    return re.split(r"[;:]\s", text)[0]


def failure_kind(message):
    """The likely mistake of a failure, else a few words for it (see short_kind)."""
    return mistake_of(message) or short_kind(message)


def format_value(value):
    """A small input as a student would type it: [-2, -0.5, 0, 0.5, 2]."""
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=", ", formatter={"float_kind": lambda v: f"{v:.6g}"},
                               max_line_width=10_000).replace("\n", "")
    return repr(value)


def describe_call(case, show_values):
    """"sigmoid_grad(z) with z = [-2, 0, 2]" or "with z of shape (30, 40)" (public);
    "sigmoid_grad(z)" (hidden: nothing of the inputs, see autograder.hidden)."""
    names = list(case.arg_names)[:len(case.args)] + [f"arg{i + 1}" for i in range(len(case.arg_names), len(case.args))]
    if not show_values:
        return f"{case.name}({', '.join(names + list(case.kwargs))})"
    parts = []
    for name, value in zip(names, case.args):
        small = isinstance(value, np.ndarray) and value.size <= SMALL_INPUT and value.ndim <= 2
        if show_values and (small or isinstance(value, (int, float, str)) or
                            (isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value))):
            parts.append(f"{name} = {format_value(value)}")
        elif isinstance(value, np.ndarray):
            parts.append(f"{name} of shape {value.shape}")
        elif describe_arg(value):
            parts.append(f"{name} shaped {describe_arg(value)}")
    for key, value in case.kwargs.items():
        if show_values:
            parts.append(f"{key} = {format_value(value)}")
    call = f"{case.name}({', '.join(names + list(case.kwargs))})"
    return call + (" with " + ", ".join(parts) if parts else "")


def describe_arg(value):
    from .cases import describe_arg as describe
    return describe(value)


def notebook_parts(lab):
    """{question: "Part B (Activation functions)"}: the notebook's "## Part X — title" headings
    in question order, or "Part A", "Part B", ... when the notebook is not at hand."""
    titles = []
    try:
        notebook = json.loads((lab.assignment_dir / f"{lab.name}.ipynb").read_text())
        for cell in notebook.get("cells", []):
            if cell.get("cell_type") == "markdown":
                match = re.match(r"\s*#+\s*Part\s+([A-Z])\s*[—–-]+\s*(.+)", "".join(cell.get("source", "")))
                if match:
                    titles.append(f"Part {match.group(1)} ({match.group(2).splitlines()[0].strip()})")
    except (OSError, ValueError, AttributeError):
        titles = []
    if len(titles) != len(lab.questions):
        titles = [f"Part {chr(ord('A') + i)}" for i in range(len(lab.questions))]
    return {q.name: title for q, title in zip(lab.questions, titles)}


def by_function(results):
    groups = {}
    for r in results:
        groups.setdefault(r.case.function, []).append(r)
    return groups


def headline(failed):
    """(likely mistake, in how many of the failed cases) of a function's failed cases: the
    most common one, when it explains at least a third of them (a rarer one is more likely a
    coincidence of one case's numbers); ("", 0) when there is none."""
    counts = Counter(m for m in map(lambda r: mistake_of(r.message), failed) if m)
    if counts:
        mistake, count = counts.most_common(1)[0]
        if 3 * count >= len(failed):
            return mistake, count
    return "", 0


def group_points(results, per_case, share, all_results=None):
    """Points that `results` (one function's cases, all of them or those of one visibility)
    earn: per_case times their credits, less their part of the function's fixed deduction for
    an input changed in place (grading.function_points), taken first from the visibility
    that holds the first such case, so that the parts add up to the function's points."""
    everyone = all_results if all_results is not None else results
    raw = per_case * sum(r.credit for r in results)
    deduction = per_case * sum(r.credit for r in everyone) - function_points(share, everyone)
    if deduction <= 1e-12 or len(results) == len(everyone):
        return max(0.0, raw - deduction)
    first = next(r for r in everyone if r.mutated or getattr(r, "misformed", 0.0))
    holder = [r for r in everyone if r.case.hidden == first.case.hidden]
    taken_first = min(deduction, per_case * sum(r.credit for r in holder))
    mine = taken_first if results[0].case.hidden == first.case.hidden else deduction - taken_first
    return max(0.0, raw - mine)


def lost_line(name, earned, points, failed, total, what="cases"):
    """"name: lost X of Y points; k of n cases failed", X = Y - earned as results.json rounds them."""
    earned, points = round(earned, SCORE_DIGITS), round(points, SCORE_DIGITS)
    lost = max(0.0, points - earned)
    return f"{name}: lost {lost:.3g} of {points:.3g} points; {failed} of {total} {what[:-1] if total == 1 else what} failed"


def function_block(results, prepared, namer, parts, per_case, visibility="", earned=None):
    """Lines (at most 5) about one function's failed cases among `results`: points lost,
    k of n failed, the likely mistake, one example, what to reread and how to check.
    earned: what `results` earn (default: as if they were all of the function's cases)."""
    failed = [r for r in results if not r.passed]
    case = results[0].case
    what = f"{visibility} cases" if visibility else "cases"
    points = per_case * len(results)
    if earned is None:
        earned = group_points(results, per_case, prepared.shares[case.function])
    lines = [lost_line(case.name, earned, points, len(failed), len(results), what)]
    mistake, count = headline(failed)
    if mistake:
        lines.append(f"  Likely mistake: {namer.words(case, mistake)}"
                     + (f" (in {count} of the {len(failed)} failed cases)" if count < len(failed) else ""))
    others = Counter(failure_kind(r.message) for r in failed if not mistake or mistake_of(r.message) != mistake)
    if mistake and others:
        other, n_other = others.most_common(1)[0]
        if 3 * n_other >= len(failed):
            lines.append(f"  Also: {namer.words(case, other)} (in {n_other} of the {len(failed)} failed cases)")
    if any(r.mutated and not str(r.message).startswith("modified its input") for r in results):
        lines.append(f"  Also: it changed an input in place: half of {case.name}'s points are deducted, once; "
                     "inputs must stay unchanged")
    same = [r for r in failed if mistake_of(r.message) == mistake] or failed
    example = min(same, key=lambda r: (r.case.hidden, r.case.number))
    shown = example.case
    text = namer.words(shown, what_failed(example.message, shown.hidden))
    label = f" ({shown.label})" if shown.label else ""
    kind = "a hidden case, inputs not shown" if shown.hidden else "a public case"
    lines.append(f"  Example ({kind}): {describe_call(shown, not shown.hidden)}{label}: {text}")
    if mistake_of(example.message) and mistake_of(example.message) != mistake:
        lines[-1] += f". Likely mistake: {namer.words(shown, mistake_of(example.message))}"
    reread = student_words(case.equation.rstrip(".")) + "; " if case.equation else ""
    lines.append(f"  Reread: {reread}the docstring of {case.name} and the notebook's {parts.get(case.question, 'part ' + case.question)}.")
    rerun = "" if shown.hidden else f"; `python checks.py --case {shown.number}` reruns this example"
    lines.append(f"  Reproduce: `python checks.py {case.question}` runs the public checks of this part{rerun}")
    return lines


def shared_status(groups):
    """{message: [function, ...]} for messages that are every failed case of two or more
    functions that failed all their cases with no likely mistake (an unimportable module,
    nothing written yet, a sandbox that stopped): said once, not once per function."""
    single = {}
    for function, results in groups.items():
        messages = {str(r.message) for r in results}
        if all(not r.passed for r in results) and len(messages) == 1 and not mistake_of(results[0].message):
            single.setdefault(messages.pop(), []).append(function)
    return {m: fs for m, fs in single.items() if len(fs) >= 2}


def question_lines(question, results, prepared, namer, parts, counts):
    """Feedback lines of one question: one status line per shared message, then a block per
    failing function (never cut)."""
    groups = by_function(results)
    lines = []
    status = shared_status(groups)
    collapsed = {f for fs in status.values() for f in fs}
    for message, functions in status.items():
        cases = sum(len(groups[f]) for f in functions)
        points = sum(prepared.shares[f] for f in functions)
        names = ", ".join(f.split(".")[1] for f in functions)
        lines.append(f"  {names}: {student_words(message)}; all {cases} cases failed, {points:.3g} points lost")
    for function in question.functions:
        if function in collapsed or function not in groups or all(r.passed for r in groups[function]):
            continue
        per_case = prepared.shares[function] / counts[function]
        lines += ["  " + line for line in function_block(groups[function], prepared, namer, parts, per_case)]
    return lines


def intake_lines(result):
    """What the intake chose (autograder.intake), one line each."""
    return [f"  {intake.describe(note)}" for note in result.notes]


def feedback_text(result, prepared):
    lines = [f"Submission: {result.name}", f"Score: {result.total:g} / {sum(result.possible.values()):g}",
             f"Status: {result.status}"]
    if result.notes:
        lines += ["What the grader took from your submission:", *intake_lines(result)]
    lines.append("")
    namer, parts = Namer(prepared), notebook_parts(prepared.lab)
    counts = Counter(c.function for c in prepared.cases)
    for q in prepared.lab.questions:
        lines.append(f"{q.name}: {result.scores[q.name]:g} / {q.points:g}")
        mine = [r for r in result.cases if r.case.question == q.name]
        lines += question_lines(q, mine, prepared, namer, parts, counts)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- results.json
def results_json(result, prepared):
    """Gradescope's schema: one test per function and visibility (hidden cases in hidden
    tests), its output the same text as the function's block in feedback.txt."""
    groups = {}
    for r in result.cases:
        key = (r.case.question, r.case.function, r.case.hidden)
        groups.setdefault(key, []).append(r)
    counts = Counter(c.function for c in prepared.cases)
    namer, parts = Namer(prepared), notebook_parts(prepared.lab)
    tests, functions, hidden_losses = [], {}, {}
    for (question, function, hidden), group in groups.items():
        per_case = prepared.shares[function] / counts[function]
        failed = [r for r in group if not r.passed]
        visibility = "hidden" if hidden else "public"
        earned = group_points(group, per_case, prepared.shares[function],
                              [r for r in result.cases if r.case.function == function])
        tests.append({
            "name": f"{question}: {function.split('.')[1]} ({visibility} cases)",
            "score": round(earned, SCORE_DIGITS),
            "max_score": round(per_case * len(group), SCORE_DIGITS),
            "visibility": "hidden" if hidden else "visible",
            "output": ("\n".join(function_block(group, prepared, namer, parts, per_case, visibility, earned)) if failed
                       else f"all {len(group)} {visibility} cases passed"),
        })
        if hidden and failed:
            hidden_losses.setdefault(question, []).append(
                lost_line(function.split(".")[1], earned, per_case * len(group), len(failed), len(group), "hidden cases"))
        total = functions.setdefault(function, [0.0, prepared.shares[function]])
        total[0] += earned
    for question, lines in hidden_losses.items():   # visible even when hidden tests are not (show_hidden off)
        first = next(i for i, t in enumerate(tests) if t["name"].startswith(f"{question}: "))
        tests.insert(first, {"name": f"{question}: {HIDDEN_SUMMARY}", "score": 0.0, "max_score": 0.0,
                             "visibility": "visible", "status": "failed",
                             "output": "Hidden cases that lost points (their values are not shown):\n" + "\n".join(lines)})
    intake_text = "".join(f"\n{line}" for line in intake_lines(result))
    return {"score": result.total, "tests": tests,
            "output": f"Graded in a {result.isolation} sandbox. Status: {result.status}" + intake_text,
            "extra_data": {"scores": result.scores, "isolation": result.isolation,
                           "functions": {f: {"earned": round(e, 4), "points": round(p, 4)} for f, (e, p) in functions.items()}}}


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
PALETTE = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#aa3377", "#66ccee", "#bbbbbb"]  # Paul Tol's bright
TOP_FAILURES = 10
LABEL_WIDTH = 150  # characters of a top-failure line in report.png (longer ones wrap at a space)


def question_colors(questions):
    """{question name: colour} for any number of questions (distinct colours up to 20)."""
    names = [q.name for q in questions]
    if len(names) <= len(PALETTE):
        colors = PALETTE[:len(names)]
    else:
        from matplotlib import colormaps
        from matplotlib.colors import to_hex
        cmap = colormaps["tab20" if len(names) <= 20 else "hsv"]
        colors = [to_hex(cmap(i / (20 if len(names) <= 20 else len(names)))) for i in range(len(names))]
    return dict(zip(names, colors))


def submission_failures(result, namer, questions=()):
    """{(function name, what went wrong)} of one submission: one entry per failing function
    (its most common likely mistake, else its most common failure), so that one submission
    counts at most once per function. Functions that share one status (a module that does not
    import, nothing written yet) make one entry: ("every function of backprop, training", ...)."""
    out = set()
    groups = by_function(result.cases)
    for message, functions in shared_status(groups).items():
        whole = [q.name for q in questions if set(q.functions) <= set(functions)]
        rest = [f.split(".")[1] for f in functions if not any(f in q.functions for q in questions if q.name in whole)]
        names = ", ".join(([f"every function of {', '.join(whole)}"] if whole else []) + rest)
        out.add((names, short_kind(message)))
        for function in functions:
            groups.pop(function)
    for function, group in groups.items():
        failed = [r for r in group if not r.passed]
        if failed:
            kinds = Counter(namer.words(r.case, failure_kind(r.message)) for r in failed)
            mistake, _ = headline(failed)
            kind = namer.words(failed[0].case, mistake) if mistake else kinds.most_common(1)[0][0]
            out.add((function.split(".")[1], kind))
    return out


def wrap_label(text, width=LABEL_WIDTH, lines=2):
    """`text` in at most `lines` lines of `width` characters, broken and shortened at spaces
    only (never inside a word)."""
    import textwrap
    wrapped = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    if len(wrapped) > lines:
        rest = " ".join(wrapped[lines - 1:])
        wrapped = wrapped[:lines - 1] + [textwrap.shorten(rest, width, placeholder=" ...")]
    return "\n".join(wrapped)


def report_data(prepared, results):
    """What report.png shows, as plain data: the histogram's bins and counts; one bar per case
    (x, pass rate, colour), grouped by function with a gap between functions; the functions'
    labels and where they sit; the top failures as "function: likely mistake (n submissions)"."""
    lab = prepared.lab
    totals = [r.total for r in results]
    possible = sum(q.points for q in lab.questions)
    step = max(1, round(possible / 20))
    edges = list(range(0, int(np.ceil(possible)), step)) + [possible]  # the last bin holds full marks
    counts, _ = np.histogram(totals, bins=edges)
    passed = Counter()
    for result in results:
        for r in result.cases:
            passed[r.case.number] += r.passed
    colors = question_colors(lab.questions)
    cases_of = {}
    for case in prepared.cases:
        cases_of.setdefault(case.function, []).append(case)
    bars, functions, x = [], [], 0
    for q in lab.questions:
        for function in q.functions:
            mine = cases_of.get(function, [])
            if not mine:
                continue
            start = x
            for case in mine:
                bars.append({"x": x, "rate": passed[case.number] / max(1, len(results)), "color": colors[q.name],
                             "question": q.name, "function": function, "case": case.number})
                x += 1
            functions.append({"name": function.split(".")[1], "x": (start + x - 1) / 2, "question": q.name,
                              "cases": len(mine)})
            x += 1  # a gap between functions
    namer = Namer(prepared)
    failures = Counter()
    for result in results:
        failures.update(submission_failures(result, namer, lab.questions))
    top = [f"{name}: {kind} ({n} submission{'s' if n != 1 else ''})"
           for (name, kind), n in sorted(failures.items(), key=lambda item: (-item[1], item[0]))[:TOP_FAILURES]]
    return {"title": f"{lab.name}: scores of {len(results)} submissions", "totals": totals, "edges": edges,
            "counts": [int(c) for c in counts], "bars": bars, "functions": functions, "colors": colors,
            "top_failures": top}


def report_figure(prepared, results):
    """The matplotlib figure of report.png (see report_data)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    data = report_data(prepared, results)
    fig, axes = plt.subplots(3, 1, figsize=(12, 12), gridspec_kw={"height_ratios": [1, 1.3, 0.9]})
    axes[0].hist(data["totals"], bins=data["edges"], color=PALETTE[0], edgecolor="white")
    axes[0].set(title=data["title"], xlabel="total points", ylabel="submissions")
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    bars = data["bars"]
    axes[1].bar([b["x"] for b in bars], [b["rate"] for b in bars], color=[b["color"] for b in bars], width=1.0)
    axes[1].set(title="pass rate of every case, grouped by function (colour = question)", ylabel="pass rate",
                ylim=(0, 1.22), yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0], xlim=(-1, (bars[-1]["x"] + 1) if bars else 1))
    axes[1].set_xticks([f["x"] for f in data["functions"]], [f["name"] for f in data["functions"]],
                       rotation=90, fontsize=7)
    axes[1].legend(handles=[Patch(color=c, label=q) for q, c in data["colors"].items()],
                   ncol=min(len(data["colors"]), 8), fontsize=8, loc="upper center", frameon=False)
    axes[2].axis("off")
    axes[2].set_title("most common failures (each submission counted once per function)")
    text = "\n".join(wrap_label(line) for line in data["top_failures"]) or "no failures"
    axes[2].text(0, 1, text, va="top", fontsize=8, transform=axes[2].transAxes)
    fig.tight_layout()
    return fig


def report_png(path, prepared, results):
    """Score histogram, pass rate of every case by function, and the most common failures."""
    import matplotlib.pyplot as plt
    fig = report_figure(prepared, results)
    tmp = Path(path).with_name(".report.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
