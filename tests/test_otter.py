"""autograder.zip under Otter: `otter run` scores like `python -m autograder grade`.

- The plugin's scoring path (autograder.otter_plugin.otter_results: the engine's output -> Otter's
  GradingResults -> Gradescope's results.json) gives grade's per-question scores for the
  reference, the skeleton and every mistake of the bank, with hidden cases only in hidden tests.
  Every submission is graded once by `grade` (as zips), and the plugin reads what grade wrote.
- The plugin's events, called directly on Otter's layout: the student's files leave Otter's
  submission folder before Otter's kernel starts or reads .OTTER_LOG, the kernel gets an empty
  notebook, and a failure gives 0 points and a message instead of an exception.
- `otter run -a autograder.zip SUB` (a real Jupyter kernel, ~4 s each) on the reference (zipped
  inside a folder, beside an ipykernel_launcher.py and a planted .OTTER_LOG that plain Otter
  would execute), the skeleton and 8 mistakes spread over the bank agrees with grade.
- The student's round trip: the handout notebook's grader.check cells and its grader.export cell
  produce a zip (notebook + four modules) that both `grade` and `otter run` grade at 100; a plain
  folder of the four modules grades under `grade` (`otter run` takes one file: zip the folder).
"""
import contextlib
import csv
import importlib.util
import json
import os
import re
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder import cli, otter_plugin
from autograder.config import DEFAULTS
from autograder.sandbox import isolation
from autograder.skeleton import skeleton_files, strip_markers

nbformat = pytest.importorskip("nbformat")
from otter.run import AutograderConfig              # noqa: E402
from otter.test_files import GradingResults          # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "lab17_backprop.ipynb"
SAMPLE_SIZE = 8
OTTER = Path(sys.executable).with_name("otter")


# ---------------------------------------------------------------------------- fixtures
# Scratch files on tmpfs when there is one: on a disk, creating and deleting the thousands of
# small files a batch writes (case inputs and results) takes most of its time.
FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@contextlib.contextmanager
def fast_scratch():
    with pytest.MonkeyPatch.context() as patch:
        if FAST_TMP:
            patch.setattr(tempfile, "tempdir", FAST_TMP)
        yield


def scratch_env():
    return {**os.environ, **({"TMPDIR": FAST_TMP} if FAST_TMP else {})}


def load_bank(lab):
    spec = importlib.util.spec_from_file_location("_bank_for_otter_tests", lab.reference_dir / "mistakes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_zip(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    assert cli.main(["build", "--out", str(out)]) == 0
    return out


class Planted:
    """A pickle that creates a file when loaded: what Otter would do with a submitted .OTTER_LOG
    (dill.load in its own process) if the plugin did not set it aside first."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def hostile_extras(folder):
    """Files beside the modules that would run student code in Otter's kernel (started with the
    submission folder first on sys.path) and in Otter's own process, without the plugin."""
    return {"ipykernel_launcher.py": f"open({str(folder / 'KERNEL_RAN_STUDENT_CODE')!r}, 'w')\nraise SystemExit(3)\n",
            ".OTTER_LOG": pickle.dumps(Planted(folder / "OTTER_LOG_WAS_LOADED"))}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory, lab):
    """{name: zip}: the reference (inside a folder, beside hostile files), the skeleton and every
    mistake of the bank."""
    folder = tmp_path_factory.mktemp("submissions")
    reference = {m: strip_markers((lab.reference_dir / f"{m}.py").read_text()) for m in lab.modules}
    zips = {"reference": write_zip(folder / "reference.zip", {f"my_lab17/{m}.py": t for m, t in reference.items()}
                                   | hostile_extras(folder)),
            "skeleton": write_zip(folder / "skeleton.zip", skeleton_files(lab.reference_dir, lab.modules))}
    bank = load_bank(lab)
    for mistake in bank.MISTAKES:
        sources = bank.apply(mistake.edits, reference)
        zips[mistake.name] = write_zip(folder / f"{mistake.name}.zip", {f"{m}.py": t for m, t in sources.items()})
    return zips


