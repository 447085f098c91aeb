"""Grading one submission: run every case in the sandbox, judge it in the parent, score it.

Scores: each question's points are shared among its functions (Question.functions); a
function's share is split equally among its cases. A case passes only when the call
returned, the value has the contract's form and numbers, the inputs are unchanged (read from
the shared arena, not from anything the sandbox reports) and, for cases that say so, no
warning was raised. A case of a tuple result judged `partial` earns the share of its right
items; a right value that changed an input in place costs half of the function's points,
once, instead of failing every case.

Order and state: public cases run first, in a sandbox that has seen no hidden input, so a
public case's message (the only student text ever shown, one cleaned line) cannot carry a
hidden value. Each module is imported on its own with its own time limit; a module that
cannot be imported costs only the functions that need it. A function that timed out once
is not run again: its remaining cases fail at once with the same message.
"""
import ast
import time
from dataclasses import dataclass, field

import numpy as np

from . import compare, intake, text, values
from .compare import Mismatch
from .sandbox import wire
from .sandbox.runner import resolve
from .sandbox.session import Session

NOT_WRITTEN = "not written yet (raises NotImplementedError)"
CRASHED = "Python stopped during the call (os._exit, a signal or a resource limit)"


@dataclass
class CaseResult:
    case: object
    passed: bool
    message: str = ""
    seconds: float = 0.0
    credit: float = 0.0      # the share of the case earned: 1 when passed; a tuple's right items
    mutated: bool = False    # a right value, but an input was changed in place


@dataclass
class SubmissionResult:
    name: str
    scores: dict                      # question -> points earned
    possible: dict                    # question -> points possible
    cases: list = field(default_factory=list)
    status: str = "Completed"         # Otter's grading_status column
    isolation: str = ""
    seconds: float = 0.0
    left: list = field(default_factory=list)   # paths cleanup could not remove
    notes: list = field(default_factory=list)  # intake.Note: what the intake chose

    def __post_init__(self):
        self.status = text.status(self.status)

    @property
    def total(self):
        return round(sum(self.scores.values()), 2)

    @property
    def percent(self):
        """Otter's percent_correct: the ratio earned, rounded to 4 digits."""
        possible = sum(self.possible.values())
        return round(self.total / possible, 4) if possible else 0.0


def inputs_changed(case, after):
    """The first array argument that is not what it was after the call, or None."""
    for path, original in values.walk_arrays(list(case.args)):
        now = after.get(path)
        if now is None or now.shape != original.shape or not np.array_equal(now, original, equal_nan=True):
            return argument_name(case, path)
    return None


def argument_name(case, path):
    parts = path.split("_")[1:]
    index = int(parts[0])
    name = case.arg_names[index] if index < len(case.arg_names) else f"argument {index + 1}"
    return name + "".join(f"[{p}]" for p in parts[1:])


class Progress:
    """Which functions passed every case so far (their own helpers may then be used)."""

    def __init__(self, counts):
        self.counts, self.passed, self.failed = counts, {}, set()

    def record(self, function, passed):
        if passed:
            self.passed[function] = self.passed.get(function, 0) + 1
        else:
            self.failed.add(function)

    def own(self, function):
        return function not in self.failed and self.passed.get(function) == self.counts.get(function, -1)


