"""Grading many submissions: once-per-batch preparation, parallel sandboxes, resumable output.

Layout of --out DIR:
  grades.csv                    Otter's final_grades.csv layout, rewritten after every submission
  report.png                    the class at a glance (written at the end)
  report.html                   the class in one self-contained page: sortable grades, each
                                student's feedback, histogram, pass rates, common mistakes
  submissions/<folder>/results.json, feedback.txt, row.json
Each submission is named by its path relative to the common root of the submissions
(autograder.roster). A submission whose row.json holds the same content key is not graded
again unless `rerun` is set, so an interrupted batch resumes where it stopped and a submission
replaced in place is graded again. grades.csv holds every submission graded in --out, whichever
subset a command named. The same scores come out at any -j.
"""
import hashlib
import json
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from . import intake, report, report_html, roster, submission
from .catalogue import Catalogue
from .grading import SubmissionResult, grade
from .labs import prepare
from .sandbox import cgroups, cleanup, isolation
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


def read_in(sources, lab_files, log, before=None):
    """[(Identity, Intake or SubmissionError, key)] for every source, read in the parent:
    the key (what resume compares) is the content the grade depends on. `before`: the rows
    already in --out, whose names a submission graded again keeps."""
    known = {row["path"]: (row["file"], folder, row.get("source", row["file"])) for folder, row in (before or {}).items()
             if isinstance(row.get("path"), str)}
    out = []
    for identity in roster.identities(sources, log, known):
        try:
            taken = intake.take(identity.path, lab_files)
            key = taken.key
        except intake.SubmissionError as exc:
            taken, key = exc, error_key(identity.path, str(exc))
        out.append((identity, taken, key))
    return out


def error_key(path, message):
    """The key of a submission that cannot be read: its bytes (a file) and why."""
    digest = hashlib.sha256(message.encode())
    try:
        if Path(path).is_file() and not Path(path).is_symlink():
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    except OSError:
        pass
    return "error:" + digest.hexdigest()


