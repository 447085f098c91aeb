"""Grading many submissions: once-per-batch preparation, parallel sandboxes, resumable output.

Layout of --out DIR:
  grades.csv                    Otter's final_grades.csv layout, rewritten after every submission
  report.png                    the class at a glance (written at the end)
  submissions/<name>/results.json, feedback.txt, row.json
A submission whose row.json exists is not graded again unless `rerun` is set, so an
interrupted batch resumes where it stopped. The same scores come out at any -j.
"""
import json
import os
import shutil
import sys
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from . import report, submission
from .grading import SubmissionResult, grade
from .labs import prepare
from .sandbox import isolation
from .sandbox.session import kill_all


class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.started = time.monotonic()
        self.tty = stream.isatty()

    def step(self, name, status):
        self.done += 1
        elapsed = time.monotonic() - self.started
        width = 30
        filled = int(width * self.done / max(1, self.total))
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                f"{elapsed / self.done:.2f} s each  {name}: {status}")
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def unique_names(sources):
    names, seen = [], {}
    for source in sources:
        base = Path(source).name or str(source)
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}~{seen[base]}")
    return names


def grade_batch(lab, sources, out, settings, jobs=None, rerun=False, log=print, progress=True, report_png=True):
    """Grade every submission in `sources` into `out`; returns the grades.csv rows.
    report_png=False skips the class report (the Otter plugin grades one submission at a time)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    strategy = isolation.choose(settings.isolation)
    log(f"isolation: {strategy.name}" + (f" (warning: {strategy.warning})" if strategy.warning else ""))
    if strategy.name == "nobody":
        os.chmod(out, 0o700)  # student code shares the host's files: grades and feedback are root's only
        exposed = isolation.hidden_material_problems([lab.reference_dir])
        if exposed:
            log(f"warning: hidden material is readable by other users: {', '.join(exposed)} (chmod -R go-rwx it)")
    jobs = jobs or settings.workers or os.cpu_count() or 1
    workspace = Path(tempfile.mkdtemp(prefix="autograder-", dir=scratch_root(settings)))
    os.chmod(workspace, 0o711)
    names = unique_names(sources)
    rows = [None] * len(sources)
    results = [None] * len(sources)
    try:
        prepared = prepare(lab, settings, workspace / "cases")
        make_readable(workspace / "cases")
        todo = []
        for i, (source, name) in enumerate(zip(sources, names)):
            row_file = out / "submissions" / name / "row.json"
            if row_file.exists() and not rerun:
                try:
                    rows[i] = json.loads(row_file.read_text())
                    continue
                except ValueError:
                    pass
            todo.append(i)
        if len(todo) < len(sources):
            log(f"skipping {len(sources) - len(todo)} submission(s) already graded in {out} (use --rerun to grade them again)")
        bar = Progress(len(todo)) if progress and todo else None
        context = (prepared, strategy, settings, workspace)
        try:
            for i, result in graded_in_turn(context, [(i, sources[i], names[i]) for i in todo], jobs):
                results[i] = result
                rows[i] = report.csv_row(result)
                save_submission(out, result, prepared, rows[i])
                report.write_atomic(out / "grades.csv", report.grades_csv(lab.questions, [r for r in rows if r]))
                if bar:
                    bar.step(result.name, f"{result.total:g} points in {result.seconds:.2f} s")
        except KeyboardInterrupt:
            kill_all()
            log(f"\ninterrupted: {sum(r is not None for r in rows)} submission(s) graded are saved in {out}")
            raise
        report.write_atomic(out / "grades.csv", report.grades_csv(lab.questions, [r for r in rows if r]))
        graded = [r for r in results if r is not None]
        if graded and report_png:
            report.report_png(out / "report.png", prepared, graded)
        return rows
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


# ---------------------------------------------------------------------------- workers
# Judging runs in Python in the parent, so threads would share one core (the GIL): with jobs > 1
# each worker is a forked process that inherits the prepared cases (expected values and the
# lab's checks are never pickled) and sends back its result with cases as numbers.
_WORKER = {}


def graded_in_turn(context, work, jobs):
    """Yield (i, SubmissionResult) for every (i, source, name) of `work`, as each finishes."""
    prepared = context[0]
    if jobs <= 1 or len(work) <= 1:
        start_worker(context, multiprocessing.Value("i", 0))
        for i, source, name in work:
            yield i, grade_in_worker(source, name, slim=False)
        return
    slots = multiprocessing.get_context("fork").Value("i", 0)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                             initializer=start_worker, initargs=(context, slots)) as pool:
        futures = {pool.submit(grade_in_worker, source, name): i for i, source, name in work}
        try:
            for future in as_completed(futures):
                result = future.result()
                for r in result.cases:
                    r.case = prepared.cases[r.case]   # the worker sent the case's number
                yield futures[future], result
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def start_worker(context, slots):
    """In each worker: the shared context and a sandbox slot of its own."""
    with slots.get_lock():
        slot = slots.value
        slots.value += 1
    prepared, strategy, settings, workspace = context
    _WORKER.update(prepared=prepared, strategy=strategy, settings=settings, workspace=workspace, slot=slot)


def grade_in_worker(source, name, slim=True):
    w = _WORKER
    result = grade_one(w["prepared"], source, name, w["strategy"], w["settings"], w["workspace"] / f"slot{w['slot']}", w["slot"])
    if slim:
        for r in result.cases:
            r.case = r.case.number
    return result


def scratch_root(settings):
    """Where the batch's working files go (Settings.scratch)."""
    if settings.scratch != "auto":
        return settings.scratch
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def make_readable(folder):
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)


def grade_one(prepared, source, name, strategy, settings, scratch, slot):
    """One submission, never raising: a broken one gets zeros and a clear grading_status."""
    lab = prepared.lab
    scratch = Path(scratch)
    if scratch.exists():
        shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    os.chmod(scratch, 0o711)
    try:
        sub = submission.load(source, lab.modules, scratch / "submission")
    except submission.SubmissionError as exc:
        return SubmissionResult(name, {q.name: 0.0 for q in lab.questions}, lab.points, [],
                                f"Not graded: {exc}", strategy.name)
    try:
        return grade(prepared, sub.folder, name, strategy, settings, scratch / "session", slot, sub.problems)
    except Exception as exc:  # an engine bug must not stop the batch; it is reported, not hidden
        return SubmissionResult(name, {q.name: 0.0 for q in lab.questions}, lab.points, [],
                                f"Not graded: internal error {type(exc).__name__}: {exc}", strategy.name)


def save_submission(out, result, prepared, row):
    folder = out / "submissions" / result.name
    report.write_atomic(folder / "results.json", json.dumps(report.results_json(result, prepared), indent=1))
    report.write_atomic(folder / "feedback.txt", report.feedback_text(result, prepared))
    report.write_atomic(folder / "row.json", json.dumps(row))