class Grader:
    """One submission's grading: its sandbox, its modules, what timed out."""

    def __init__(self, prepared, submission, strategy, settings, scratch, runner, slot):
        self.prepared, self.settings, self.lab = prepared, settings, prepared.lab
        self.submission = submission
        self.session = Session(strategy, settings, submission.folder, scratch, runner, slot, prepared.arena_bytes)
        self.broken = dict(submission.problems)
        self.timed_out = {}
        self.progress = Progress(prepared.counts)
        self.restarts = 0
        self.fatal = None

    # -- the sandbox and the student's modules -------------------------------------------
    def ensure_started(self):
        """A running sandbox with every importable module imported; None, or why not."""
        while not self.session.alive:
            if self.restarts > self.settings.restarts:
                return "not run: the sandbox had to be restarted too many times"
            self.restarts += 1
            if not self.session.start():
                return "the sandbox did not start"
            for module in self.lab.modules:
                if module in self.broken:
                    continue
                outcome = self.session.import_module(module, self.settings.import_timeout, self.broken)
                if outcome.status != "ok":
                    self.broken[module] = self.import_problem(module, outcome)
                if not self.session.alive:
                    break   # timed out or crashed: start again without that module
        return None

    def import_problem(self, module, outcome):
        """Why `module` cannot be imported, in the parent's words."""
        if outcome.status == "timeout":
            return (f"{module}.py took longer than {self.settings.import_timeout:g} s to import: "
                    f"move demo code under `if __name__ == \"__main__\":`")
        if outcome.status == "crash":
            return f"{module}.py stopped Python while importing (sys.exit, os._exit or a resource limit)"
        try:
            source = (self.submission.folder / f"{module}.py").read_bytes()
            tree = ast.parse(source, f"{module}.py")
        except SyntaxError as exc:   # the parent's own compiler says where
            return f"{module}.py: {type(exc).__name__}: {text.one_line(exc.msg, 80)} (line {exc.lineno})"
        except (OSError, ValueError):
            tree = None
        imported = {alias.name for node in ast.walk(tree or ast.Module(body=[], type_ignores=[]))
                    for alias in getattr(node, "names", []) if isinstance(node, ast.Import)} | {
            node.module for node in ast.walk(tree or ast.Module(body=[], type_ignores=[]))
            if isinstance(node, ast.ImportFrom)}
        upstream = [m for m in self.lab.modules if m in self.broken and m in imported]
        if upstream and outcome.error_type in ("ImportError", "ModuleNotFoundError"):
            return f"{module}.py imports {upstream[0]}.py, which could not be imported"
        return f"{module}.py raised {text.exception_name(outcome.error_type)} while importing"

    # -- cases ---------------------------------------------------------------------------
    def run(self, case):
        """(message or None, seconds) for one case."""
        if self.fatal:
            return self.fatal, 0.0
        if case.function in self.timed_out:
            return self.timed_out[case.function], 0.0
        if case.module not in self.broken:
            self.fatal = self.ensure_started()
            if self.fatal:
                return self.fatal, 0.0
        if case.module in self.broken:
            return f"module {case.module}.py could not be imported: {self.broken[case.module]}", 0.0
        placed = values.place(self.session.arena.memory, case.args, case.kwargs)
        plan = self.prepared.planner.plan(case.given, case.function, self.progress.own)
        helpers = {name: self.reference_of(name) for name, mode in plan["names"].items() if mode == "call"}
        helpers.update(placed.callables)
        command = {"target": case.call_target(), "args": placed.args, "kwargs": placed.kwargs, "plan": plan}
        timeout = case.timeout or self.settings.case_timeout
        outcome = self.session.run(command, timeout, serve=lambda header, blobs: serve(helpers, header, blobs))
        after = values.inputs_after(self.session.arena.memory, placed)
        message = self.judge(case, outcome, after)
        if outcome.status == "timeout":
            self.timed_out[case.function] = message
        return message, outcome.seconds

    def reference_of(self, name):
        module, attr = name.split(".")
        return resolve(self.lab.reference(), {"module": module, "attr": attr})

    def judge(self, case, outcome, after):
        """None when the case passes, else the message for the student (the parent's words)."""
        if outcome.status == "error":
            if outcome.error_type == "NotImplementedError":
                return NOT_WRITTEN
            advice = compare.error_advice(f"{outcome.error_type}: {outcome.error_text}")  # fixed phrases only
            return (f"raised {text.exception_name(outcome.error_type)}" + student_line(case, outcome.error_text)
                    + (f". Likely mistake: {advice}" if advice else ""))
        if outcome.status == "timeout":
            return f"took longer than {case.timeout or self.settings.case_timeout:g} s: look for a loop that never ends"
        if outcome.status == "crash":
            return outcome.error_text and f"the sandbox stopped: {outcome.error_text}" or CRASHED
        try:
            node = values.result_value(outcome.result, outcome.blobs)
        except ValueError as exc:
            return f"returned a result that could not be read ({exc})"
        try:
            problem = case.check.judge(case, node, self.prepared.expected[case.number], self.settings)
        except Mismatch as exc:
            problem = str(exc)
        if problem:
            return problem
        changed = inputs_changed(case, after)
        if changed:
            return Mutated(f"modified its input {changed} in place (the value it returned is right): "
                           f"half of {case.name}'s points are deducted, once; inputs must stay unchanged")
        if case.warning_free and outcome.warnings:
            return f"raised {warning_text(case, outcome.warnings)}; it must stay warning-free"
        return None


