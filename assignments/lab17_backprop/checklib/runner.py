"""Running a lab's public self-checks on the student's own computer (shipped as checklib/runner.py).

Two kinds of check, printed the same way:
- the grader's public cases (public_cases.json, numbered as the grader numbers them), judged by
  the grader's own judges (checklib/judges.py) with its words: a "public case N" in feedback is
  rerun here by `python checks.py --case N`;
- the lab's own checks (checks.py, marked with @check), which need the student's own functions
  (a derivative against their own forward function, ...), judged with the same comparisons.
Every check runs within a time limit (5 s by default) in a forked child (Linux) or a thread
(Windows, macOS), and its line is printed as soon as it finishes. Standard library and NumPy only.
"""
import dataclasses
import importlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import traceback
import warnings
from types import SimpleNamespace

import numpy as np

from . import compare, judges
from .catalogue import Catalogue
from .findings import Finding, Kind, Mistake, finding

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # the handout's folder
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # the student's modules are imported from there
DATA = os.path.join(HERE, "public_cases.json")
TIME_LIMIT = 5.0   # seconds a check may take (checks.TIME_LIMIT, or --time-limit, overrides it)
GRACE = 2.0        # seconds after the limit for a forked check to report before it is killed
# "fork": a child process per check, killed at the limit (Linux); "thread": Windows (no fork) and
# macOS (fork is unsafe there once NumPy is loaded). CHECKS_RUN_IN=thread or =fork overrides.
RUN_IN = os.environ.get("CHECKS_RUN_IN") or (
    "fork" if "fork" in multiprocessing.get_all_start_methods() and sys.platform.startswith("linux") else "thread")


class CheckFailed(Exception):
    """A check found a wrong result; the message reads like a TA's comment."""


class ModuleProblem(Exception):
    """A student module could not be imported."""


class TookTooLong(BaseException):
    """Raised inside a check when its time is up (a BaseException: `except Exception` in student
    code does not swallow it)."""


# ---------------------------------------------------------------------------- the data file
_DATA = {}


def decode(node):
    """A value of public_cases.json (written by the grader's `autograder.selfcheck.encode`)."""
    (kind, value), = node.items()
    if kind == "nd":
        dtype, shape, flat = value
        return np.array(flat, dtype=np.dtype(dtype)).reshape(shape)
    if kind == "np":
        return np.dtype(value[0]).type(value[1])
    if kind in ("b", "i", "f", "s"):
        return value
    if kind == "n":
        return None
    if kind in ("l", "t"):
        items = [decode(v) for v in value]
        return items if kind == "l" else tuple(items)
    if kind == "d":
        return {k: decode(v) for k, v in value}
    if kind == "fn":
        return judges.Callable(**{k: decode(v) for k, v in value.items()})
    if kind == "form":
        return compare.Form(value[0], tuple(decode(v) for v in value[1]))
    raise ValueError(f"public_cases.json: unknown value {kind!r}")


def known_function(value):
    return lambda *args, **kwargs: value   # the wrong value the mistake gives on this input


def data():
    """The lab's public data: questions, what to reread, settings, cases as (Case, expected)."""
    if not _DATA:
        with open(DATA, encoding="utf-8") as file:
            raw = json.load(file)
        cases = []
        for record in raw["cases"]:
            spec = record.pop("check")
            fields = {k: decode(v) for k, v in spec["fields"].items() if k != "known"}
            if "known" in spec["fields"]:
                fields["known"] = {wording: known_function(decode(v)) for wording, v in spec["fields"]["known"]}
            expected = decode(record.pop("expected"))
            for x, h, kind, direction, value in record.pop("diagnoses", []):
                judges.DIAGNOSES[(bytes.fromhex(x), h, kind, direction)] = decode(value)
            case = judges.Case(check=getattr(judges, spec["type"])(**fields),
                               **{k: decode(v) for k, v in record.items()})
            cases.append((case, expected))
        _DATA.update(raw, cases=cases, settings=SimpleNamespace(**raw["settings"]))
    return _DATA


def question_of(function):
    """The question that grades "module.name"; else the first question of its module."""
    questions = data()["questions"]
    return next((q for q, spec in questions.items() if function in spec["functions"]), None) or next(
        (q for q, spec in questions.items() if any(f.split(".")[0] == function.split(".")[0] for f in spec["functions"])), None)