@pytest.fixture(scope="module")
def graded(submissions, tmp_path_factory):
    """`python -m autograder grade` on every submission: (output folder, {name: grades.csv row})."""
    out = tmp_path_factory.mktemp("graded")
    with fast_scratch():
        assert cli.main(["grade", *map(str, submissions.values()), "--out", str(out)]) == 0
    with open(out / "grades.csv") as f:
        rows = {row["file"]: row for row in csv.DictReader(f)}
    return out, {name: rows[path.name] for name, path in submissions.items()}


def per_question(results_json):
    return {t["name"]: float(t["score"]) for t in results_json["tests"] if "score" in t}


def expected_scores(lab, row):
    return {q.name: float(row[q.name]) for q in lab.questions}


SUMMARY_LINE = re.compile(r"^\s*(\w+: lost [\d.e+-]+ of [\d.e+-]+ points; \d+ of \d+ hidden cases? failed"
                          r"|Hidden cases that lost points \(their values are not shown\):"
                          r"|\w+: hidden cases \(summary\) result:)$")


def check_visibility(lab, results_json):
    """Students see the public tests, and of the hidden ones only the summary lines (which
    function lost how many points, no values); the question tests are hidden."""
    tests = {t["name"]: t for t in results_json["tests"]}
    assert tests["Public Tests"]["visibility"] == "visible"
    for line in tests["Public Tests"]["output"].split("\n"):
        if "hidden" in line.lower():
            assert SUMMARY_LINE.match(line), line
    for q in lab.questions:
        assert tests[q.name]["visibility"] == "hidden"
        assert tests[q.name]["max_score"] == q.points


# ---------------------------------------------------------------------------- the plugin's scoring path
def test_plugin_scores_every_mistake_like_grade(graded, submissions, lab):
    out, rows = graded
    assert len(rows) >= 40
    differ = {}
    for name, path in submissions.items():
        results = otter_plugin.otter_results(lab, out, path.name)
        gradescope = results.to_gradescope_dict(AutograderConfig({}))
        check_visibility(lab, gradescope)
        got, want = per_question(gradescope), expected_scores(lab, rows[name])
        if got != want or abs(results.total - float(rows[name]["total_points_earned"])) > 1e-9:
            differ[name] = (got, want)
        for question, test_file in results.results.items():
            hidden = [tc for tc in test_file.test_cases if tc.hidden]
            public = [tc for tc in test_file.test_cases if not tc.hidden]
            assert hidden and public, (name, question)
            assert all("(hidden cases)" in tc.name for tc in hidden)
    assert differ == {}
    assert rows["reference"]["total_points_earned"] == "100" and rows["skeleton"]["total_points_earned"] == "0"


def test_a_student_who_lost_only_hidden_points_sees_which_function_on_gradescope(graded, submissions, lab):
    """show_hidden off (the default): the visible Public Tests still name every function that
    lost points in hidden cases, and how many, with no values."""
    out, rows = graded
    only_hidden = []
    for name, path in submissions.items():
        kit = json.loads((out / "submissions" / path.name / "results.json").read_text())
        public_lost = [t for t in kit["tests"] if t["visibility"] == "visible" and t["score"] < t["max_score"]]
        hidden_lost = [t for t in kit["tests"] if t["visibility"] == "hidden" and t["score"] < t["max_score"]]
        if hidden_lost and not public_lost:
            only_hidden.append((name, path, hidden_lost))
    assert len(only_hidden) >= 3
    for name, path, hidden_lost in only_hidden:
        gradescope = otter_plugin.otter_results(lab, out, path.name).to_gradescope_dict(AutograderConfig({}))
        visible = "\n".join(t["output"] for t in gradescope["tests"] if t["visibility"] == "visible")
        for test in hidden_lost:
            function = test["name"].split(": ")[1].split(" (")[0]
            lost = round(test["max_score"] - test["score"], 4)
            assert f"{function}: lost {lost:.3g} of {test['max_score']:.3g} points" in visible, (name, function)
        public = next(t for t in gradescope["tests"] if t["name"] == "Public Tests")
        assert public["status"] == "failed", name


