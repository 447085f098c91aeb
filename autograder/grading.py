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

from . import compare, hidden, text, values
from .findings import Finding, Kind, Mismatch, finding
from .sandbox import wire
from .sandbox.runner import resolve
from .sandbox.session import Session

NOT_WRITTEN = finding(Kind.NOT_WRITTEN)
CRASHED = finding(Kind.CRASHED)
OUTCOME_UNBOUND = finding(Kind.UNBOUND)   # a right outcome, from code whose exact cases are wrong


@dataclass
class CaseResult:
    case: object
    passed: bool
    message: Finding | None = None   # None when it passed
    seconds: float = 0.0
    credit: float = 0.0      # the share of the case earned: 1 when passed; a tuple's right items
    mutated: bool = False    # a right value, but an input was changed in place
    tainted: bool = False    # a public case judged after hidden inputs entered the sandbox: words of a hidden one

    @property
    def misformed(self) -> float:
        """A right value in the wrong form (Kind.FORM): the share of the function deducted, else 0."""
        return self.message.param("share", 0.0) if self.message is not None and self.message.kind == Kind.FORM else 0.0

    @property
    def hidden_words(self):
        """Its message says only what a hidden case may say (autograder.hidden)."""
        return self.case.hidden or self.tainted


@dataclass
class SubmissionResult:
    name: str
    scores: dict                      # question -> points earned
    possible: dict                    # question -> points possible
    cases: list = field(default_factory=list)
    problem: Finding | None = None    # why some of it could not be graded (a module, the sandbox)
    isolation: str = ""
    seconds: float = 0.0
    left: list = field(default_factory=list)   # paths cleanup could not remove
    notes: list = field(default_factory=list)  # intake.Note: what the intake chose
    refused: Exception | None = None  # "Not graded": why it could not be read (an intake.SubmissionError)

    @property
    def state(self):
        """completed | errors | not_graded (the status's kind, never parsed from its words)."""
        return "not_graded" if self.refused else "errors" if self.problem is not None else "completed"

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
    """What is known of each function so far, from the cases judged (a case judged again
    replaces its first verdict)."""

    def __init__(self, counts):
        self.counts = counts
        self.verdicts = {}    # function -> {case number: (passed, where an exact case lost credit)}

    def record(self, case, passed, lost_at=None):
        """lost_at: where an exact case (not one judged by its outcome) lost credit: the
        returned item its finding names, "" for a failure that names none; None when it did not."""
        self.verdicts.setdefault(case.function, {})[case.number] = (passed, lost_at)

    def of(self, function):
        return list(self.verdicts.get(function, {}).values())

    @property
    def failed(self):
        return {f for f, cases in self.verdicts.items() if not all(passed for passed, _ in cases.values())}

    def unbound(self, function, items=None):
        """An exact case of `function` lost credit in `items` (a returned item, "result[0]",
        and what it holds; None: any), or without naming an item: an outcome does not count."""
        return any(lost is not None and (items is None or lost == "" or lost.startswith(items))
                   for _, lost in self.of(function))

    def done(self, function):
        """Every case of `function`, public and hidden, has been judged."""
        return len(self.verdicts.get(function, ())) >= self.counts.get(function, 0)

    def own(self, function):
        """The student's own function may stand in for the reference: every one of its cases
        judged so far passed (in the public phase, its public cases; later, all of them)."""
        verdicts = self.of(function)
        return bool(verdicts) and all(passed for passed, _ in verdicts)


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
        self.owned = set()   # the student's own functions the last case was given

    # -- the sandbox and the student's modules -------------------------------------------
    def ensure_started(self):
        """A running sandbox with every importable module imported; None, or why not."""
        while not self.session.alive:
            if self.restarts > self.settings.restarts:
                return finding(Kind.NOT_RUN, reason="restarts")
            self.restarts += 1
            if not self.session.start():
                return finding(Kind.NOT_RUN, reason="no_sandbox")
            for module in self.lab.modules:
                if module in self.broken:
                    continue
                outcome = self.session.import_module(module, self.settings.import_timeout, self.broken)
                if outcome.status != "ok":
                    self.broken[module] = self.import_problem(module, outcome)
                if not self.session.alive:
                    break   # timed out or crashed: start again without that module
        return None

    def import_problem(self, module, outcome, max_parse_bytes=128 << 10):
        """Why `module` cannot be imported, in the parent's words. The parent compiles the
        student's source only to say where a SyntaxError is, or which broken lab module an
        ImportError comes from, and only a file of at most `max_parse_bytes` (parsing costs
        about 800 bytes of memory and 3 us per byte of source: 128 KiB is some 100 MB and
        0.4 s at worst, and 20 times the largest module of the reference); a larger file, or
        one the compiler cannot hold (RecursionError, MemoryError), gets the generic line."""
        if outcome.status == "timeout":
            return finding(Kind.IMPORT, module=module, cause="timeout", seconds=self.settings.import_timeout)
        if outcome.status == "crash":
            return finding(Kind.IMPORT, module=module, cause="crash")
        tree = None
        wanted = outcome.error_type in ("SyntaxError", "IndentationError", "TabError") or (
            outcome.error_type in ("ImportError", "ModuleNotFoundError") and any(m in self.broken for m in self.lab.modules))
        try:
            if wanted:
                with open(self.submission.folder / f"{module}.py", "rb") as file:
                    source = file.read(max_parse_bytes + 1)
                if len(source) <= max_parse_bytes:
                    tree = ast.parse(source, f"{module}.py")
        except SyntaxError as exc:   # the parent's own compiler says where
            return finding(Kind.IMPORT, module=module, cause="syntax", error=type(exc).__name__,
                           message=text.one_line(exc.msg, 80), line=exc.lineno)
        except (OSError, ValueError, RecursionError, MemoryError):
            tree = None
        nodes = list(ast.walk(tree)) if tree is not None else []
        imported = {alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names} | {
            node.module for node in nodes if isinstance(node, ast.ImportFrom)}
        upstream = [m for m in self.lab.modules if m in self.broken and m in imported]
        if upstream and outcome.error_type in ("ImportError", "ModuleNotFoundError"):
            return finding(Kind.IMPORT, module=module, cause="upstream", upstream=upstream[0])
        return finding(Kind.IMPORT, module=module, cause="raised", error=text.exception_name(outcome.error_type))

    # -- cases ---------------------------------------------------------------------------
    def plan(self, case):
        return self.prepared.planner.plan(case.given, case.function, self.progress.own)

    def too_early(self, plan):
        """The plan gives the reference of a function not judged in full yet."""
        return any(mode == "call" and not self.progress.done(name) for name, mode in plan["names"].items())

    def oracle_needed(self, case):
        return self.too_early(self.plan(case))

    def run(self, case):
        """(Finding or None, seconds, whether an input was changed in place) for one case."""
        self.owned = set()
        if self.fatal:
            return self.fatal, 0.0, False
        if case.function in self.timed_out:
            return self.timed_out[case.function], 0.0, False
        if case.module not in self.broken:
            self.fatal = self.ensure_started()
            if self.fatal:
                return self.fatal, 0.0, False
        if case.module in self.broken:
            return self.broken[case.module], 0.0, False
        plan = self.plan(case)
        if self.too_early(plan):   # grade's order never asks this; a safeguard, not a path
            return finding(Kind.NOT_RUN, reason="too_early"), 0.0, False
        placed = values.place(self.session.arena.memory, case.args, case.kwargs)
        self.owned = {name for name, mode in plan["names"].items() if mode == "own"}
        helpers = {name: self.reference_of(name) for name, mode in plan["names"].items() if mode == "call"}
        helpers.update(placed.callables)
        command = {"target": case.call_target(), "args": placed.args, "kwargs": placed.kwargs, "plan": plan}
        timeout = case.timeout or self.settings.case_timeout
        outcome = self.session.run(command, timeout, serve=lambda header, blobs: serve(helpers, header, blobs))
        after = values.inputs_after(self.session.arena.memory, placed)
        message, mutated = self.judge(case, outcome, after)
        if message is None and getattr(case.check, "bound_to_exact", False) \
                and self.progress.unbound(case.function, getattr(case.check, "bound_items", None)):
            message = OUTCOME_UNBOUND   # a right outcome, from code whose exact cases are wrong
        if outcome.status == "timeout":
            self.timed_out[case.function] = message
        return message, outcome.seconds, mutated

    def reference_of(self, name):
        module, attr = name.split(".")
        return resolve(self.lab.reference(), {"module": module, "attr": attr})

    def judge(self, case, outcome, after):
        """(None when the case passes, else its Finding; whether the call changed an input in place)."""
        message = verdict(self, case, outcome)
        if outcome.status != "ok":
            return message, False
        changed = inputs_changed(case, after) or containers_changed(case, getattr(outcome, "changed", []))
        if message is None and changed:
            return finding(Kind.MUTATED, argument=changed, credit=1.0), True
        if message is None and case.warning_free and outcome.warnings:
            name, line = warning_text(case, outcome.warnings)
            return finding(Kind.WARNED, warning=name, line=line), bool(changed)
        return message, bool(changed)   # a wrong or partly right value that changed an input: the deduction too