WORDS = {"catalogue": None}   # the catalogue in the language asked for (--lang), else the lab's


def catalogue():
    if WORDS["catalogue"] is None:
        WORDS["catalogue"] = Catalogue(os.environ.get("CHECKS_LANG") or data().get("lang", "en"))
    return WORDS["catalogue"]


def say(key, **params):
    return catalogue().say(key, **params)


def words(case_or_names, message, form=None, name=""):
    """A finding (or a mistake) in the docstring's words (dW, grads[1][0]), as the grader's
    feedback says it; a string (a check's own words) is returned as it is."""
    if isinstance(case_or_names, judges.Case):
        case = case_or_names
        names, form, name = case.result_names, getattr(case.check, "form", None), case.name
    else:
        names = case_or_names
    if isinstance(message, Mistake):
        return judges.student_words(catalogue().mistake(message))
    if not isinstance(message, Finding):
        return message or ""
    path = message.where or "result"
    head = path[len("result"):] if path.startswith("result") else None
    where = compare.leaf_name(head, tuple(names), form, say) if head is not None else path
    return judges.student_words(catalogue().finding(message, False, where, name=name))


def reread(function, equation=None):
    """What to reread, in the grader's words: the equation, the docstring, the notebook's part."""
    name = function.split(".")[-1]
    equation = equation or data()["reread"].get(function, "")
    part = part_of(data()["questions"].get(question_of(function), {}))
    equation = catalogue().words.get(f"equation.{equation}", equation) if equation else ""
    lead = judges.student_words(equation.rstrip(".")) + "; " if equation else ""
    return say("feedback.reread", equation=lead, name=name, part=part).strip()


# ---------------------------------------------------------------------------- the student's code
_MODULES = {}     # name -> module, or the ModuleProblem met while importing it
_LOOPING = set()  # functions that ran out of time in this run: later checks do not call them
_FAILED = set()   # functions that failed a check in this run


def failed_before(function):
    """Whether "module.name" failed a check earlier in this run."""
    return function in _FAILED


def load_student_modules():
    """(Re)import the student's modules from the handout's folder, as saved now."""
    _MODULES.clear()
    _LOOPING.clear()
    _FAILED.clear()
    limit = float(getattr(data()["settings"], "import_timeout", 10.0))
    for name in data()["modules"]:
        if not imports_in_time(name, limit):   # the grader's words: demo code at import costs the module
            _MODULES[name] = ModuleProblem(say("kind.import", module=name) + ": "
                                           + say("cause.timeout", module=name, seconds=limit))
            continue
        try:
            module = sys.modules.get(name)
            if module is not None and is_student_file(getattr(module, "__file__", None) or ""):
                module = importlib.reload(module)
            else:
                sys.modules.pop(name, None)
                module = importlib.import_module(name)
            _MODULES[name] = module
        except Exception as exc:  # a syntax error, a failing import, ...
            _MODULES[name] = ModuleProblem(say("check.import_failed", module=name, error=one_line_error(exc)))


def imports_in_time(name, limit):
    """Whether importing the student's module `name` ends within `limit` seconds, as the
    grader's import_timeout asks: tried first in a forked child (Linux), whose output is
    dropped; elsewhere in a thread, which is left running when it does not end."""
    if RUN_IN == "fork":
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            process = multiprocessing.get_context("fork").Process(target=import_quietly, args=(name,), daemon=True)
            process.start()
        process.join(limit)
        if process.is_alive():
            process.kill()
            process.join()
            return False
        return True
    worker = threading.Thread(target=import_quietly, args=(name, False), daemon=True)
    worker.start()
    worker.join(limit)
    return not worker.is_alive()


def import_quietly(name, silent=True):
    """Import `name` (in the child: with its output dropped); errors are the caller's to report."""
    if silent:   # a forked child: its copy of sys.modules may hold the module as it was saved before
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        sys.modules.pop(name, None)
    try:
        importlib.import_module(name)
    except BaseException:   # noqa: BLE001 - reported by the import in the caller
        pass


def module(name):
    if name not in _MODULES:
        load_student_modules()
    found = _MODULES[name]
    if isinstance(found, ModuleProblem):
        raise found
    return found


