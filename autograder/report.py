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

from . import compare, feedback, intake, text
from .catalogue import Catalogue, cut, display_width, pad
from .feedback import group_points
from .findings import Finding, Kind
from .hidden import rewrite as rewrite_hidden

STATUS_COLUMNS = ["total_points_earned", "percent_correct", "grading_status"]
SOURCE_COLUMN = "source"   # after Otter's columns: the submission's path relative to the common root, escaped
POINTS_ROW = "points-per-question"
SCORE_DIGITS = 4           # results.json's scores, and the points a test's text says were lost


def write_atomic(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")   # Hangul names and text, whatever the locale
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


def csv_row(result, words=None):
    words = words or Catalogue()
    return {"file": result.name, **result.scores, "total_points_earned": result.total,
            "percent_correct": result.percent, "grading_status": status_text(result, words), "state": result.state}


def status_text(result, words) -> str:
    """Otter's grading_status: "Completed", "Completed with errors: <problem>" or "Not graded:
    <why>", then what the intake chose, most telling first: one line, cut by text.status."""
    if result.refused is not None:
        return text.status(words.say("status.not_graded", problem=result.refused.describe(words)))
    problem = result.problem
    if problem is None:
        head = words.say("status.completed")
    else:
        head = words.say("status.errors", problem=words.cause(problem) if problem.kind == Kind.IMPORT
                         else words.finding(problem, False))
    return text.status("; ".join([head, *(intake.describe(n, words) for n in result.notes)]))


# ---------------------------------------------------------------------------- feedback, by function
# What a student reads: for each question, then each function that lost points, the points
# lost, "k of n cases failed", the likely mistake once, one example (a public case with its
# values, or a hidden case without them) and where to reread: a rendering of feedback.py's model.
SMALL_INPUT = 6  # a public input with at most this many numbers is shown by its values


def student_words(text):
    """Point to what students have (the function's docstring, the notebook, the lecture),
    never to the staff's ASSIGNMENT.md or "the contract" (a lab's own wording may say so)."""
    for pattern, words in ((r"\(contract: ([^)]*)\)", r"(\1)"), (r"\bASSIGNMENT\.md\b", "the docstring"),
                           (r"\bthe contract's\b", "the docstring's"), (r"\bthe contract\b", "the docstring"),
                           (r"\bcontract\b", "docstring")):
        text = re.sub(pattern, words, text)
    return text


class Namer:
    """Names of results and arguments as the lab's docstrings and signatures give them, and
    findings in the catalogue's words."""

    def __init__(self, prepared, words=None):
        self.prepared, self.cache = prepared, {}
        self.words = words or Catalogue()

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

    def where(self, case, path):
        path = path or "result"
        head = re.match(r"result((?:\[\d+\])*)$", path)
        if not head:
            return path
        return compare.leaf_name(head.group(1), self.result_names(case), getattr(case.check, "form", None), self.words.say)

    def finding(self, case, found, hidden):
        """What `found` says of `case` (no likely mistake), in the contract's names; for a
        hidden case only what it may say (autograder.hidden), whatever the finding holds."""
        if hidden:
            found = rewrite_hidden(found, case)
        return student_words(self.words.finding(found, hidden, self.where(case, found.where), name=case.name))

    def mistake(self, mistake, hidden=False):
        return student_words(self.words.mistake(mistake, hidden))

    def label(self, case, label):
        """A Label (feedback.Label) in words: its mistake, else its kind at its item."""
        if label.mistake is not None:
            return self.mistake(label.mistake)
        key = f"kind_short.{label.kind.value}"
        params = dict(label.params)
        if self.words.has(key):
            kind = self.words.say(key, **params)
        else:
            kind = self.words.finding(Finding(label.kind, "", tuple(params.items())), True, "result", name=case.name)
        return (f"{self.where(case, label.where)}: {kind}" if label.where and self.words.has(key) else kind)


def format_value(value):
    """A small input as a student would type it: [-2, -0.5, 0, 0.5, 2]."""
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=", ", formatter={"float_kind": lambda v: f"{v:.6g}"},
                               max_line_width=10_000).replace("\n", "")
    return repr(value)


