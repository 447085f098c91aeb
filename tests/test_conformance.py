"""Lab conformance: every lab, the kit's own and the fixture labs under tests/fixtures/labs/,
keeps the same promises, checked the same way:
- its skeletons are the reference's (no drift);
- the reference scores full marks and the skeleton 0;
- every mistake of its bank loses points in its own part and nowhere else, and every correct
  variant scores full marks (the whole bank graded in one batch, like `mutants`);
- `python -m autograder build` writes a handout that shows no solution line and no hidden input
  (checked here by reading the files, not with the build's own leak check), and refuses one
  that does;
- `otter run` on autograder.zip scores like `grade` (here for the fixture labs: Lab 17's is
  tests/test_otter.py).
A new lab is added to the loop by adding its folders; a new fixture lab by adding
tests/fixtures/labs/<lab>/(solutions|assignments)/<lab>/.
"""
import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder import bank as schema
from autograder import labs, mutants
from autograder.skeleton import BEGIN, END, skeleton_files

from conftest import grade_bank

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "labs"
OTTER = Path(sys.executable).with_name("otter")


def every_lab():
    """[(lab name, folder holding solutions/ and assignments/)]."""
    found = [(name, ROOT) for name in labs.available_labs(ROOT / "solutions")]
    for root in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        found += [(name, root) for name in labs.available_labs(root / "solutions")]
    return found


LABS = every_lab()
IDS = [name for name, _ in LABS]
FIXTURE_LABS = [(name, root) for name, root in LABS if root != ROOT]


def test_the_loop_holds_the_kits_lab_and_a_fixture_lab():
    assert "lab17_backprop" in IDS and len(FIXTURE_LABS) >= 1


@pytest.fixture(scope="module", params=LABS, ids=IDS)
def lab(request):
    name, root = request.param
    return labs.load_lab(name, root=root)