def student(function):
    """The student's "module.name"; a function is wrapped so that a check fails when it changes
    its inputs (the grader's words)."""
    module_name, name = function.split(".")
    target = getattr(module(module_name), name, None)
    if target is None:
        fail(function, say("check.not_found", module=module_name, name=name))
    if not callable(target):
        return target
    if name in _LOOPING:   # already reported: do not wait for it again
        raise TookTooLong(name)

    def keeps_inputs(*args, **kwargs):
        before = judges.copy_args(args)
        result = target(*args, **kwargs)
        case = judges.Case(function, before, None, arg_names=parameter_names(target))
        changed = judges.inputs_changed(case, dict(judges.walk_arrays(list(args))))
        if changed:
            fail(function, say("check.mutated", argument=changed))
        return result
    return keeps_inputs


def parameter_names(function):
    import inspect
    try:
        return tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return ()


def is_student_file(filename):
    """A file of the handout's folder other than checks.py (one of the student's modules)."""
    path = os.path.abspath(filename)
    return os.path.dirname(path) == HERE and os.path.basename(path) != "checks.py"


def one_line_error(exc):
    """'ValueError: msg (mlp.py, line 12, in dense_forward)', pointing into the student's files."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if is_student_file(frame.filename):
            where = f" ({os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name})"
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" ({os.path.basename(exc.filename)}, line {exc.lineno})"
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}{where}"


def to_value(obj, depth=0):
    """The grader's value tree (judges.Value) of a returned object, tagged as the sandbox tags it."""
    if depth > 50:
        return judges.Value("object")
    if isinstance(obj, np.ndarray):
        return judges.Value("nd", data=obj.copy()) if obj.dtype.kind in "biufc" and not obj.dtype.hasobject \
            else judges.Value("object")
    if isinstance(obj, (bool, np.bool_)):
        return judges.Value("bool", data=np.asarray(bool(obj)))
    if isinstance(obj, np.generic):
        return judges.Value("npscalar", data=np.asarray(obj)) if obj.dtype.kind in "iufc" else judges.Value("object")
    if type(obj) in (float, int):
        return judges.Value("float" if type(obj) is float else "int", data=np.asarray(obj))
    if obj is None:
        return judges.Value("none")
    if type(obj) in (list, tuple):
        return judges.Value("list" if type(obj) is list else "tuple", items=[to_value(v, depth + 1) for v in obj])
    return judges.Value("object")


# ---------------------------------------------------------------------------- judging
def fail(function, problem, mistake="", call="", repro=""):
    """Raise CheckFailed: what failed, the likely mistake, what to reread, how to reproduce."""
    lines = [f"{function.split('.')[-1]}: {problem}"]
    if call:
        lines.insert(0, call)
    if mistake:
        lines.append(say("feedback.likely", mistake=words((), mistake)).strip())
    lines.append(reread(function))
    if repro:
        lines.append(say("check.reproduce", command=repro))
    raise CheckFailed("\n".join(lines))


def expect(function, got, expected, tol, form="float_array", names=(), mistake="", call="", repro=""):
    """got against expected with the grader's comparison: the form the docstring asks for, then
    |got - expected| <= atol + rtol |expected| leaf by leaf (tol = (rtol, atol))."""
    form = compare.Form(form) if isinstance(form, str) else form
    try:
        got_leaves = compare.flatten(to_value(got), form)
    except compare.Mismatch as exc:
        fail(function, words(names, exc.finding, form), mistake, call, repro)
    want_leaves = compare.expected_leaves(expected, form)
    if len(got_leaves) != len(want_leaves):
        fail(function, words(names, finding(Kind.ITEMS, "result", got=len(got_leaves), expected=len(want_leaves),
                                            unit="items"), form), mistake, call, repro)
    for (where, g), (_, w) in zip(got_leaves, want_leaves):
        w = np.asarray(w, dtype=float) if w.dtype.kind in "fb" else w
        problem = compare.numbers_differ(g, w, *tol, where)
        if problem:
            guess = mistake or compare.likely_mistake(g, w, *tol)
            fail(function, words(names, problem, form), guess, call, repro)
    return got


def expect_gradient(function, got, numeric, against, where="result", mistake="", call="", repro=""):
    """An analytic gradient against central differences: the grader's relative error and tolerance."""
    tol = data()["settings"].gradcheck_tol
    got = expect(function, got, numeric, (1e100, 1e100), names=(where,), call=call, repro=repro)   # the form only
    error = judges.relative_error(got, numeric)
    if error > tol:
        fail(function, say("check.gradient", where=where, against=against, error=error, tol=tol),
             mistake or compare.likely_mistake(got, numeric, 1e-5, 1e-10), call, repro)