def describe_call(case, show_values, words=None):
    """"sigmoid_grad(z) with z = [-2, 0, 2]" or "with z of shape (30, 40)" (public);
    "sigmoid_grad(z)" (hidden: nothing of the inputs, see autograder.hidden)."""
    words = words or Catalogue()
    names = list(case.arg_names)[:len(case.args)] + [f"arg{i + 1}" for i in range(len(case.arg_names), len(case.args))]
    call = f"{case.name}({', '.join(names + list(case.kwargs))})"
    if not show_values:
        return call
    parts = []
    for name, value in zip(names, case.args):
        small = isinstance(value, np.ndarray) and value.size <= SMALL_INPUT and value.ndim <= 2
        if small or isinstance(value, (int, float, str)) or (
                isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value)):
            parts.append(f"{name} = {format_value(value)}")
        elif isinstance(value, np.ndarray):
            parts.append(words.say("feedback.of_shape", name=name, shape=value.shape))
        elif describe_arg(value):
            parts.append(words.say("feedback.shaped", name=name, shape=describe_arg(value)))
    for key, value in case.kwargs.items():
        parts.append(f"{key} = {format_value(value)}")
    return call + (" " + words.say("feedback.with_values", values=", ".join(parts)) if parts else "")


def describe_arg(value):
    from .cases import describe_arg as describe
    return describe(value)


def notebook_parts(lab, lang="en"):
    """{question: "Part B (Activation functions)"}: the notebook's "## Part X — title" headings
    in question order, or "Part A", "Part B", ... when the notebook is not at hand. In another
    language, the heading's own line below it in that language ("*활성화 함수와 그 도함수*"),
    where the notebook has one."""
    titles = []
    try:
        notebook = json.loads((lab.assignment_dir / f"{lab.name}.ipynb").read_text(encoding="utf-8"))
        for cell in notebook.get("cells", []):
            if cell.get("cell_type") == "markdown":
                source = "".join(cell.get("source", ""))
                match = re.match(r"\s*#+\s*Part\s+([A-Z])\s*[—–-]+\s*(.+)", source)
                if match:
                    title = match.group(2).splitlines()[0].strip()
                    below = re.match(r"\*([^*\n]+)\*", source.split("\n", 1)[1].strip()) if "\n" in source else None
                    if lang == "ko" and below and re.search(r"[\uac00-\ud7a3]", below.group(1)):
                        title = below.group(1).strip()
                    titles.append(f"Part {match.group(1)} ({title})")
    except (OSError, ValueError, AttributeError):
        titles = []
    if len(titles) != len(lab.questions):
        titles = [f"Part {chr(ord('A') + i)}" for i in range(len(lab.questions))]
    return {q.name: title for q, title in zip(lab.questions, titles)}


def lost_line(words, name, earned, points, failed, total, visibility=""):
    """"name: lost X of Y points; k of n cases failed", X = Y - earned as results.json rounds them."""
    earned, points = round(earned, SCORE_DIGITS), round(points, SCORE_DIGITS)
    lost = max(0.0, points - earned)
    noun = f"feedback.{visibility + '_' if visibility else ''}{'case' if total == 1 else 'cases'}"
    return words.say("feedback.lost", name=name, lost=lost, points=points, failed=failed, total=total, cases=words.say(noun))


def function_lines(block, namer, parts):
    """Lines (at most 6) of one FunctionFeedback: points lost, k of n failed, the likely
    mistake, one example, what to reread and how to check."""
    words = namer.words
    example = block.example
    case = example.case
    lines = [lost_line(words, block.name, block.earned, block.points, block.failed, block.total, block.visibility)]
    if block.headline is not None:
        mistake = namer.mistake(block.headline)
        lines.append(words.say("feedback.likely", mistake=mistake) if block.headline_count >= block.failed
                     else words.say("feedback.likely_some", mistake=mistake, count=block.headline_count, failed=block.failed))
    if block.also is not None:
        lines.append(words.say("feedback.also", other=namer.label(case, block.also), count=block.also_count,
                               failed=block.failed))
    if block.also_mutated:
        lines.append(words.say("feedback.also_mutated", name=block.name))
    what = namer.finding(case, example.finding, example.hidden)
    label = f" ({case.label})" if case.label else ""
    key = "feedback.example_hidden" if case.hidden else "feedback.example_public"
    line = words.say(key, call=describe_call(case, not case.hidden, words), label=label, what=what)
    if block.example_mistake is not None:
        line += words.say("feedback.example_mistake", mistake=namer.mistake(block.example_mistake, example.hidden))
    lines.append(line)
    equation = words.words.get(f"equation.{case.equation}", case.equation) if case.equation else ""
    reread = student_words(equation.rstrip(".")) + "; " if equation else ""
    lines.append(words.say("feedback.reread", equation=reread, name=block.name,
                           part=parts.get(case.question, words.say("feedback.part", question=case.question))))
    if block.reproduce_case is None:
        lines.append(words.say("feedback.reproduce", question=case.question))
    else:
        lines.append(words.say("feedback.reproduce_case", question=case.question, number=block.reproduce_case))
    return lines


