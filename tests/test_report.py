"""report.png beyond its PNG header: the data it is drawn from (bars grouped and labelled by
function, top failures counted once per submission and function, in words), integer ticks on
the histogram's count axis, colours for any number of questions."""
import re
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import compare, report
from autograder.cases import Case, Matches
from autograder.findings import Kind, finding, mistake
from autograder.grading import CaseResult, SubmissionResult
from autograder.labs import Question


def fake_lab(n_questions, functions_per_question=2, cases_per_function=3):
    """A lab of `n_questions` questions (10 points each) and its prepared cases, no reference."""
    questions, cases = [], []
    for q in range(n_questions):
        functions = {f"m.f{q}_{k}": 1 for k in range(functions_per_question)}
        questions.append(Question(f"q{q}", 10, functions))
        for function in functions:
            for i in range(cases_per_function):
                case = Case(function, (np.zeros(2),), Matches(), hidden=i > 0, arg_names=("z",))
                case.number, case.question = len(cases), f"q{q}"
                cases.append(case)
    lab = SimpleNamespace(name="fake", questions=questions, assignment_dir=None,
                          points={q.name: q.points for q in questions}, reference=lambda: {})
    shares = {f: 10 / functions_per_question for q in questions for f in q.functions}
    return SimpleNamespace(lab=lab, cases=cases, shares=shares)


def submission(prepared, name, fail=lambda case: None, total=None):
    """A graded submission: `fail(case)` gives a failing case's Finding or None."""
    results = []
    for case in prepared.cases:
        message = fail(case)
        results.append(CaseResult(case, message is None, message, credit=1.0 if message is None else message.credit))
    scores = {q.name: 0.0 for q in prepared.lab.questions}
    result = SubmissionResult(name, scores, prepared.lab.points, results)
    if total is not None:
        result.scores = {prepared.lab.questions[0].name: total, **{q.name: 0.0 for q in prepared.lab.questions[1:]}}
    return result


def test_the_pass_rate_bars_are_grouped_and_labelled_by_function():
    prepared = fake_lab(3)
    results = [submission(prepared, "a", lambda c: finding(Kind.RAISED, error="ValueError", line="bad") if c.function == "m.f1_0" else None),
               submission(prepared, "b")]
    data = report.report_data(prepared, results)
    assert [f["name"] for f in data["functions"]] == ["f0_0", "f0_1", "f1_0", "f1_1", "f2_0", "f2_1"]
    xs = {}
    for bar in data["bars"]:
        xs.setdefault(bar["function"], []).append(bar["x"])
    for function, positions in xs.items():
        assert positions == list(range(positions[0], positions[0] + 3)), function  # contiguous
    starts = sorted(p[0] for p in xs.values())
    assert all(b - a == 4 for a, b in zip(starts, starts[1:]))  # 3 bars and a gap
    for label in data["functions"]:
        mine = [b["x"] for b in data["bars"] if b["function"].endswith(label["name"])]
        assert label["x"] == pytest.approx(np.mean(mine))
    rates = {b["function"]: b["rate"] for b in data["bars"]}
    assert rates["m.f1_0"] == 0.5 and rates["m.f0_0"] == 1.0
    assert len({b["color"] for b in data["bars"]}) == 3


def test_top_failures_count_a_submission_once_per_function_in_words():
    prepared = fake_lab(2)
    error = "operands could not be broadcast together with shapes (4,3) (4,)"
    many = lambda case: (finding(Kind.VALUES, "result", mistake("factor", name="N"), wrong=case.number + 1, size=9,
                                 max_abs=1.0, max_rel=2.0, index=(case.number,), expected=0.5, got=1.5)
                         if case.function == "m.f0_0" else
                         finding(Kind.RAISED, mistake=compare.error_advice(f"ValueError: {error}"),   # as grading.verdict builds it
                                 error="ValueError", line=error)
                         if case.function == "m.f1_1" else None)
    # f1_1 fails in 3 submissions, f0_0 in 2: the most common comes first although its name
    # sorts later (a tie, or the names' order, would not show the order of the counts)
    only_f1_1 = lambda case: many(case) if case.function == "m.f1_1" else None
    results = [submission(prepared, f"s{i}", many) for i in range(2)] + [submission(prepared, "s2", only_f1_1),
                                                                           submission(prepared, "clean")]
    top = report.report_data(prepared, results)["top_failures"]
    assert top[0].startswith("f1_1: ") and top[0].endswith("(3 submissions)")
    assert top[1].startswith("f0_0: ") and top[1].endswith("(2 submissions)")  # 3 cases each, counted once per submission
    assert "off by a factor of N" in top[1] and "lost that axis" in top[0]
    assert len(top) == 2
    for line in top:
        assert "#" not in line and re.match(r"^[\w, ]+: .+ \(\d+ submissions?\)$", line)