def elementwise_differences(phi, z, h):
    """phi'(z) of an elementwise function at every entry of z at once, by central differences."""
    at = np.asarray(z, dtype=float)
    return (np.asarray(phi(at + h), dtype=float) - np.asarray(phi(at - h), dtype=float)) / (2.0 * h)


def directional_difference(f, x, v, h):
    """The slope of the scalar f at x along v, (f(x + h v) - f(x - h v)) / 2h: the same as
    sum(gradient * v) (one number for the whole array, not a gradient entry by entry)."""
    return (float(f(x + h * v)) - float(f(x - h * v))) / (2.0 * h)


def judge_public(case, expected):
    """Run one public case as the grader does and judge it with the grader's judge and words."""
    judge_case(case, expected, f"python checks.py --case {case.number}")


def judge_call(function, args, expected, kwargs=None, check=None, label="", warning_free=False, repro="", hint=""):
    """One of the lab's own inputs, run and judged as a public case is (check: a judge of
    checklib.judges, default Matches with the public cases' tolerances; hint: the likely
    mistake when the judge names none)."""
    target = student(function)
    same = [c for c, _ in data()["cases"] if c.function == function]
    if check is None and same:   # the public case's judge, without its known mistakes' values (another input)
        check = dataclasses.replace(same[0].check, **({"known": {}} if hasattr(same[0].check, "known") else {}))
    check = check or judges.Matches()
    case = judges.Case(function, tuple(args), check, dict(kwargs or {}), hidden=False, label=label,
                       equation=data()["reread"].get(function, ""), warning_free=warning_free,
                       arg_names=parameter_names(getattr(module(function.split(".")[0]), function.split(".")[1])),
                       result_names=same[0].result_names if same else ())
    del target   # looked up for its checks (not written, looping, missing); the call below is the judged one
    judge_case(case, expected, repro, hint)


def judge_case(case, expected, reproduce, hint=""):
    """Call the student's function on fresh copies of the case's inputs, then judge what happened
    with the grader's own `Grader.judge` (copied into checklib/judges.py as `judge`)."""
    if case.name in _LOOPING:   # already reported: do not wait for it again
        raise TookTooLong(case.name)
    note = next((say("check.given_failed", name=g.split(".")[1]) for g in case.given if g in _FAILED), "")
    args, kwargs = judges.copy_args(case.args), judges.copy_args(dict(case.kwargs))
    function = judges.resolve({m: module(m) for m in [case.call_target()["module"]]}, case.call_target())
    outcome = SimpleNamespace(status="ok", error_type=None, error_text="", result=None, blobs=[], warnings=[])
    old = np.seterr(divide="warn", over="warn", invalid="warn", under="ignore")   # NumPy's defaults, as the sandbox
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outcome.result = to_value(function(*args, **kwargs))
        outcome.warnings = [[w.category.__name__, str(w.message)] for w in caught[:5]]
    except (NotImplementedError, TookTooLong):
        raise
    except Exception as exc:  # noqa: BLE001 - judged as the grader judges an exception
        outcome.status, outcome.error_type, outcome.error_text = "error", type(exc).__name__, str(exc)
        where = one_line_error(exc).rpartition(" (")[2]
        note = note or (say("check.raised_at", where=where[:-1]) if where.endswith(")") and ".py, line" in where else "")
    finally:
        np.seterr(**old)
    grader = SimpleNamespace(prepared=SimpleNamespace(expected={case.number: expected}), settings=data()["settings"])
    message, _ = judges.judge(grader, case, outcome, dict(judges.walk_arrays(list(args))))
    if message:
        lines = [f"{case.name}: {words(case, message)}"]
        mistake = message.mistake or hint
        if mistake:
            lines.append(say("feedback.likely", mistake=words(case, mistake)).strip())
        if note:
            lines.append(note)
        lines.append(reread(case.function, case.equation))
        if reproduce:
            lines.append(say("check.reproduce", command=reproduce))
        raise CheckFailed("\n".join(lines))


