"""Grading one submission: run every case in the sandbox, judge it in the parent, score it.

Scores: each question's points are shared among its functions (Question.functions); a
function's share is split equally among its cases. A case passes only when the call
returned, the value has the contract's form and numbers, the inputs are unchanged and (for
cases that say so) no warning was raised.
"""
import time
from dataclasses import dataclass, field

import numpy as np

from . import values
from .compare import Mismatch
from .sandbox.runner import walk_arrays  # the same walk names the runner's copies
from .sandbox.session import Session, StartFailure


@dataclass
class CaseResult:
    case: object
    passed: bool
    message: str = ""
    seconds: float = 0.0


@dataclass
class SubmissionResult:
    name: str
    scores: dict                      # question -> points earned
    possible: dict                    # question -> points possible
    cases: list = field(default_factory=list)
    status: str = "Completed"         # Otter's grading_status column
    isolation: str = ""
    seconds: float = 0.0

    @property
    def total(self):
        return round(sum(self.scores.values()), 2)

    @property
    def percent(self):
        """Otter's percent_correct: the ratio earned, rounded to 4 digits."""
        possible = sum(self.possible.values())
        return round(self.total / possible, 4) if possible else 0.0


def judge(case, expected, outcome, node, after, settings):
    """None when the case passes, else the message for the student."""
    if outcome.status == "error":
        if outcome.error and outcome.error.startswith("NotImplementedError"):
            return "not written yet (raises NotImplementedError)"
        return f"raised {outcome.error}"
    if outcome.status != "ok":
        return outcome.error
    try:
        problem = case.check.judge(case, node, expected, settings)
    except Mismatch as exc:
        problem = str(exc)
    if problem:
        return problem
    changed = inputs_changed(case, after)
    if changed:
        return f"modified its input {changed} in place; the contract says inputs stay unchanged"
    if case.warning_free and outcome.warnings:
        return f"raised a warning ({outcome.warnings[0]}); it must stay warning-free for |z| up to 1e3"
    return None


def inputs_changed(case, after):
    """The first array argument that is not what it was after a call that returned, or None.
    A copy that did not come back counts as changed: it cannot be shown unchanged."""
    for path, original in walk_arrays(list(case.args)):
        now = after.get(path)
        if now is None or now.shape != original.shape or not np.array_equal(now, original, equal_nan=True):
            return argument_name(path)
    return None


def argument_name(path):
    parts = path.split("_")[1:]
    return "argument " + str(int(parts[0]) + 1) + "".join(f"[{p}]" for p in parts[1:])


def grade(prepared, submission_dir, name, strategy, settings, scratch, slot=0, import_errors=None):
    """Grade one submission folder (already validated and copied read-only)."""
    started = time.monotonic()
    lab = prepared.lab
    session = Session(strategy, settings, submission_dir, prepared.cases_dir, lab.modules, scratch, slot)
    results, restarts, fatal = [], 0, None
    import_errors = dict(import_errors or {})
    try:
        for k, case in enumerate(prepared.cases):
            message, outcome_seconds = fatal, 0.0
            over_budget = time.monotonic() - started > settings.submission_budget
            if not message and case.module not in import_errors and not over_budget and not session.alive:
                message = fatal = start_sandbox(session, restarts, settings, import_errors)
                restarts += 1
            if message:
                pass
            elif case.module in import_errors:
                message = f"module {case.module}.py could not be imported: {import_errors[case.module]}"
            elif over_budget:
                message = f"not run: the submission used its {settings.submission_budget:g} s budget"
            elif prepared.gives[k] and not session.give(*prepared.gives[k]):
                message = "the sandbox stopped while loading the given helpers"
            else:
                outcome = session.run(k, case.timeout or settings.case_timeout)
                outcome_seconds = outcome.seconds
                try:
                    node, after = values.read_result(session.out_dir(k), settings.max_result_bytes) \
                        if outcome.status == "ok" else (values.MISSING, {})
                except ValueError as exc:
                    node, after = values.MISSING, {}
                    outcome.status, outcome.error = "crash", str(exc)
                message = judge(case, prepared.expected[k], outcome, node, after, settings)
            results.append(CaseResult(case, message is None, message or "", outcome_seconds))
    finally:
        session.close()
    scores = score(prepared, results)
    status = "Completed" if not fatal else f"Completed with errors: {fatal}"
    if import_errors:
        first = [m for m in lab.modules if m in import_errors][0]
        status = f"Completed with errors: {first}.py: {import_errors[first]}"
    return SubmissionResult(name, scores, lab.points, results, status, strategy.name,
                            time.monotonic() - started)


def start_sandbox(session, restarts, settings, import_errors):
    """(Re)start the sandbox; None when it runs, else why no later case can run.
    Import errors it reports join `import_errors` ("missing" beats "cannot import")."""
    if restarts > settings.restarts:
        return "not run: the sandbox had to be restarted too many times"
    try:
        for module, error in session.start().items():
            import_errors.setdefault(module, error)
    except StartFailure as exc:
        return str(exc)
    return None


def score(prepared, results):
    """Points per question (see the module docstring)."""
    per_function = {}
    for r in results:
        per_function.setdefault(r.case.function, []).append(r.passed)
    scores = {q.name: 0.0 for q in prepared.lab.questions}
    for function, passed in per_function.items():
        question = prepared.lab.question_of(function)
        scores[question] += prepared.shares[function] * sum(passed) / len(passed)
    return {q: round(s, 2) for q, s in scores.items()}