# ---------------------------------------------------------------------------- the plugin's events
def otter_layout(base, dist, files):
    """<base>/autograder as `otter run` leaves it before the runner: source/ unpacked, the
    submission's files in submission/, then source/files and source/tests copied in."""
    ag = base / "autograder"
    (ag / "submission").mkdir(parents=True)
    (ag / "results").mkdir()
    with zipfile.ZipFile(dist / "autograder.zip") as archive:
        archive.extractall(ag / "source")
    for name, data in files.items():
        target = ag / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for path in (ag / "source" / "files").iterdir():
        shutil.copy(path, ag / "submission")
    shutil.copytree(ag / "source" / "tests", ag / "submission" / "tests")
    (ag / "submission" / "__init__.py").touch()
    return ag


def test_plugin_events_keep_student_code_out_of_otter(tmp_path, dist, lab, monkeypatch):
    reference = {f"{m}.py": strip_markers((lab.reference_dir / f"{m}.py").read_text()).encode() for m in lab.modules}
    hostile = {
        "ipykernel_launcher.py": b"raise SystemExit('student code ran in the kernel')\n",
        "traitlets.py": b"raise SystemExit('student code ran in the kernel')\n",
        "__init__.py": b"raise SystemExit('student code ran in the kernel')\n",   # Otter only appends to it
        "helper.pyc": b"sourceless bytecode is importable too",
        ".OTTER_LOG": b"not a dill pickle",
        NOTEBOOK: (lab.assignment_dir / NOTEBOOK).read_bytes(),
        "extra/notes.txt": b"a folder of the student's",
    }
    ag = otter_layout(tmp_path, dist, {**reference, **hostile})
    submission = ag / "submission"
    monkeypatch.chdir(submission)   # Otter's cwd during plugin events
    plugin = otter_plugin.KitGrader(str(submission / NOTEBOOK), {}, {"lab": lab.name, "settings": {}})
    plugin.before_grading(AutograderConfig({}))
    assert sorted(os.listdir(submission)) == sorted(["__init__.py", "tests", NOTEBOOK])
    assert (submission / "__init__.py").read_text() == ""
    assert nbformat.read(submission / NOTEBOOK, as_version=4).cells == []
    nb = plugin.before_execution(nbformat.read(str(lab.assignment_dir / NOTEBOOK), as_version=4))
    assert nb.cells == []
    assert plugin.before_execution("print('student')") == ""

    results = GradingResults([])
    with fast_scratch():
        plugin.after_grading(results)
    gradescope = results.to_gradescope_dict(AutograderConfig({}))
    assert per_question(gradescope) == {q.name: q.points for q in lab.questions}, plugin.log
    check_visibility(lab, gradescope)
    assert f"lab: {ag / 'source' / 'solutions' / lab.name}" in plugin.generate_report()
    assert not plugin.stash.parent.exists()


def test_plugin_failure_gives_zero_not_an_exception(tmp_path, dist, lab, monkeypatch):
    ag = otter_layout(tmp_path, dist, {"tlu.py": b"x = 1\n"})
    monkeypatch.chdir(ag / "submission")
    plugin = otter_plugin.KitGrader(str(ag / "submission" / NOTEBOOK), {}, {"lab": "no_such_lab"})
    plugin.before_grading(AutograderConfig({}))
    from otter.test_files import OKTestFile
    results = GradingResults([OKTestFile.from_file(str(ag / "submission" / "tests" / f"{q.name}.py")) for q in lab.questions])
    plugin.after_grading(results)   # must not raise: Otter would write no results.json
    gradescope = results.to_gradescope_dict(AutograderConfig({}))
    assert per_question(gradescope) == {q.name: 0.0 for q in lab.questions}
    assert "Not graded" in gradescope["output"] and "no_such_lab" in gradescope["output"]


def test_plugin_grades_a_zip_uploaded_as_is(tmp_path):
    stash = tmp_path / "submission"
    stash.mkdir()
    write_zip(stash / "upload.zip", {"tlu.py": "x = 1\n"})
    assert otter_plugin.graded_source(stash) == stash / "upload.zip"
    (stash / "tlu.py").write_text("x = 1\n")
    assert otter_plugin.graded_source(stash) == stash


