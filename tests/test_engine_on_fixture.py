"""The engine tested on a lab it was not written for (tests/fixtures/labs/lab00_neuron): each
judge and each output against a plausible regression.
- MatchesGradient: the lab's own loss is differentiated (the expected value is the analytic
  gradient), the reference passes, and a gradient off by 0.01% fails (a tolerance loosened
  1000x would let it through).
- Kink margins: the lab's gradient-check inputs start within the step of the central
  differences from the kink; with the margin they pass, without it the reference fails.
- `grade --rerun`: without it a graded submission is skipped (its old score kept), with it the
  submission is graded again.
- The terminal table: every number, read back by column, is grades.csv's and the lab's points.
- The default lab among several, and full marks from the lab's points (10 here, not 100).
"""
import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import labs, mutants
from autograder.cases import MatchesDerivative, MatchesGradient
from autograder.examples import lab_examples
from autograder.findings import Kind, mistake
from autograder.labs import prepare
from autograder.values import Value

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "labs" / "lab00_neuron"


@pytest.fixture(scope="module")
def fixture_lab():
    return labs.load_lab("lab00_neuron", root=FIXTURE)


@pytest.fixture(scope="module")
def prepared(fixture_lab, settings):
    return prepare(fixture_lab, settings)


def node(value):
    """A returned value as the parent reads it back from the sandbox."""
    if isinstance(value, (list, tuple)):
        return Value("list" if isinstance(value, list) else "tuple", items=[node(v) for v in value])
    return Value("nd", data=np.asarray(value))


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "autograder", "--labs-dir", str(FIXTURE), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


# ---------------------------------------------------------------------------- MatchesGradient
def gradient_cases(prepared):
    found = [(c, e) for c, e in zip(prepared.cases, prepared.expected) if isinstance(c.check, MatchesGradient)]
    assert len(found) >= 3
    return found


def test_gradient_check_expects_the_gradient_of_the_labs_loss(prepared):
    for case, expected in gradient_cases(prepared):
        X, Y, ((W, b),) = case.args
        out = X @ W.T + b
        dZ = (np.where(out > 0, out, 0.1 * out) - Y) / len(X) * np.where(out > 0, 1.0, 0.1)
        assert np.allclose(expected[0][0], dZ.T @ X, rtol=1e-7, atol=1e-9)
        assert np.allclose(expected[0][1], dZ.sum(axis=0), rtol=1e-7, atol=1e-9)


def test_gradient_check_passes_the_reference_and_fails_a_gradient_off_by_a_ten_thousandth(prepared, fixture_lab, settings):
    backward = fixture_lab.reference()["neuron"].backward
    for case, expected in gradient_cases(prepared):
        ((dW, db),) = backward(*case.args)
        assert case.check.judge(case, node([(dW, db)]), expected, settings) is None
        found = case.check.judge(case, node([(dW * 1.0001, db)]), expected, settings)
        assert (found.kind, found.where, found.param("of")) == (Kind.GRADCHECK, "result[0][0]", "loss")
        assert found.param("error") > found.param("tol") == settings.gradcheck_tol
        found = case.check.judge(case, node([(dW, db * 1.0001)]), expected, settings)
        assert (found.kind, found.where) == (Kind.GRADCHECK, "result[0][1]")


def test_gradient_check_names_a_missing_one_over_n(prepared, fixture_lab, settings):
    backward = fixture_lab.reference()["neuron"].backward
    case, expected = [(c, e) for c, e in gradient_cases(prepared) if len(c.args[0]) > 1][0]
    ((dW, db),) = backward(*case.args)
    n = len(case.args[0])
    found = case.check.judge(case, node([(dW * n, db * n)]), expected, settings)
    assert found.kind == Kind.GRADCHECK and found.mistake == mistake("factor", name="N")


def test_gradient_check_needs_the_labs_loss(prepared, settings):
    case, _ = gradient_cases(prepared)[0]
    with pytest.raises(ValueError, match="loss"):
        MatchesGradient().expect(case, None, settings)


# ---------------------------------------------------------------------------- kink margins
def kink_cases(prepared):
    return [(c, e) for c, e in zip(prepared.cases, prepared.expected)
            if c.function == "act.leaky_grad" and isinstance(c.check, MatchesDerivative)]


def test_kink_inputs_start_near_the_kink(settings):
    grading = labs.load_lab("lab00_neuron", root=FIXTURE).spec
    raw = np.concatenate([z.ravel() for z in grading.kink_inputs()])
    assert np.sum(np.abs(raw) < settings.gradcheck_h) >= 3   # the margin has work to do


def test_gradient_checks_stay_off_the_kink(prepared, settings):
    cases = kink_cases(prepared)
    assert len(cases) >= 2
    for case, _ in cases:   # a bound of its own: the margin's setting at 0 would hold trivially
        assert np.abs(case.args[0]).min() >= 100 * settings.gradcheck_h