def test_failures_without_a_likely_mistake_group_without_numbers():
    prepared = fake_lab(1)
    fails = lambda case: finding(Kind.VALUES, "result", wrong=case.number + 1, size=7, max_abs=0.5 + case.number,
                                 max_rel=1.0, index=(case.number % 2,), expected=float(case.number), got=0.25)
    top = report.report_data(prepared, [submission(prepared, "a", fails), submission(prepared, "b", fails)])["top_failures"]
    assert top == ["f0_0: result: wrong values (2 submissions)", "f0_1: result: wrong values (2 submissions)"]


def test_a_status_shared_by_whole_questions_is_one_top_failure():
    prepared = fake_lab(3)
    broken = lambda case: finding(Kind.IMPORT, module="m", cause="syntax", error="SyntaxError", message="bad", line=3)
    top = report.report_data(prepared, [submission(prepared, "a", broken)])["top_failures"]
    assert top == ["every function of q0, q1, q2: module m.py could not be imported (1 submission)"]


def test_long_labels_wrap_and_shorten_at_spaces_only():
    text = "mlp_backward: " + " ".join(f"word{i}" for i in range(80)) + " (3 submissions)"
    label = report.wrap_label(text, width=60, lines=2)
    lines = label.split("\n")
    assert len(lines) == 2 and all(len(line) <= 60 for line in lines)
    words = set(text.split())
    assert all(word in words for word in label.replace(" ...", "").split())
    assert report.wrap_label("short label (1 submission)") == "short label (1 submission)"


def test_the_histogram_counts_in_whole_submissions():
    prepared = fake_lab(10)  # 100 points
    results = [submission(prepared, "a", total=100.0), submission(prepared, "b", total=95.5)]
    data = report.report_data(prepared, results)
    assert data["edges"][0] == 0 and data["edges"][-1] == 100
    assert sum(data["counts"]) == 2 and data["counts"][-1] == 2  # full marks fall in the last bin
    import matplotlib.pyplot as plt
    fig = report.report_figure(prepared, results)
    fig.canvas.draw()
    ticks = fig.axes[0].get_yticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)
    assert fig.axes[0].get_ylabel() == "submissions"
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert labels == [f["name"] for f in data["functions"]]
    plt.close(fig)


@pytest.mark.parametrize("n", [1, 7, 12, 25])
def test_any_number_of_questions_has_colours(n, tmp_path):
    prepared = fake_lab(n, functions_per_question=1, cases_per_function=1)
    colors = report.question_colors(prepared.lab.questions)
    assert list(colors) == [q.name for q in prepared.lab.questions]
    assert len(set(colors.values())) == n
    results = [submission(prepared, "a", lambda c: finding(Kind.RAISED, error="KeyError", line="'x'") if c.number % 2 else None)]
    report.report_png(tmp_path / "report.png", prepared, results)
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_results_json_check_fails_on_text_that_contradicts_the_score():
    from conftest import results_json_problems
    good = {"score": 0.8, "tests": [{"name": "q: f (public cases)", "score": 0.8, "max_score": 1.2,
                                     "output": "f: lost 0.4 of 1.2 points; 1 of 3 public cases failed"}]}
    assert results_json_problems(good) == []
    for output in ("f: lost -2.8 of 1.2 points; 1 of 3 public cases failed",     # the old partial-credit text
                   "f: lost 1.05 of 1.2 points; 1 of 3 public cases failed",     # lost more than max - score
                   "f: lost 0.4 of 1.71 points; 1 of 3 public cases failed",     # another maximum
                   "all 3 public cases passed"):                                  # a loss the text does not name
        bad = {"score": 0.8, "tests": [{**good["tests"][0], "output": output}]}
        assert results_json_problems(bad), output
    assert results_json_problems({"score": 5, "tests": good["tests"]})           # tests that do not add up


@pytest.mark.parametrize("failure", [finding(Kind.TIMEOUT, seconds=10.0), finding(Kind.WARNED, warning="RuntimeWarning")])
def test_a_function_that_times_out_or_warns_is_a_top_failure(failure):
    prepared = fake_lab(1)
    fails = lambda case: failure if case.function == "m.f0_0" else None
    top = report.report_data(prepared, [submission(prepared, "a", fails)])["top_failures"]
    assert len(top) == 1 and top[0].startswith("f0_0: ") and top[0].endswith("(1 submission)")