# ---------------------------------------------------------------------------- otter run
def otter_available():
    if not OTTER.exists():
        return "no otter command next to this Python"
    probe = subprocess.run([sys.executable, "-c", "import autograder.otter_plugin"], cwd="/", capture_output=True)
    if probe.returncode:
        return "the kit is not installed (pip install -e .): Otter imports the plugin as an installed package"
    return None


def otter_run(autograder_zip, submission, out):
    out.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([str(OTTER), "run", "-a", str(autograder_zip), "-o", str(out), str(submission)],
                         cwd=out, capture_output=True, text=True, timeout=300, env=scratch_env())
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads((out / "results.json").read_text()), run.stdout


def sample(names):
    """The reference, the skeleton and SAMPLE_SIZE mistakes spread evenly over the bank."""
    mistakes = [n for n in names if n not in ("reference", "skeleton")]
    step = len(mistakes) / SAMPLE_SIZE
    return ["reference", "skeleton", *(mistakes[int(i * step)] for i in range(SAMPLE_SIZE))]


def parallel_runs():
    # under "nobody" every process would use slot 0's uid, whose processes each run kills
    return 1 if isolation.choose("auto", DEFAULTS).name == "nobody" else 2


@pytest.mark.slow
def test_otter_run_agrees_with_grade(dist, submissions, graded, lab, tmp_path):
    reason = otter_available()
    if reason:
        pytest.skip(reason)
    _, rows = graded
    names = sample(list(submissions))
    with ThreadPoolExecutor(parallel_runs()) as pool:
        runs = dict(zip(names, pool.map(lambda n: otter_run(dist / "autograder.zip", submissions[n], tmp_path / n), names)))
    table, differ = [], {}
    for name in names:
        results, stdout = runs[name]
        got, want = per_question(results), expected_scores(lab, rows[name])
        table.append(f"{name:45} otter {got}  grade {want}")
        if got != want:
            differ[name] = (got, want)
        check_visibility(lab, results)
        assert "Kit engine" in stdout
    print("\n".join(table))
    assert differ == {}
    folder = submissions["reference"].parent
    assert not (folder / "KERNEL_RAN_STUDENT_CODE").exists(), "Otter's kernel imported a file of the submission"
    assert not (folder / "OTTER_LOG_WAS_LOADED").exists(), "Otter loaded the submitted .OTTER_LOG"


@pytest.mark.slow
def test_notebook_export_round_trip(dist, lab, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    reason = otter_available()
    if reason:
        pytest.skip(reason)
    work = tmp_path / "student"
    shutil.copytree(dist / "student", work)
    for m in lab.modules:
        (work / f"{m}.py").write_text(strip_markers((lab.reference_dir / f"{m}.py").read_text()))
    nb = nbformat.read(work / NOTEBOOK, as_version=4)
    nb.cells = [c for c in nb.cells if c.cell_type == "code"
                and any(s in c.source for s in ("otter.Notebook(", "grader.check(", "grader.export("))]
    assert sum("grader.export(" in c.source for c in nb.cells) == 1
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(work)}}).execute()
    checks = [c for c in nb.cells if "grader.check(" in c.source]
    assert len(checks) == len(lab.questions)
    for cell in checks:
        shown = "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        assert "All test cases passed" in shown, (cell.source, cell.outputs)

    (exported,) = work.glob("lab17_backprop_*.zip")
    with zipfile.ZipFile(exported) as archive:
        names = set(archive.namelist())
    assert {NOTEBOOK, *(f"{m}.py" for m in lab.modules)} <= names

    folder = tmp_path / "folder_submission"
    folder.mkdir()
    for m in lab.modules:
        shutil.copy(work / f"{m}.py", folder)
    out = tmp_path / "graded"
    with fast_scratch():
        assert cli.main(["grade", str(exported), str(folder), "--out", str(out)]) == 0
    with open(out / "grades.csv") as f:
        rows = {row["file"]: row for row in csv.DictReader(f)}
    full = {q.name: q.points for q in lab.questions}
    # named by their paths relative to the arguments' common root (tmp_path)
    assert expected_scores(lab, rows[f"student/{exported.name}"]) == full
    assert expected_scores(lab, rows[folder.name]) == full

    results, _ = otter_run(dist / "autograder.zip", exported, tmp_path / "otter")
    assert per_question(results) == full
    check_visibility(lab, results)