# ---------------------------------------------------------------------------- the checks
class Check:
    """One check: a public case (number) or one of the lab's own (run)."""

    def __init__(self, function, title, run=None, number=None, question=None, uses=()):
        self.function, self.title, self.run, self.number = function, title, run, number
        self.uses = tuple(uses)   # the student's other functions this check runs ("module.name")
        self.question = question or question_of(function)
        self.target = function.split(".")[-1]
        self.__name__ = getattr(run, "__name__", f"public_case_{number}")

    def __call__(self):
        if self.run is not None:
            return self.run()
        case, expected = next((c, e) for c, e in data()["cases"] if c.number == self.number)
        return judge_public(case, expected)


LOCAL = []   # the lab's own checks, in the order checks.py marks them


def check(function, title, question=None, uses=()):
    """Mark one of the lab's own checks: the function it checks ("module.name"), a title, and
    the student's other functions it runs (`uses`): when one of those failed a check above, a
    failure of this check says so ("fix that first"), since the grader gives the reference there."""
    def mark(run):
        found = Check(function, title, run, question=question, uses=uses)
        LOCAL[:] = [c for c in LOCAL if c.__name__ != found.__name__] + [found]   # checks.py reloaded: replaced
        return found
    return mark


def public_title(case):
    label = f" ({case.label})" if case.label else ""
    return say("check.public_case", number=case.number, call=judges.describe_call(case, True, catalogue()), label=label)


def checks_by_question():
    """{question: [Check]}: the public cases (the grader's order), then the lab's own checks."""
    table = {q: [] for q in data()["questions"]}
    for case, _ in data()["cases"]:
        table[case.question].append(Check(case.function, public_title(case), number=case.number, question=case.question))
    for found in LOCAL:
        table[found.question].append(found)
    return table


def run_one(found):
    """(passed, text, key): key names an unwritten or looping function or an unimportable
    module, so that its FAIL line is printed once."""
    try:
        found()
    except CheckFailed as exc:
        return False, say("check.fail", what=found.title) + f"\n{indent(str(exc))}", None
    except NotImplementedError as exc:
        name = raising_function(exc, found.target)
        return False, say("check.fail", what=f"{name}: " + say("kind.not_written")), name
    except ModuleProblem as exc:
        return False, say("check.fail", what=str(exc)), str(exc)
    except TookTooLong as exc:
        if exc.args:
            return False, too_long(exc.args[0]), exc.args[0]
        name, where = stopped_where(exc, found.target)
        return False, too_long(name, where), name
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any crash of the student's code is a FAIL line
        advice = compare.error_advice(str(exc))
        lines = [f"{found.target}: " + say("kind.raised.line", error=type(exc).__name__, line=one_line_error(exc).partition(": ")[2] or "-")]
        if advice is not None:
            lines.append(say("feedback.likely", mistake=words((), advice)).strip())
        lines.append(reread(found.function))
        return False, say("check.fail", what=found.title) + "\n" + indent("\n".join(lines)), None
    return True, say("check.pass", what=found.title), None


def indent(message):
    return "\n".join("      " + line for line in message.splitlines())


def raising_function(exc, fallback):
    name = fallback
    for frame in traceback.extract_tb(exc.__traceback__):
        if is_student_file(frame.filename):
            name = frame.name
    return name


def too_long(name, where=""):
    return say("check.fail", what=f"{name}: " + say("kind.timeout", seconds=TIME_LIMIT) + where)


def stopped_where(exc, fallback):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_student_file(f.filename)]
    if not frames:
        return fallback, ""
    inner = frames[-1]
    helper = f", in {inner.name}" if inner.name != frames[0].name else ""
    return frames[0].name, say("check.stopped_at", file=os.path.basename(inner.filename), line=inner.lineno, helper=helper)


# ---------------------------------------------------------------------------- time limits
def run_limited(found):
    """run_one(found), stopped after TIME_LIMIT seconds: in a forked child (an alarm raises
    TookTooLong there; a child that does not answer GRACE seconds later is killed) or in a thread
    (TookTooLong is raised in it; a thread stuck inside one NumPy call is left to finish)."""
    if TIME_LIMIT is None or TIME_LIMIT <= 0:
        return run_one(found)
    if RUN_IN == "fork" and not multiprocessing.current_process().daemon:
        return run_forked(found)
    return run_threaded(found)


def on_alarm(signum, frame):
    raise TookTooLong()