def previous_rows(out):
    """{folder: row} of every submission already graded in `out` (rows without a folder are old)."""
    rows = {}
    for row_file in sorted((out / "submissions").glob("*/row.json")):
        try:
            row = json.loads(row_file.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(row, dict) and "file" in row:
            rows[row_file.parent.name] = row
    return rows


def grade_batch(lab, sources, out, settings, jobs=None, rerun=False, log=print, progress=True, report_png=True):
    """Grade every submission in `sources` into `out`; returns this command's grades.csv rows
    (one for every submission, whatever happens to it), while grades.csv holds every
    submission graded in `out`. A submission is skipped when `out` holds its row with the same
    content key (autograder.intake), unless `rerun`. report_png=False skips the class reports,
    report.png and report.html (the Otter plugin grades one submission at a time); they show
    the submissions this command graded."""
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
    previous = signal.signal(signal.SIGTERM, interrupt) if is_main_thread() else None
    try:
        before = previous_rows(out)
        taken = read_in(sources, intake.LabFiles.of(lab), log, before)
        rows = [None] * len(taken)
        results = [None] * len(taken)
        feedback = [None] * len(taken)
        mine = {identity.folder for identity, _, _ in taken}
        others = [row for folder, row in before.items() if folder not in mine]
        todo, changed = [], 0
        for i, (identity, _, key) in enumerate(taken):
            old = before.get(identity.folder)
            if old is not None and not rerun and old.get("key") == key:
                rows[i] = old
                continue
            changed += old is not None and not rerun
            todo.append(i)
        skipped = len(taken) - len(todo)
        if skipped:
            log(f"skipping {skipped} submission(s) already graded in {out} with the same content (use --rerun to grade them again)")
        if changed:
            log(f"grading {changed} submission(s) again: their content changed since they were graded")
        prepared = prepare(lab, settings)
        words = lab.words(settings.lang)
        runner = copy_runner(workspace / "runner")
        bar = Progress(len(todo)) if progress and todo else None
        context = (prepared, strategy, settings, workspace, runner)
        unsaved, left = [], []
        every = lambda: sorted([*others, *(r for r in rows if r)], key=lambda r: str(r["file"]))
        try:
            for i, result in graded_in_turn(context, [(i, *taken[i]) for i in todo], jobs):
                identity, _, key = taken[i]
                results[i] = result
                feedback[i] = report.feedback_text(result, prepared, words)
                rows[i] = {**report.csv_row(result, words), "source": identity.source, "folder": identity.folder, "key": key,
                           "path": os.path.realpath(identity.path)}
                left += result.left
                if not save(out, identity.folder, result, prepared, rows[i], feedback[i], words):
                    unsaved.append(i)
                save_grades(out, lab, every())
                if bar:
                    bar.step(result.name, f"{result.total:g} points in {result.seconds:.2f} s")
        except KeyboardInterrupt:
            kill_all()
            save_grades(out, lab, every())
            log(f"\ninterrupted: {sum(r is not None for r in rows)} submission(s) graded are saved in {out}")
            raise
        for i in unsaved:   # a disk that was full a moment ago (and was freed when its sandbox closed)
            save(out, taken[i][0].folder, results[i], prepared, rows[i], feedback[i], words)
        if not save_grades(out, lab, every()):
            raise OSError(f"could not write {out / 'grades.csv'}")
        graded = [i for i, r in enumerate(results) if r is not None]
        if graded and report_png:
            report.report_png(out / "report.png", prepared, [results[i] for i in graded], words)
            report_html.write(out / "report.html", prepared, [results[i] for i in graded], [feedback[i] for i in graded], words)
        log(summary(rows, words))
        for path in sorted(set(left + cleanup.left_behind())):
            log(f"warning: could not remove {path}")
        return rows
    finally:
        cgroups.release_all()   # the slots' cgroups of this process (each worker removes its own)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if not cleanup.remove_tree(workspace):
            log(f"warning: could not remove the batch's working folder {workspace}")


def summary(rows, words=None):
    """One line: how many submissions were graded, with errors, not graded (from each row's
    `state`, never from its status's words)."""
    states = Counter(r.get("state", "completed") for r in rows if r)
    words = words or Catalogue()
    return words.say("batch.summary", count=sum(states.values()), graded=states["completed"],
                     errors=states["errors"], not_graded=states["not_graded"])


def interrupt(signum, frame):
    """SIGTERM ends a batch like Ctrl-C: sandboxes killed, the working folder removed."""
    raise KeyboardInterrupt


def is_main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


def save(out, folder, result, prepared, row, feedback, words=None):
    """Write one submission's files; False when the disk refused (tried again at the end)."""
    try:
        save_submission(out / "submissions" / folder, result, prepared, row, feedback, words)
        return True
    except OSError:
        return False


def save_grades(out, lab, rows):
    try:
        report.write_atomic(out / "grades.csv", report.grades_csv(lab.questions, rows))
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------- workers
# Judging runs in Python in the parent, so threads would share one core (the GIL): with jobs > 1
# each worker is a forked process that inherits the prepared cases (expected values and the
# lab's checks are never pickled) and sends back its result with cases as numbers.
_WORKER = {}


def graded_in_turn(context, work, jobs):
    """Yield (i, SubmissionResult) for every (i, Identity, Intake or SubmissionError, key) of
    `work`, as each finishes."""
    prepared = context[0]
    if jobs <= 1 or len(work) <= 1:
        start_worker(context, multiprocessing.Value("i", 0))
        for i, identity, taken, _ in work:
            yield i, grade_in_worker(identity, taken, slim=False)
        return
    slots = multiprocessing.get_context("fork").Value("i", 0)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                             initializer=start_worker, initargs=(context, slots)) as pool:
        futures = {pool.submit(grade_in_worker, identity, taken): i for i, identity, taken, _ in work}
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
    multiprocessing.util.Finalize(None, cgroups.release_all, exitpriority=10)   # a worker's exit skips atexit
    _WORKER.update(prepared=prepared, strategy=strategy, settings=settings, workspace=workspace,
                   runner=runner, slot=slot)


def grade_in_worker(identity, taken, slim=True):
    w = _WORKER
    result = grade_one(w["prepared"], identity, taken, w["strategy"], w["settings"], w["workspace"] / f"slot{w['slot']}",
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


def grade_one(prepared, identity, taken, strategy, settings, scratch, runner, slot):
    """One submission (its Intake, or the SubmissionError that reading it raised), never
    raising: whatever goes wrong becomes its row's status."""
    lab = prepared.lab
    scratch = Path(scratch)
    name = identity.file

    def zero(refused):
        return SubmissionResult(name, {q.name: 0.0 for q in lab.questions}, lab.points, [], None, strategy.name,
                                refused=refused)

    try:
        cleanup.remove_tree(scratch)
        scratch.mkdir(parents=True)
        os.chmod(scratch, 0o711)
        if isinstance(taken, intake.SubmissionError):
            raise taken
        sub = submission.write(taken, name, identity.path, scratch / "submission")
        result = grade(prepared, sub, name, strategy, settings, scratch, runner, slot)
    except intake.SubmissionError as exc:
        result = zero(exc)
    except Exception as exc:  # an engine bug must not stop the batch; it is reported, not hidden
        result = zero(intake.SubmissionError("internal", error=type(exc).__name__))
    cleanup.remove_tree(scratch)
    result.left = cleanup.left_behind()
    return result


def save_submission(folder, result, prepared, row, feedback=None, words=None):
    """results.json, feedback.txt (`feedback`: report.feedback_text of the result, made here
    when not given) and row.json, in the catalogue's words."""
    report.write_atomic(folder / "results.json", json.dumps(report.results_json(result, prepared, words), indent=1,
                                                            ensure_ascii=False))
    report.write_atomic(folder / "feedback.txt", report.feedback_text(result, prepared, words) if feedback is None else feedback)
    report.write_atomic(folder / "row.json", json.dumps(row))