def verdict(grader, case, outcome):
    """What the returned value (or what happened instead) says of the case (None: it passes)."""
    if outcome.status == "error":
        if outcome.error_type == "NotImplementedError":
            return NOT_WRITTEN
        advice = compare.error_advice(f"{outcome.error_type}: {outcome.error_text}")  # a Mistake by key
        # the advice is a field: the student's line is shown (public cases), never parsed
        return finding(Kind.RAISED, mistake=advice, error=text.exception_name(outcome.error_type),
                       line=student_line(case, outcome.error_text))
    if outcome.status == "timeout":
        return finding(Kind.TIMEOUT, seconds=case.timeout or grader.settings.case_timeout)
    if outcome.status == "crash":
        return finding(Kind.CRASHED, reason="protocol") if outcome.error_text else CRASHED
    try:
        node = values.result_value(outcome.result, outcome.blobs)
    except ValueError:
        return finding(Kind.UNREADABLE)
    try:
        found = case.check.judge(case, node, grader.prepared.expected[case.number], grader.settings)
    except compare.WrongForm as exc:
        return right_values_wrong_form(grader, case, node, exc)
    except Mismatch as exc:
        return exc.finding
    if found is not None and not isinstance(found, Finding):
        raise TypeError(f"the judge of {case.function} returned {type(found).__name__}, not a Finding or None")
    return found