def child(found, send):
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        result = run_one(found)
    except BaseException:  # noqa: BLE001 - the alarm between run_one's handlers
        result = (False, too_long(found.target), found.target)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    send.send(result)
    send.close()


def run_forked(found):
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    for stream in (sys.stdout, sys.stderr):   # or the child would print the parent's buffered text again
        stream.flush()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # Python 3.12+ warns about fork in a Jupyter kernel
        process = context.Process(target=child, args=(found, send), daemon=True)
        process.start()
    send.close()
    result, timed_out = None, False
    try:
        if receive.poll(TIME_LIMIT + GRACE):
            result = receive.recv()
        else:
            timed_out = True
    except (EOFError, OSError):   # the child ended without an answer
        pass
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
    if result is not None:
        return result
    if timed_out:
        return False, too_long(found.target), found.target
    return False, say("check.fail", what=found.title) + "\n" + indent(
        f"{found.target}: " + say("check.no_result", code=process.exitcode)), None


def run_threaded(found):
    box = []
    worker = threading.Thread(target=lambda: box.append(run_one(found)), daemon=True)
    worker.start()
    worker.join(TIME_LIMIT)
    if worker.is_alive():
        import ctypes
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(TookTooLong))
        worker.join(GRACE)
    if box:
        return box[0]
    return False, too_long(found.target) + " (it is still running: restart the kernel when you have fixed it)", found.target


# ---------------------------------------------------------------------------- running and printing
def run_checks(selected, emit=None):
    """Run checks, each within TIME_LIMIT. Returns (n_checks, n_passed, lines); emit(line) is
    called as each check finishes. An unwritten or looping function, or a module that does not
    import, gives a single FAIL line however many checks need it."""
    lines, passed, reported = [], 0, set()
    for found in selected:
        ok, line, key = run_limited(found)
        passed += ok
        broken = [f for f in getattr(found, "uses", ()) if f in _FAILED and f != found.function]
        if not ok and broken and key is None and say("check.fix_first") not in line:
            line += "\n" + indent(say("check.uses_failed", names=", ".join(f.split(".")[1] for f in broken)))
        if not ok:
            _FAILED.add(found.function)
        if key is not None and "took longer than" in line:
            _LOOPING.add(key)
        if key is None or key not in reported:
            lines.append(line)
            if emit:
                emit(line)
        if key is not None:
            reported.add(key)
    return len(selected), passed, lines


def print_now(line):
    print(line, flush=True)


def heading(question):
    spec = data()["questions"][question]
    return say("check.heading", question=question, part=part_of(spec), points=spec["points"])


def part_of(spec):
    """The question's part of the notebook, in the language the checks speak."""
    return spec.get("parts", {}).get(catalogue().lang) or spec.get("part", "notebook")


def summary(question, total, passed):
    if passed == total:
        return say("check.question_passed", heading=heading(question), total=total)
    return say("check.question_failed", heading=heading(question), passed=passed, total=total, failed=total - passed)


def run(question, quiet=False, time_limit=None):
    """One question's checks, as grader.check runs them: True when all pass, else AssertionError
    listing the FAIL lines. Prints a line per check unless quiet."""
    global TIME_LIMIT
    TIME_LIMIT = TIME_LIMIT if time_limit is None else time_limit
    table = checks_by_question()
    if question not in table:
        raise ValueError(say("check.unknown_question", unknown=[question], known=list(table)))
    load_student_modules()
    total, passed, lines = run_checks(table[question], None if quiet else print_now)
    text_ = summary(question, total, passed)
    if not quiet:
        print(text_, flush=True)
    if passed < total:
        raise AssertionError("\n".join([text_] + [line for line in lines if line.startswith("FAIL")])) from None
    return True


USAGE = "python checks.py [--lang ko|en] [--time-limit SECONDS] [--case N ...] [question ...]"