def cli(lab, *args, timeout=600):
    """`python -m autograder --labs-dir ROOT --lab NAME ARGS` (the lab's own folders)."""
    root = lab.reference_dir.parents[1]
    return subprocess.run([sys.executable, "-m", "autograder", "--labs-dir", str(root), "--lab", lab.name, *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


# ---------------------------------------------------------------------------- skeletons
def test_skeletons_are_the_references(lab):
    for name, text in skeleton_files(lab.reference_dir, lab.modules).items():
        assert (lab.assignment_dir / name).read_text() == text, f"{name}: run `python -m autograder skeleton`"
    assert cli(lab, "skeleton", "--check").returncode == 0


def test_skeleton_drift_is_reported(lab, tmp_path):
    copy = copy_lab(lab, tmp_path)
    module = copy.assignment_dir / f"{lab.modules[0]}.py"
    module.write_text(module.read_text() + "\n# drifted\n")
    run = cli(copy, "skeleton", "--check")
    assert run.returncode == 1 and f"{lab.modules[0]}.py" in run.stdout


def copy_lab(lab, into):
    """The lab's two folders copied under into/ (a lab root of its own)."""
    for kind, folder in (("solutions", lab.reference_dir), ("assignments", lab.assignment_dir)):
        shutil.copytree(folder, Path(into) / kind / lab.name, ignore=shutil.ignore_patterns("__pycache__"))
    return labs.load_lab(lab.name, root=into)


# ---------------------------------------------------------------------------- the bank, graded
@pytest.fixture(scope="module")
def graded(lab, tmp_path_factory, settings, request):
    """The reference, the skeleton, every mistake and every variant, graded in one batch:
    ({name: grades.csv row}, {name: {function: (earned, points)}}, the bank). Lab 17's is the
    session's (conftest.lab17_bank, which tests/test_bank_scores.py reads too)."""
    if lab.name == "lab17_backprop" and lab.reference_dir.parents[1] == ROOT:
        return request.getfixturevalue("lab17_bank")
    return grade_bank(lab, tmp_path_factory.mktemp(f"conformance_{lab.name}"), settings)


def scores(lab, row):
    return {q.name: float(row[q.name]) for q in lab.questions}


def test_reference_scores_full_marks_and_skeleton_zero(lab, graded):
    rows, _, _ = graded
    assert scores(lab, rows["reference"]) == lab.points
    assert float(rows["reference"]["total_points_earned"]) == pytest.approx(lab.total_points)
    assert rows["reference"]["grading_status"] == "Completed"
    assert scores(lab, rows["skeleton"]) == {q.name: 0.0 for q in lab.questions}


def test_every_mistake_loses_points_in_its_own_part_and_function_only(lab, graded):
    rows, functions, bank = graded
    problems = []
    for mistake in bank.MISTAKES:
        got = scores(lab, rows[mistake.name])
        lost = {q: round(lab.points[q] - got[q], 2) for q in got}
        if lost[mistake.part] <= 0:
            problems.append(f"{mistake.name}: escaped (nothing lost in {mistake.part})")
        elsewhere = {q: v for q, v in lost.items() if q != mistake.part and v > mutants.LEAK_ALLOWED}
        if elsewhere:
            problems.append(f"{mistake.name}: also loses {elsewhere}")
        function = mutants.full_name(lab, mistake.part, mistake.function)
        earned, points = functions[mistake.name][function]
        if earned >= points:
            problems.append(f"{mistake.name}: {function} keeps all its points")
    assert problems == []


def test_every_variant_scores_full_marks(lab, graded):
    rows, _, bank = graded
    assert bank.VARIANTS, "a lab's bank needs correct variants"
    penalised = {v.name: scores(lab, rows[v.name]) for v in bank.VARIANTS if scores(lab, rows[v.name]) != lab.points}
    assert penalised == {}


def test_the_bank_is_data_in_the_engines_schema(lab):
    bank = mutants.load_bank(lab)
    assert schema.problems(bank, lab.modules, [q.name for q in lab.questions]) == []
    assert len(bank.MISTAKES) >= 5 and len(bank.VARIANTS) >= 2
    assert {m.part for m in bank.MISTAKES} == {q.name for q in lab.questions}


# ---------------------------------------------------------------------------- the handout
def solution_lines(lab):
    """Stripped lines inside the reference's solution blocks (long enough to mean something)."""
    found = set()
    for module in lab.modules:
        inside = False
        for line in (lab.reference_dir / f"{module}.py").read_text().splitlines():
            if BEGIN.match(line):
                inside = True
            elif END.match(line):
                inside = False
            elif inside and len(re.sub(r"\W", "", line)) >= 8:
                found.add(line.strip())
    public = {line.strip() for text in skeleton_files(lab.reference_dir, lab.modules).values() for line in text.splitlines()}
    return found - public


def float_arrays(value):
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from float_arrays(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from float_arrays(item)


def hidden_numbers(lab, settings):
    """Every hidden input value with more than 4 decimals, written with 6 (as a handout would
    print it), minus the values a public case shows."""
    def numbers(case):
        return {f"{abs(v):.6f}" for array in float_arrays([case.args, case.kwargs]) for v in array.ravel()
                if np.isfinite(v) and round(float(v), 4) != float(v)}
    cases = lab.make_cases(settings, lab.reference())
    public = set().union(*(numbers(c) for c in cases if not c.hidden))
    return set().union(*(numbers(c) for c in cases if c.hidden)) - public


def handout_texts(folder):
    return {p.relative_to(folder).as_posix(): p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()}


def test_build_writes_a_handout_without_solutions_or_hidden_inputs(lab, tmp_path, settings):
    run = cli(lab, "build", "--out", str(tmp_path / "dist"))
    assert run.returncode == 0, run.stderr
    texts = handout_texts(tmp_path / "dist" / "student")
    assert {f"{m}.py" for m in lab.modules} <= set(texts)
    secret = solution_lines(lab)
    assert secret, "the reference has no solution lines"
    shown = [(name, line.strip()) for name, text in texts.items() for line in text.splitlines() if line.strip() in secret]
    assert shown == []
    hidden = hidden_numbers(lab, settings)
    printed = {f"{abs(float(m)):.6f}" for text in texts.values() for m in re.findall(r"-?\d+\.\d{6,}", text)}
    assert printed & hidden == set()
    with zipfile.ZipFile(tmp_path / "dist" / "autograder.zip") as archive:
        names = set(archive.namelist())
    assert {f"solutions/{lab.name}/grading.py", "otter_config.json"} <= names
    assert {f"tests/{q.name}.py" for q in lab.questions} <= names


def test_build_refuses_a_handout_that_shows_a_solution_line(lab, tmp_path):
    copy = copy_lab(lab, tmp_path / "lab")
    line = sorted(solution_lines(lab), key=len)[-1]
    readme = copy.assignment_dir / "README.md"
    readme.write_text(readme.read_text() + f"\n    {line}\n")
    run = cli(copy, "build", "--out", str(tmp_path / "dist"))
    assert run.returncode != 0 and "leak" in run.stderr
    assert not (tmp_path / "dist" / "student.zip").exists()


# ---------------------------------------------------------------------------- otter run = grade (below)
@pytest.mark.slow
@pytest.mark.parametrize("name, root", FIXTURE_LABS, ids=[n for n, _ in FIXTURE_LABS])
def test_otter_run_scores_like_grade(name, root, tmp_path):
    if not OTTER.exists():
        pytest.skip("no otter command next to this Python")
    lab = labs.load_lab(name, root=root)
    assert cli(lab, "build", "--out", str(tmp_path / "dist")).returncode == 0
    graded = cli(lab, "grade", "--out", str(tmp_path / "grade"))   # the lab's examples
    assert graded.returncode == 0, graded.stderr
    with open(tmp_path / "grade" / "grades.csv") as f:
        rows = {row["file"]: row for row in csv.DictReader(f) if row["file"] != "points-per-question"}
    assert len(rows) >= 3
    for example, row in rows.items():
        archive = tmp_path / f"{example}.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for module in lab.modules:
                z.write(tmp_path / "grade" / "examples" / example / f"{module}.py", f"{module}.py")
        out = tmp_path / "otter" / example
        out.mkdir(parents=True)
        run = subprocess.run([str(OTTER), "run", "-a", str(tmp_path / "dist" / "autograder.zip"), "-o", str(out),
                              str(archive)], cwd=out, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        results = json.loads((out / "results.json").read_text())
        got = {t["name"]: float(t["score"]) for t in results["tests"] if "score" in t}
        assert got == pytest.approx(scores(lab, row), abs=0.006), example


def test_build_refuses_a_handout_that_shows_a_hidden_input(lab, tmp_path, settings):
    copy = copy_lab(lab, tmp_path / "lab")
    value = min(v for v in hidden_numbers(lab, settings) if float(v) > 0.01)
    readme = copy.assignment_dir / "README.md"
    readme.write_text(readme.read_text() + f"\nFor example z = {value}\n")
    printed = {f"{abs(float(m)):.6f}" for m in re.findall(r"-?\d+\.\d{6,}", readme.read_text())}
    assert value in printed & hidden_numbers(lab, settings)   # what the test above looks for
    run = cli(copy, "build", "--out", str(tmp_path / "dist"))
    assert run.returncode != 0 and "hidden case" in run.stderr