class Mutated(str):
    """The message of a case whose value was right but which changed an input in place: it
    costs a fixed deduction, half of the function's points, once (see `score`)."""


def student_line(case, message):
    """At most one cleaned line of the student's own message, for a public case only."""
    if case.hidden or not isinstance(message, str):
        return ""
    line = text.one_line(message, text.MESSAGE_LIMIT)
    return f": {line}" if line else ""


def warning_text(case, warnings):
    first = warnings[0] if isinstance(warnings, list) and warnings else None
    if not (isinstance(first, list) and len(first) == 2):
        return "a warning"
    return text.warning_name(first[0]) + student_line(case, first[1])


def serve(helpers, header, blobs):
    """Run a given helper (the reference, or a test function) in the parent for the sandbox."""
    function = helpers.get(header.get("call"))
    if function is None:
        return {"error": "not a helper of this case"}, []
    try:
        args, kwargs = wire.decode(header.get("args"), blobs, wire.Limits(max_int=10 ** 7))
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise wire.WireError("malformed arguments")
        with np.errstate(all="ignore"):
            result = function(*args, **kwargs)
        out = []
        return {"error": None, "result": wire.encode(result, out)}, out
    except Exception as exc:  # bad arguments from student code: the helper raises there
        return {"error": type(exc).__name__}, []


def grade(prepared, submission, name, strategy, settings, scratch, runner, slot=0):
    """Grade one submission (already read and copied; see autograder.submission)."""
    started = time.monotonic()
    lab = prepared.lab
    grader = Grader(prepared, submission, strategy, settings, scratch, runner, slot)
    order = [c for c in prepared.cases if not c.hidden] + [c for c in prepared.cases if c.hidden]
    results = [None] * len(prepared.cases)
    try:
        for case in order:
            if time.monotonic() - started > settings.submission_budget:
                message, seconds = f"not run: the submission used its {settings.submission_budget:g} s budget", 0.0
            else:
                message, seconds = grader.run(case)
            grader.progress.record(case.function, message is None)
            credit = 1.0 if message is None or isinstance(message, Mutated) else getattr(message, "credit", 0.0)
            results[case.number] = CaseResult(case, message is None, str(message or "") if isinstance(message, Mutated)
                                              else message or "", seconds, credit, isinstance(message, Mutated))
    finally:
        grader.session.dispose()
    problems = [grader.broken[m] for m in lab.modules if m in grader.broken]
    status = status_line(grader.fatal or (problems[0] if problems else ""), submission.notes)
    return SubmissionResult(name, score(prepared, results), lab.points, results, status, strategy.name,
                            time.monotonic() - started, notes=list(submission.notes))


def status_line(problem, notes):
    """grading_status: "Completed" or "Completed with errors: <problem>", then what the intake
    chose (autograder.intake), most telling first: one line, cut by text.status."""
    head = f"Completed with errors: {problem}" if problem else "Completed"
    return "; ".join([head, *(intake.describe(n) for n in notes)])


def function_points(share, results):
    """A function's points from its cases: its share times the mean credit, less half of
    the share (once) when a case changed an input in place, never below 0."""
    earned = share * sum(r.credit for r in results) / len(results)
    if any(r.mutated for r in results):
        earned -= share / 2
    return max(0.0, earned)


def score(prepared, results):
    """Points per question (see the module docstring)."""
    per_function = {}
    for r in results:
        per_function.setdefault(r.case.function, []).append(r)
    scores = {q.name: 0.0 for q in prepared.lab.questions}
    for function, group in per_function.items():
        scores[prepared.lab.question_of(function)] += function_points(prepared.shares[function], group)
    return {q: round(s, 2) for q, s in scores.items()}