def main(argv=None, time_limit=None):
    """The command line: exit status 0 when every check passes, 1 otherwise, 2 for a bad call."""
    global TIME_LIMIT
    TIME_LIMIT = TIME_LIMIT if time_limit is None else time_limit
    names, numbers = list(sys.argv[1:] if argv is None else argv), []
    try:
        while "--time-limit" in names or "--case" in names or "--lang" in names:
            option = next(o for o in ("--time-limit", "--case", "--lang") if o in names)
            at = names.index(option)
            value = names[at + 1]
            if option == "--time-limit":
                TIME_LIMIT = float(value)
            elif option == "--lang":
                WORDS["catalogue"] = Catalogue(value)
            else:
                numbers.append(int(value))
            del names[at:at + 2]
    except (IndexError, ValueError):
        print(say("check.usage", usage=USAGE), file=sys.stderr)
        return 2
    table = checks_by_question()
    unknown = [n for n in names if n not in table]
    public = {found.number: found for checks in table.values() for found in checks if found.number is not None}
    missing = [n for n in numbers if n not in public]
    if unknown or missing:
        print(say("check.unknown_question", unknown=unknown, known=list(table)) if unknown else
              say("check.no_public_case", number=missing[0], numbers=", ".join(map(str, sorted(public)))), file=sys.stderr)
        return 2
    load_student_modules()
    groups = [(say("check.public_case_group", number=n), [public[n]]) for n in numbers] + [(q, table[q]) for q in names or ([] if numbers else table)]
    all_total = all_passed = 0
    for name, selected in groups:
        print(f"== {heading(name) if name in table else name} ==", flush=True)
        total, passed, _ = run_checks(selected, print_now)
        if name in table:
            print(summary(name, total, passed) + "\n", flush=True)
        all_total, all_passed = all_total + total, all_passed + passed
    if all_passed == all_total:
        print(say("check.summary_passed", total=all_total))
        return 0
    print(say("check.summary_failed", passed=all_passed, total=all_total, failed=all_total - all_passed))
    return 1


# ---------------------------------------------------------------------------- without Otter
OTTER_INSTALL = "pip install otter-grader"


class CheckResult:
    """What grader.check(question) returns without Otter: shows as one summary line."""

    def __init__(self, question, total, passed, failures):
        self.question, self.total, self.passed, self.failures = question, total, passed, failures

    @property
    def all_passed(self):
        return self.passed == self.total

    def __repr__(self):
        if self.all_passed:
            return say("check.result_passed", question=self.question, total=self.total)
        return say("check.result_failed", question=self.question, passed=self.passed, total=self.total,
                   failed=self.total - self.passed)


class Notebook:
    """A stand-in for otter.Notebook when Otter is not installed, with the calls the notebook makes:
    check(question) prints a line per check and returns a CheckResult; export(...) writes a zip of
    the modules (and the notebook). `time_limit` returns the seconds a check may take."""

    def __init__(self, nb_path=None, tests_dir="tests", **_ignored):
        self.nb_path = nb_path

    def time_limit(self):
        return TIME_LIMIT

    def check(self, question, global_env=None):
        global TIME_LIMIT
        TIME_LIMIT = self.time_limit()
        table = checks_by_question()
        if question not in table:
            raise ValueError(say("check.unknown_question", unknown=[question], known=list(table)))
        load_student_modules()
        total, passed, lines = run_checks(table[question], print_now)
        return CheckResult(question, total, passed, [line for line in lines if line.startswith("FAIL")])

    def check_all(self):
        return [self.check(question) for question in data()["questions"]]

    def export(self, nb_path=None, export_path=None, pdf=False, filtering=True, pagebreaks=True, files=None,
               display_link=True, force_save=False, run_tests=False, ignore_log=False):
        """Write <notebook name>_<timestamp>.zip with the modules (and the notebook if it is here)."""
        import datetime
        import zipfile
        nb_path = nb_path or self.nb_path
        names = list(files or [f"{m}.py" for m in data()["modules"]])
        if nb_path and os.path.exists(nb_path):
            names.insert(0, nb_path)
        missing = [name for name in names if not os.path.exists(name)]
        if missing:
            print(say("check.export_missing", folder=os.getcwd(), missing=", ".join(missing)))
            return None
        stem = os.path.splitext(os.path.basename(nb_path or f"{data()['lab']}.ipynb"))[0]
        path = export_path or f"{stem}_{datetime.datetime.now():%Y_%m_%dT%H_%M_%S}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                archive.write(name, os.path.basename(name))
        note = "" if nb_path and os.path.exists(nb_path) else say("check.export_no_notebook")
        print(say("check.exported", path=path, names=", ".join(os.path.basename(n) for n in names), note=note,
                  count=len(data()["modules"])))
        return path