def question_lines(model, namer, parts):
    """Feedback lines of one QuestionFeedback: one line per shared failure, then a block per
    failing function (never cut)."""
    words = namer.words
    lines = []
    for shared in model.shared:
        names = ", ".join(f.split(".")[1] for f in shared.functions)
        first = next(c for c in namer.prepared.cases if c.function == shared.functions[0])
        lines.append(words.say("feedback.shared", names=names, message=namer.finding(first, shared.finding, True),
                               cases=shared.cases, points=shared.points))
    for block in model.functions:
        lines += ["  " + line for line in function_lines(block, namer, parts)]
    return lines


def intake_lines(result, words):
    """What the intake chose (autograder.intake), one line each."""
    return [f"  {intake.describe(note, words)}" for note in result.notes]


def feedback_text(result, prepared, words=None):
    words = words or Catalogue()
    model = feedback.submission_feedback(result, prepared)
    lines = [words.say("feedback.submission", name=result.name),
             words.say("feedback.score", score=result.total, possible=sum(result.possible.values())),
             words.say("feedback.status", status=status_text(result, words))]
    if result.notes:
        lines += [words.say("feedback.took"), *intake_lines(result, words)]
    lines.append("")
    namer, parts = Namer(prepared, words), notebook_parts(prepared.lab, words.lang)
    for q in model.questions:
        lines.append(words.say("feedback.question", question=q.name, score=q.score, points=q.points))
        lines += question_lines(q, namer, parts)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- results.json
def results_json(result, prepared, words=None):
    """Gradescope's schema: one test per function and visibility (hidden cases in hidden
    tests), its output the same lines as the function's block in feedback.txt."""
    words = words or Catalogue()
    groups = {}
    for r in result.cases:
        key = (r.case.question, r.case.function, r.case.hidden)
        groups.setdefault(key, []).append(r)
    counts = Counter(c.function for c in prepared.cases)
    namer, parts = Namer(prepared, words), notebook_parts(prepared.lab, words.lang)
    tests, functions, hidden_losses = [], {}, {}
    for (question, function, hidden), group in groups.items():
        per_case = prepared.shares[function] / counts[function]
        failed = [r for r in group if not r.passed]
        visibility = "hidden" if hidden else "public"
        earned = group_points(group, per_case, prepared.shares[function],
                              [r for r in result.cases if r.case.function == function])
        block = feedback.function_feedback(group, per_case, earned, visibility)
        tests.append({
            "name": f"{question}: {function.split('.')[1]} ({words.say('feedback.' + visibility + '_cases')})",
            "score": round(earned, SCORE_DIGITS),
            "max_score": round(per_case * len(group), SCORE_DIGITS),
            "visibility": "hidden" if hidden else "visible",
            "output": ("\n".join(function_lines(block, namer, parts)) if failed
                       else words.say("feedback.all_passed", count=len(group), cases=words.say(f"feedback.{visibility}_cases"))),
        })
        if hidden and failed:
            hidden_losses.setdefault(question, []).append(
                lost_line(words, function.split(".")[1], earned, per_case * len(group), len(failed), len(group), "hidden"))
        total = functions.setdefault(function, [0.0, prepared.shares[function]])
        total[0] += earned
    for question, lines in hidden_losses.items():   # visible even when hidden tests are not (show_hidden off)
        first = next(i for i, t in enumerate(tests) if t["name"].startswith(f"{question}: "))
        tests.insert(first, {"name": f"{question}: {words.say('feedback.hidden_summary')}", "score": 0.0, "max_score": 0.0,
                             "visibility": "visible", "status": "failed",
                             "output": words.say("feedback.hidden_summary_head") + "\n" + "\n".join(lines)})
    intake_text = "".join(f"\n{line}" for line in intake_lines(result, words))
    return {"score": result.total, "tests": tests,
            "output": words.say("feedback.graded_in", isolation=result.isolation, status=status_text(result, words)) + intake_text,
            "extra_data": {"scores": result.scores, "isolation": result.isolation, "state": result.state,
                           "functions": {f: {"earned": round(e, 4), "points": round(p, 4)} for f, (e, p) in functions.items()}}}


# ---------------------------------------------------------------------------- terminal
def table(questions, rows, isolation="", words=None):
    """The terminal table: columns aligned by display width (Hangul takes two columns)."""
    words = words or Catalogue()
    names = [q.name for q in questions]
    header = [words.say("table.file"), *names, words.say("table.total"), words.say("table.status")]
    body = [[str(r["file"]), *[fmt(r[n]) for n in names], fmt(r["total_points_earned"]), short_status(str(r["grading_status"]))]
            for r in rows]
    body.insert(0, [words.say("table.points"), *[fmt(q.points) for q in questions], fmt(sum(q.points for q in questions)), ""])
    widths = [max(display_width(row[i]) for row in [header, *body]) for i in range(len(header))]
    widths[-1] = min(widths[-1], 60)
    line = lambda row: "  ".join(pad(cut(c, w), w) if i in (0, len(row) - 1) else pad(c, w, right=True)
                                 for i, (c, w) in enumerate(zip(row, widths)))
    out = [line(header), line(["-" * w for w in widths]), *map(line, body)]
    return "\n".join(out)