@pytest.mark.parametrize("margin, passes", [(None, True), (0.0, False)])
def test_without_the_margin_the_reference_fails_its_gradient_check(fixture_lab, settings, margin, passes):
    settings = settings if margin is None else settings.with_overrides(kink_margin=margin)
    prepared = prepare(fixture_lab, settings)
    leaky_grad = fixture_lab.reference()["act"].leaky_grad
    verdicts = [case.check.judge(case, node(leaky_grad(*case.args, **case.kwargs)), expected, settings) is None
                for case, expected in kink_cases(prepared)]
    assert all(verdicts) if passes else not all(verdicts)


# ---------------------------------------------------------------------------- grade, --rerun, the table
def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_rerun_grades_again_and_without_it_graded_submissions_are_skipped(tmp_path, fixture_lab):
    sub = tmp_path / "alice"
    sub.mkdir()
    for module, text in fixture_lab.reference_sources().items():
        (sub / f"{module}.py").write_text(text)
    out = tmp_path / "out"
    assert cli("grade", str(sub), "--out", str(out)).returncode == 0
    assert read_csv(out / "grades.csv")[2][:4] == ["alice", "4", "6", "10"]
    again = cli("grade", str(sub), "--out", str(out))                 # nothing changed: skipped
    assert again.returncode == 0 and "skipping 1 submission(s) already graded" in again.stderr + again.stdout
    shutil.copy(fixture_lab.assignment_dir / "neuron.py", sub / "neuron.py")   # alice's neuron.py is now a skeleton
    changed = cli("grade", str(sub), "--out", str(out))               # its content changed: graded again
    assert changed.returncode == 0 and "grading 1 submission(s) again" in changed.stderr + changed.stdout
    assert read_csv(out / "grades.csv")[2][:4] == ["alice", "4", "0", "4"]
    rerun = cli("grade", str(sub), "--out", str(out), "--rerun")
    assert rerun.returncode == 0 and "skipping" not in rerun.stderr + rerun.stdout
    assert read_csv(out / "grades.csv")[2][:4] == ["alice", "4", "0", "4"]


def test_terminal_table_shows_the_points_and_every_score(tmp_path, fixture_lab):
    run = cli("grade", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["file"])
    header = lines[start].split()
    assert header == ["file", "act", "neuron", "total", "status"]
    table = {line.split()[0]: line.split()[1:4] for line in lines[start + 2:] if line.strip() and not line.startswith("wrote")}
    assert table.pop("(points)") == ["4", "6", "10"]
    rows = read_csv(tmp_path / "grades.csv")
    assert rows[1][:4] == ["points-per-question", "4", "6", "10"]
    from_csv = {row[0]: row[1:4] for row in rows[2:]}
    assert table == from_csv
    promised = {name: promise for name, _, promise in lab_examples(fixture_lab)}
    for name, (act, neuron, total) in table.items():
        assert (float(act), float(neuron)) == pytest.approx((promised[name]["act"], promised[name]["neuron"]), abs=0.006)
        assert float(total) == pytest.approx(float(act) + float(neuron), abs=0.011)


# ---------------------------------------------------------------------------- labs and totals
def test_full_marks_come_from_the_labs_points(fixture_lab):
    assert fixture_lab.total_points == 10
    full = mutants.Verdict("v", "act", 0.0, {}, 10.0, possible=fixture_lab.total_points)
    short = mutants.Verdict("v", "act", 0.0, {}, 9.99, possible=fixture_lab.total_points)
    assert full.full_marks and not short.full_marks
    assert "correct variants at full marks: 1/2" in mutants.summary([], [full, short])


def make_labs(root, names):
    for name in names:
        shutil.copytree(FIXTURE / "solutions" / "lab00_neuron", root / "solutions" / name)
    return root / "solutions"


def test_the_default_lab_is_the_only_one_else_the_named_one_else_the_first_with_a_note(tmp_path):
    assert labs.default_lab(make_labs(tmp_path / "one", ["only"])) == ("only", "")
    several = make_labs(tmp_path / "two", ["b_lab", "a_lab"])
    name, note = labs.default_lab(several)
    assert name == "a_lab" and "--lab" in note and "DEFAULT_LAB" in note
    (tmp_path / "two" / "DEFAULT_LAB").write_text("b_lab\n")
    assert labs.default_lab(several) == ("b_lab", "")
    assert labs.load_lab(solutions=several).name == "b_lab"
    (tmp_path / "two" / "DEFAULT_LAB").write_text("no_such_lab\n")
    with pytest.raises(ValueError, match="names no lab"):
        labs.default_lab(several)


def test_the_command_line_says_which_lab_it_guessed(tmp_path):
    make_labs(tmp_path, ["b_lab", "a_lab"])
    run = subprocess.run([sys.executable, "-m", "autograder", "--labs-dir", str(tmp_path), "skeleton", "--check"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "using a_lab, the first by name" in run.stderr