def right_values_wrong_form(grader, case, node, exc):
    """A value in a form the contract does not allow: judged again on its numbers; right
    numbers cost Settings.form_share of the function's points, once (a Kind.FORM finding, full
    credit; CaseResult.misformed reads the share from it), wrong ones fail as any wrong form does."""
    token = compare.LENIENT.set(True)
    try:
        again = case.check.judge(case, node, grader.prepared.expected[case.number], grader.settings)
    except Mismatch:
        again = exc.finding
    finally:
        compare.LENIENT.reset(token)
    if again is not None:
        return exc.finding
    wrong = exc.finding
    return finding(Kind.FORM, wrong.where, credit=1.0, got=wrong.param("got"),
                   wanted="ndarray" if wrong.kind == Kind.TYPE else "float", share=grader.settings.form_share)


def containers_changed(case, reported):
    """The name of the first argument whose lists or tuples the runner says the call changed.
    Believed only because it can only cost the student (a change is never hidden this way)."""
    if not isinstance(reported, list):
        return None
    for k in reported:
        if isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(case.args):
            return case.arg_names[k] if k < len(case.arg_names) else f"argument {k + 1}"
    return None


def student_line(case, message):
    """At most one cleaned line of the student's own message, for a public case only (None
    when there is none to show)."""
    if case.hidden or not isinstance(message, str):
        return None
    return text.one_line(message, text.MESSAGE_LIMIT) or None


def warning_text(case, warnings):
    """(the warning's allow-listed name, the student's line or None) of the first warning."""
    first = warnings[0] if isinstance(warnings, list) and warnings else None
    if not (isinstance(first, list) and len(first) == 2):
        return text.warning_name(None), None
    return text.warning_name(first[0]), student_line(case, first[1])


