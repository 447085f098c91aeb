"""The Otter-Grader plugin of autograder.zip: Otter hands the submission to the kit's engine.

autograder.zip's otter_config.json names it:

    {"plugins": [{"autograder.otter_plugin.KitGrader": {"lab": "lab17_backprop", "settings": {}}}]}

Otter runs every plugin event in its own (trusted) process, with cwd <ag>/submission:
- before_grading: moves everything the student submitted out of <ag>/submission into a private
  folder, and blanks the file Otter chose to execute. Otter's kernel starts with that folder as
  cwd and first entry of sys.path, so afterwards it can import nothing the student wrote, and
  Otter finds no submitted .OTTER_LOG to load with dill (it would, right after this event).
- before_execution: returns an empty notebook, so the kernel runs none of the student's cells.
- after_grading: grades the private copy with the engine: the same `batch.grade_batch` that
  `python -m autograder grade` runs (the engine copies only the .py files into the read-only
  sandbox input), then replaces Otter's results with one test per question worth the engine's
  points. It never raises: an exception in a plugin event leaves Otter without results.json, so
  a failure becomes 0 points and a message instead.
  With the "nobody" sandbox (Gradescope: root, no namespaces) it first makes <ag>/source
  readable by root only, and refuses to grade while the lab's hidden material is still
  readable by other users.
- generate_report: the engine's log (isolation, warnings), printed by Otter after grading.

Where the engine is imported from: on Gradescope, run_otter.py runs from <ag>/source, so the
engine in the zip (source/autograder/) is imported; under `otter run`, Otter imports plugins
without adding source/ to sys.path, so the kit must be installed (`pip install -e .`). In both
cases the lab (questions, reference, hidden cases) is read from the zip's source/solutions/.

Otter's own tests (tests/<question>.py in the zip) are placeholders that fail: if the plugin
did not run, every question scores 0, never full marks.
"""
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.run.run_autograder.utils import OtterRuntimeError
from otter.test_files import GradingResults, OKTestFile, TestCase, TestCaseResult

from . import batch, config, labs
from .sandbox import cleanup, isolation

PLUGIN_NAME = "autograder.otter_plugin.KitGrader"
SUBMISSION_NAME = "submission"     # the engine's name for the one submission (grades.csv `file`)
OTTER_OWN = {"tests", "__init__.py"}   # what Otter itself puts in <ag>/submission (from source/tests, empty)
PRESTASH = "kit-submission"   # <ag>/kit-submission: where run_autograder moved the upload before Otter started


def protect(folder):
    """chmod -R go-rwx: the hidden material becomes unreadable to the sandbox's unprivileged uid."""
    folder = Path(folder)
    if not folder.exists():
        return
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & 0o700)
    os.chmod(folder, stat.S_IMODE(folder.stat().st_mode) & 0o700)


def blank(path):
    """Overwrite the file Otter executes with nothing runnable."""
    path = Path(path)
    if path.suffix == ".ipynb":
        nbformat.write(empty_notebook(), str(path))
    elif path.exists():
        path.write_text("")


def empty_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def question_tests(lab, row, kit):
    """{question: (test cases, case results)} from the engine's results.json (`kit`): one Otter
    test case per group of the engine's tests ("question: function (public|hidden cases)"),
    hidden when the group is hidden, worth the group's points."""
    groups = {q.name: [] for q in lab.questions}
    for test in kit.get("tests", []):
        question = test["name"].split(":", 1)[0]
        if question not in groups:
            raise ValueError(f"the engine's results name an unknown question: {test['name']!r}")
        groups[question].append(test)
    out = {}
    for q in lab.questions:
        cases, results = [], []
        tests = groups[q.name]
        if not tests:  # not graded at all: one failed case worth the question
            tests = [{"name": f"{q.name}: not graded", "score": 0, "max_score": q.points,
                      "visibility": "visible", "output": row.get("grading_status", "not graded")}]
        points = [float(t["max_score"]) for t in tests]
        last = max(i for i, p in enumerate(points) if p > 0 or i == 0)
        points[last] = q.points - sum(p for i, p in enumerate(points) if i != last)  # exact total despite the engine's rounding
        for test, worth in zip(tests, points):
            case = TestCase(name=test["name"], body="", hidden=test.get("visibility") == "hidden",
                            points=worth, success_message=None, failure_message=None)
            passed = float(test["score"]) >= float(test["max_score"]) - 1e-9 and test.get("status") != "failed"
            cases.append(case)
            results.append(TestCaseResult(test_case=case, message=test.get("output", ""), passed=passed))
        out[q.name] = (cases, results)
    return out


