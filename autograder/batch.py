"""Grading many submissions: once-per-batch preparation, parallel sandboxes, resumable output.

Layout of --out DIR:
  grades.csv                    Otter's final_grades.csv layout, rewritten after every submission
  report.png                    the class at a glance (written at the end)
  submissions/<name>/results.json, feedback.txt, row.json
A submission whose row.json exists is not graded again unless `rerun` is set, so an
interrupted batch resumes where it stopped. The same scores come out at any -j.
"""
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from . import report, submission
from .grading import SubmissionResult, grade
from .labs import prepare
from .sandbox import cleanup, isolation
from .sandbox.session import copy_runner, kill_all


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
    """Grade every submission in `sources` into `out`; returns the grades.csv rows (one for
    every submission, whatever happens to it). report_png=False skips the class report (the
    Otter plugin grades one submission at a time)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    strategy = isolation.choose(settings.isolation, settings)
    log(f"isolation: {strategy.name}" + (f" (warning: {strategy.warning})" if strategy.warning else ""))
    if strategy.shares_host:
        os.chmod(out, 0o700)  # student code shares the host's files: grades and feedback are ours only
        exposed = isolation.hidden_material_problems([lab.reference_dir])
        if exposed:
            log(f"warning: hidden material is readable by other users: {', '.join(exposed)} (chmod -R go-rwx it)")
    jobs = jobs or settings.workers or os.cpu_count() or 1
    workspace = Path(tempfile.mkdtemp(prefix="autograder-", dir=scratch_root(settings)))
    os.chmod(workspace, 0o711)
    names = unique_names(sources)
    rows = [None] * len(sources)
    results = [None] * len(sources)
    previous = signal.signal(signal.SIGTERM, interrupt) if is_main_thread() else None
    try:
        prepared = prepare(lab, settings)
        runner = copy_runner(workspace / "runner")
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
        context = (prepared, strategy, settings, workspace, runner)
        unsaved, left = [], []
        try:
            for i, result in graded_in_turn(context, [(i, sources[i], names[i]) for i in todo], jobs):
                results[i] = result
                rows[i] = report.csv_row(result)
                left += result.left
                if not save(out, result, prepared, rows[i]):
                    unsaved.append(i)
                save_grades(out, lab, rows)
                if bar:
                    bar.step(result.name, f"{result.total:g} points in {result.seconds:.2f} s")
        except KeyboardInterrupt:
            kill_all()
            save_grades(out, lab, rows)
            log(f"\ninterrupted: {sum(r is not None for r in rows)} submission(s) graded are saved in {out}")
            raise
        for i in unsaved:   # a disk that was full a moment ago (and was freed when its sandbox closed)
            save(out, results[i], prepared, rows[i])
        if not save_grades(out, lab, rows):
            raise OSError(f"could not write {out / 'grades.csv'}")
        graded = [r for r in results if r is not None]
        if graded and report_png:
            report.report_png(out / "report.png", prepared, graded)
        log(summary(rows))
        for path in sorted(set(left + cleanup.left_behind())):
            log(f"warning: could not remove {path}")
        return rows
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if not cleanup.remove_tree(workspace):
            log(f"warning: could not remove the batch's working folder {workspace}")


def summary(rows):
    """One line: how many submissions were graded, with errors, not graded."""
    statuses = [r["grading_status"] for r in rows if r]
    errors = sum(s.startswith("Completed with errors") for s in statuses)
    not_graded = sum(s.startswith("Not graded") for s in statuses)
    return (f"{len(statuses)} submission(s): {len(statuses) - errors - not_graded} graded, "
            f"{errors} with errors, {not_graded} not graded")


def interrupt(signum, frame):
    """SIGTERM ends a batch like Ctrl-C: sandboxes killed, the working folder removed."""
    raise KeyboardInterrupt


def is_main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


def save(out, result, prepared, row):
    """Write one submission's files; False when the disk refused (tried again at the end)."""
    try:
        save_submission(out, result, prepared, row)
        return True
    except OSError:
        return False


def save_grades(out, lab, rows):
    try:
        report.write_atomic(out / "grades.csv", report.grades_csv(lab.questions, [r for r in rows if r]))
        return True
    except OSError:
        return False


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
    prepared, strategy, settings, workspace, runner = context
    _WORKER.update(prepared=prepared, strategy=strategy, settings=settings, workspace=workspace,
                   runner=runner, slot=slot)


def grade_in_worker(source, name, slim=True):
    w = _WORKER
    result = grade_one(w["prepared"], source, name, w["strategy"], w["settings"], w["workspace"] / f"slot{w['slot']}",
                       w["runner"], w["slot"])
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


def grade_one(prepared, source, name, strategy, settings, scratch, runner, slot):
    """One submission, never raising: whatever goes wrong becomes its row's status."""
    lab = prepared.lab
    scratch = Path(scratch)

    def zero(status):
        return SubmissionResult(name, {q.name: 0.0 for q in lab.questions}, lab.points, [], status, strategy.name)

    try:
        cleanup.remove_tree(scratch)
        scratch.mkdir(parents=True)
        os.chmod(scratch, 0o711)
        sub = submission.load(source, lab.modules, scratch / "submission")
        result = grade(prepared, sub, name, strategy, settings, scratch, runner, slot)
    except submission.SubmissionError as exc:
        result = zero(f"Not graded: {exc}")
    except Exception as exc:  # an engine bug must not stop the batch; it is reported, not hidden
        result = zero(f"Not graded: internal error ({type(exc).__name__}); grade it again or report it")
    cleanup.remove_tree(scratch)
    result.left = cleanup.left_behind()
    return result


def save_submission(out, result, prepared, row):
    folder = out / "submissions" / result.name
    report.write_atomic(folder / "results.json", json.dumps(report.results_json(result, prepared), indent=1))
    report.write_atomic(folder / "feedback.txt", report.feedback_text(result, prepared))
    report.write_atomic(folder / "row.json", json.dumps(row))