def serve(helpers, header, blobs):
    """Run a given helper (the reference, or a test function) in the parent for the sandbox.

    Never raises, whatever the sandbox sent: the reply is the helper's result, or {"error":
    a type name} (a name that is not one of the case's helpers, arguments that do not decode
    within wire.Limits, an exception in the helper, a result larger than the wire carries).
    Arrays arrive as views of the received frame (an alias costs nothing); the session has
    already held the call to the case's sizes (wire.CaseBounds, session.serve_call)."""
    try:
        name = header.get("call") if type(header) is dict else None
        function = helpers.get(name) if type(name) is str else None
        if function is None:
            return {"error": "not a helper of this case"}, []
        value = wire.decode(header.get("args"), blobs, wire.Limits(max_int=10 ** 7))
        if type(value) is not list or len(value) != 2 or type(value[0]) is not list or type(value[1]) is not dict:
            raise wire.WireError("malformed arguments")
        args, kwargs = value
        with np.errstate(all="ignore"):
            result = function(*args, **kwargs)
        out = []
        tree = wire.encode(result, out)
        if sum(len(b) for b in out) > wire.MAX_REPLY_BYTES:
            return {"error": "ResultTooLarge"}, []
        return {"error": None, "result": tree}, out
    except Exception as exc:  # bad arguments from student code: the helper raises there
        return {"error": type(exc).__name__}, []


def grade(prepared, submission, name, strategy, settings, scratch, runner, slot=0):
    """Grade one submission (already read and copied; see autograder.submission).

    The order closes two channels (see the module docstring too):
    - no oracle: a case is given the reference of a function only once that function's own
      cases, public and hidden, were all judged (`Grader.run` refuses otherwise). In the public
      phase a composite function's case is given the student's own helper when it passed its
      public cases; else it waits until the helper's hidden cases are judged;
    - no hidden input in a public message: public cases run first, in a sandbox that has seen
      none. A public case that runs later (one that waited, or one that failed with the
      student's own helper which later failed a hidden case, run again with the reference)
      is "tainted": its message is rebuilt like a hidden case's (autograder.hidden).
    """
    started = time.monotonic()
    lab = prepared.lab
    grader = Grader(prepared, submission, strategy, settings, scratch, runner, slot)
    results = [None] * len(prepared.cases)

    def judge(case, tainted):
        if time.monotonic() - started > settings.submission_budget:
            message, seconds, mutated = finding(Kind.NOT_RUN, reason="budget", seconds=settings.submission_budget), 0.0, False
        else:
            message, seconds, mutated = grader.run(case)
        credit = 1.0 if message is None else message.credit
        exact = not getattr(case.check, "bound_to_exact", False)
        grader.progress.record(case, message is None, (message.where or "") if exact and credit < 1 else None)
        if case.hidden or tainted:   # only what a hidden case may say is kept: nothing measured leaves
            message = hidden.rewrite(message, case)
        results[case.number] = CaseResult(case, message is None, message, seconds, credit, mutated, tainted and not case.hidden)

    waiting, provisional = [], []    # public cases to run later, (case, own helpers) to check later

    def settle(function):
        """Before `function`'s hidden cases: its public cases that waited for a reference, and
        those that failed with an own helper that has failed since, run (again) now."""
        for case in [c for c in waiting if c.function == function]:
            waiting.remove(case)
            judge(case, True)
        for case, owned in [p for p in provisional if p[0].function == function]:
            provisional.remove((case, owned))
            if owned & grader.progress.failed:
                judge(case, True)

    try:
        for case in (c for c in prepared.cases if not c.hidden):
            if grader.oracle_needed(case):
                waiting.append(case)
                continue
            judge(case, False)
            if not results[case.number].passed and grader.owned:
                provisional.append((case, set(grader.owned)))
        for case in (c for c in prepared.cases if c.hidden):
            settle(case.function)
            judge(case, False)
        for function in dict.fromkeys(c.function for c in prepared.cases):
            settle(function)
    finally:
        grader.session.dispose()
    problems = [grader.broken[m] for m in lab.modules if m in grader.broken]
    return SubmissionResult(name, score(prepared, results), lab.points, results, grader.fatal or (problems[0] if problems else None),
                            strategy.name, time.monotonic() - started, notes=list(submission.notes))


def function_points(share, results):
    """A function's points from its cases: its share times the mean credit, less half of
    the share (once) when a case changed an input in place, less Settings.form_share of it
    (once) when a case's values were right in the wrong form, never below 0."""
    earned = share * sum(r.credit for r in results) / len(results)
    if any(r.mutated for r in results):
        earned -= share / 2
    earned -= share * max((r.misformed for r in results), default=0.0)
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