def fill_results(results, lab, row, kit):
    """Replace Otter's GradingResults with the engine's: one test file per question, scored
    exactly as grades.csv's row (`row`), with the engine's per-group feedback (`kit`)."""
    files = {}
    for name, (cases, case_results) in question_tests(lab, row, kit).items():
        test_file = OKTestFile(name, f"tests/{name}.py", cases, all_or_nothing=False)
        test_file.test_case_results = case_results
        test_file.update_score(float(row[name]))
        files[name] = test_file
    results.results = files
    results._catastrophic_error = None
    results.set_output(kit.get("output", ""))
    results.set_plugin_data(PLUGIN_NAME, {"scores": {q.name: float(row[q.name]) for q in lab.questions},
                                          "grading_status": row.get("grading_status", "")})
    return results


def fill_failure(results, questions, message):
    """Every question 0 points, with `message` (the engine could not grade)."""
    files = {}
    for name, points in questions.items():
        case = TestCase(name=f"{name}: not graded", body="", hidden=False, points=points,
                        success_message=None, failure_message=None)
        test_file = OKTestFile(name, f"tests/{name}.py", [case], all_or_nothing=False)
        test_file.test_case_results = [TestCaseResult(test_case=case, message=message, passed=False)]
        test_file.update_score(0)
        files[name] = test_file
    results.results = files
    results._catastrophic_error = None
    results.set_output(f"Not graded: {message}")
    return results


def otter_results(lab, out, name, results=None):
    """Otter's GradingResults for the submission in submissions/`name` that `batch.grade_batch` (what
    `python -m autograder grade` runs) graded into `out`: filled from the same row.json and
    results.json, so Otter reports exactly grade's per-question scores."""
    folder = Path(out) / "submissions" / name
    row = json.loads((folder / "row.json").read_text())
    kit = json.loads((folder / "results.json").read_text())
    return fill_results(results if results is not None else GradingResults([]), lab, row, kit)


def graded_source(stash):
    """What to hand the engine: the stash folder, or the one zip in it when it holds no .py file
    (a zip uploaded as is); the engine reads either with its own limits."""
    stash = Path(stash)
    if not any(p.suffix == ".py" for p in stash.rglob("*")):
        zips = [p for p in stash.iterdir() if p.suffix == ".zip" and p.is_file()]
        if len(zips) == 1:
            return zips[0]
    return stash