def short_status(status):
    return status if display_width(status) <= 60 else cut(status, 57) + "..."


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
    counts at most once per function. Functions that share one finding (a module that does
    not import, nothing written yet) make one entry: ("every function of backprop, training", ...)."""
    out = set()
    groups = feedback.by_function(result.cases)
    for shared in feedback.shared_failures(groups, namer.prepared.shares):
        functions = shared.functions
        whole = [q.name for q in questions if set(q.functions) <= set(functions)]
        rest = [f.split(".")[1] for f in functions if not any(f in q.functions for q in questions if q.name in whole)]
        names = ", ".join(([namer.words.say("report.every_function_of", questions=", ".join(whole))] if whole else []) + rest)
        case = groups[functions[0]][0].case
        out.add((names, namer.label(case, feedback.label_of(shared.finding, True))))
        for function in functions:
            groups.pop(function)
    for function, group in groups.items():
        failed = [r for r in group if not r.passed]
        if failed:
            mistake, _ = feedback.headline(failed)
            if mistake is not None:
                kind = namer.mistake(mistake)
            else:
                labels = Counter(feedback.label_of(r.message, r.hidden_words) for r in failed)
                kind = namer.label(failed[0].case, labels.most_common(1)[0][0])
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


def score_bins(possible: float, totals: list) -> tuple:
    """(edges, counts) of the score histogram: about 20 bins of whole points from 0 to
    `possible`, the last one closed (it holds full marks)."""
    step = max(1, round(possible / 20))
    edges = list(range(0, int(np.ceil(possible)), step)) + [possible]
    counts, _ = np.histogram(totals, bins=edges)
    return edges, [int(c) for c in counts]


def report_data(prepared, results, words=None):
    """What report.png shows, as plain data: the histogram's bins and counts; one bar per case
    (x, pass rate, colour), grouped by function with a gap between functions; the functions'
    labels and where they sit; the top failures as "function: likely mistake (n submissions)"."""
    lab = prepared.lab
    totals = [r.total for r in results]
    edges, counts = score_bins(sum(q.points for q in lab.questions), totals)
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
    words = words or Catalogue()
    namer = Namer(prepared, words)
    failures = Counter()
    for result in results:
        failures.update(submission_failures(result, namer, lab.questions))
    top = [words.say("report.failure", name=name, kind=kind, count=n, s="s" if n != 1 else "")
           for (name, kind), n in sorted(failures.items(), key=lambda item: (-item[1], item[0]))[:TOP_FAILURES]]
    return {"title": words.say("report.title", lab=lab.name, count=len(results)), "totals": totals, "edges": edges,
            "counts": counts, "bars": bars, "functions": functions, "colors": colors,
            "top_failures": top}


def report_figure(prepared, results, words=None):
    """The matplotlib figure of report.png (see report_data)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    words = words or Catalogue()
    data = report_data(prepared, results, words)
    fig, axes = plt.subplots(3, 1, figsize=(12, 12), gridspec_kw={"height_ratios": [1, 1.3, 0.9]})
    axes[0].hist(data["totals"], bins=data["edges"], color=PALETTE[0], edgecolor="white")
    axes[0].set(title=data["title"], xlabel=words.say("report.total_points"), ylabel=words.say("report.submissions"))
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    bars = data["bars"]
    axes[1].bar([b["x"] for b in bars], [b["rate"] for b in bars], color=[b["color"] for b in bars], width=1.0)
    axes[1].set(title=words.say("report.pass_rates"), ylabel=words.say("report.pass_rate"),
                ylim=(0, 1.22), yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0], xlim=(-1, (bars[-1]["x"] + 1) if bars else 1))
    axes[1].set_xticks([f["x"] for f in data["functions"]], [f["name"] for f in data["functions"]],
                       rotation=90, fontsize=7)
    axes[1].legend(handles=[Patch(color=c, label=q) for q, c in data["colors"].items()],
                   ncol=min(len(data["colors"]), 8), fontsize=8, loc="upper center", frameon=False)
    axes[2].axis("off")
    axes[2].set_title(words.say("report.common"))
    text = "\n".join(wrap_label(line) for line in data["top_failures"]) or words.say("report.no_failures")
    axes[2].text(0, 1, text, va="top", fontsize=8, transform=axes[2].transAxes)
    fig.tight_layout()
    return fig


def report_png(path, prepared, results, words=None):
    """Score histogram, pass rate of every case by function, and the most common failures."""
    import matplotlib.pyplot as plt
    fig = report_figure(prepared, results, words)
    tmp = Path(path).with_name(".report.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