class KitGrader(AbstractOtterPlugin):
    """See the module docstring. plugin_config: {"lab": NAME, "settings": {name: value}}."""

    def __init__(self, submission_path, submission_metadata, plugin_config):
        super().__init__(submission_path, submission_metadata, plugin_config)
        self.log = []
        self.stash = None
        self.problem = None
        config_ = plugin_config or {}
        self.lab_name = config_.get("lab")
        self.zip_settings = dict(config_.get("settings") or {})

    # -- where things are ----------------------------------------------------------------
    @property
    def submission_dir(self):
        return Path(self.submission_path).resolve().parent

    @property
    def source_dir(self):
        return self.submission_dir.parent / "source"

    def solutions_dir(self):
        """The zip's solutions/ when it holds the lab, else the installed kit's."""
        own = self.source_dir / "solutions"
        return own if (own / (self.lab_name or "") / "grading.py").exists() else None

    def settings(self):
        return config.from_environment(config.DEFAULTS.with_overrides(**self.zip_settings))

    # -- Otter's events ------------------------------------------------------------------
    def before_grading(self, otter_config):
        """Take the student's files out of Otter's reach (see the module docstring)."""
        try:
            self.stash = Path(tempfile.mkdtemp(prefix="kit-submission-")) / SUBMISSION_NAME
            self.stash.mkdir()
            placeholders = set(os.listdir(self.source_dir / "files")) if (self.source_dir / "files").is_dir() else set()
            chosen = Path(self.submission_path).name
            prestash = self.submission_dir.parent / PRESTASH
            if prestash.is_dir() and not prestash.is_symlink():   # Gradescope: the whole upload, as it came
                for entry in os.listdir(prestash):
                    shutil.move(str(prestash / entry), str(self.stash / entry))
                prestash.rmdir()
            for entry in os.listdir(self.submission_dir):
                if entry in OTTER_OWN or entry in placeholders:
                    continue
                shutil.move(str(self.submission_dir / entry), str(self.stash / entry))
            if (self.submission_dir / chosen).exists():
                blank(self.submission_dir / chosen)
            (self.submission_dir / "__init__.py").write_text("")   # Otter only appends to a submitted one
            otter_config.grade_from_log = False
        except Exception as exc:
            # fail closed: Otter writes results.json ("Autograder Error") and starts no kernel
            raise OtterRuntimeError(f"the kit's plugin could not set the submission aside: {type(exc).__name__}: {exc}") from exc

    def before_execution(self, submission):
        """Nothing of the student runs in Otter's kernel."""
        if isinstance(submission, str):
            return ""
        return empty_notebook()

    def after_grading(self, results):
        questions = {name: tf.possible for name, tf in results.results.items()}
        try:
            lab = labs.load_lab(self.lab_name, solutions=self.solutions_dir())
            questions = {q.name: q.points for q in lab.questions}
            self.grade(lab, results)
        except Exception as exc:  # never raise from a plugin event: no results.json otherwise
            self.problem = f"internal error {type(exc).__name__}: {exc}"
            self.log.append(f"not graded: {self.problem}")
            if questions:
                fill_failure(results, questions, self.problem)
            else:
                results.set_output(f"Not graded: {self.problem}")
        finally:
            if self.stash is not None:
                cleanup.remove_tree(self.stash.parent)

    def generate_report(self):
        return "\n".join(["Kit engine (autograder.otter_plugin.KitGrader):", *("  " + line for line in self.log)])

    # -- grading -------------------------------------------------------------------------
    def grade(self, lab, results):
        """Grade the stashed submission with the engine into Otter's `results`."""
        if self.stash is None:
            raise RuntimeError("before_grading did not run: nothing was set aside to grade")
        settings = self.settings()
        strategy = isolation.choose(settings.isolation, settings)
        self.log.append(f"engine: {Path(batch.__file__).parent}; lab: {lab.reference_dir}")
        if strategy.name == "nobody":
            protect(self.source_dir)
            exposed = isolation.hidden_material_problems([lab.reference_dir])
            if exposed:
                raise RuntimeError(f"hidden material is readable by other users: {', '.join(exposed)}")
            installed = labs.SOLUTIONS
            if installed.exists() and installed.resolve() != lab.reference_dir.parent.resolve():
                for folder in isolation.hidden_material_problems([installed]):
                    self.log.append(f"warning: the installed kit's {folder} is readable by other users (chmod -R go-rwx it)")
        source = graded_source(self.stash)
        with tempfile.TemporaryDirectory(prefix="kit-out-") as out:
            rows = batch.grade_batch(lab, [source], out, settings.with_overrides(isolation=strategy.name),
                                     jobs=1, log=self.log.append, progress=False, report_png=False)
            otter_results(lab, out, rows[0]["folder"], results)
        row = rows[0]
        self.log.append(f"scores: {', '.join(f'{q.name} {row[q.name]:g}' for q in lab.questions)}; "
                        f"total {row['total_points_earned']:g}; {row['grading_status']}")
