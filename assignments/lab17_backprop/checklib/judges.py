"""The grader's judges, copied from its source by `python -m autograder.selfcheck`: do not edit.

autograder/gradcheck.py: relative_error
autograder/cases.py: Case, describe_arg, Check, copy_args, Matches, MatchesDerivative, MatchesCallableGradient, DIFFERENCING, ROUNDED_BACK, Satisfies
autograder/values.py: Value, MISSING, Callable, walk_arrays
autograder/sandbox/runner.py: resolve
autograder/grading.py: NOT_WRITTEN, CRASHED, inputs_changed, argument_name, Grader.judge, verdict, right_values_wrong_form, containers_changed, student_line, warning_text
autograder/report.py: SMALL_INPUT, student_words, format_value, describe_call
"""
import re
import sys
from dataclasses import dataclass, field

import numpy as np

from . import compare, text
from .catalogue import Catalogue
from .findings import Finding, Kind, Mismatch, Mistake, finding, known

values = gradcheck = sys.modules[__name__]   # the engine's `values.walk_arrays`, `gradcheck.relative_error`
DIAGNOSES = {}   # (x as float64 bytes, h, kind, direction) -> the public case's value of that way of differencing


def numgrad_one_sided(f, x, h, direction):
    return DIAGNOSES.get((np.asarray(x, dtype=float).tobytes(), float(h), "one_sided", direction),
                         np.full(np.shape(x), np.nan))


def numgrad_not_restored(f, x, h):
    return DIAGNOSES.get((np.asarray(x, dtype=float).tobytes(), float(h), "not_restored", 0), np.full(np.shape(x), np.nan))


def result_value(tree, blobs):
    """The self-check hands the grader's judge the value tree itself (no sandbox wire here)."""
    return tree


def relative_error(analytic, numeric):
    """max|a - n| / max(1e-8, max|a| + max|n|): scale-free, and finite when both are 0."""
    analytic, numeric = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    if analytic.size == 0:
        return 0.0
    scale = max(1e-8, float(np.max(np.abs(analytic)) + np.max(np.abs(numeric))))
    return float(np.max(np.abs(analytic - numeric)) / scale)


@dataclass
class Case:
    """One call of one student function.

    function: "module.name", the function graded (its points); target: what is called, when
    that is not the function itself (e.g. {"module": "activations", "attr": "ACTIVATIONS",
    "items": ["relu", 0]}); given: reference functions put in place of the student's own
    while this case runs ("module.name"), so that it tests one function only; label: what
    the case probes, for feedback (never the input's values); equation: what to reread;
    result_names: the returned items' names in the contract (("dA_prev", "dW", "db"),
    ("grads",)) for feedback; empty: taken from the reference's docstring ("Returns ...").
    """
    function: str
    args: tuple
    check: "Check"
    kwargs: dict = field(default_factory=dict)
    hidden: bool = True
    label: str = ""
    equation: str = ""
    target: dict | None = None
    given: tuple = ()
    timeout: float | None = None
    warning_free: bool = False
    question: str = ""
    number: int = 0
    arg_names: tuple = ()
    result_names: tuple = ()

    @property
    def module(self):
        return self.function.split(".")[0]

    @property
    def name(self):
        return self.function.split(".")[1]

    def call_target(self):
        return self.target or {"module": self.module, "attr": self.name}

    def input_shapes(self):
        """The arguments' shapes by name, never their values (hidden inputs stay hidden)."""
        names = list(self.arg_names) + [f"arg{i}" for i in range(len(self.arg_names), len(self.args))]
        shapes = [f"{name} {describe_arg(a)}" for name, a in zip(names, self.args) if describe_arg(a)]
        return ", ".join(shapes)


def describe_arg(value):
    if isinstance(value, np.ndarray):
        return str(value.shape)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, tuple) for v in value):
        return "[" + ", ".join("(" + ", ".join(str(np.shape(x)) for x in v) + ")" for v in value) + "]"
    return ""


class Check:
    """How a case's expected value is made and how a returned value is judged."""
    form = compare.FLOAT_ARRAY

    def expect(self, case, reference, settings):
        return resolve(reference, case.call_target())(*copy_args(case.args), **case.kwargs)

    def judge(self, case, node, expected, settings):
        raise NotImplementedError


def copy_args(args):
    """Deep copies of the arrays, so that the reference cannot change a case's inputs."""
    if isinstance(args, np.ndarray):
        return args.copy()
    if isinstance(args, list):
        return [copy_args(a) for a in args]
    if isinstance(args, tuple):
        return tuple(copy_args(a) for a in args)
    return args


@dataclass
class Matches(Check):
    """Equal to the reference, leaf by leaf: |got - expected| <= atol + rtol |expected|.

    known: {description: function(*args, **kwargs) -> wrong value} of the lab's named
    mistakes, tried when the value is wrong; factors: (name, value) pairs for "off by a
    factor of N"; zero_mask: when True, "wrong only at z = 0" is looked for (args[0] == 0);
    partial: a tuple result earns the share of its items that are right (dense_backward's
    dA_prev, dW and db each count), instead of all or nothing.
    """
    form: compare.Form = compare.FLOAT_ARRAY
    rtol: float = 1e-7
    atol: float = 1e-12
    known: dict = field(default_factory=dict)
    factors: tuple = ()
    zero_mask: bool = False
    partial: bool = False

    def judge(self, case, node, expected, settings):
        got_leaves = compare.flatten(node, self.form)
        want_leaves = compare.expected_leaves(expected, self.form)
        if len(got_leaves) != len(want_leaves):
            pairs = self.form.kind == "pairs"
            raise Mismatch(finding(Kind.ITEMS, "result", got=len(got_leaves) // 2 if pairs else len(got_leaves),
                                   expected=len(want_leaves) // 2 if pairs else len(want_leaves),
                                   unit="pairs" if pairs else "items"))
        first, wrong = None, 0
        for (where, got), (_, want) in zip(got_leaves, want_leaves):
            want = np.asarray(want, dtype=float) if want.dtype.kind in "fb" else want
            problem = compare.numbers_differ(got, want, self.rtol, self.atol, where)
            if problem:
                wrong += 1
                first = first or problem.with_mistake(self.explain(case, got, want, node))
                if not self.partial:
                    break
        if first is None:
            return None
        return first.with_credit(1 - wrong / len(got_leaves)) if self.partial else first

    def explain(self, case, got, want, node):
        """The likely mistake (a Mistake, None when none is recognised). A `known` mistake is
        named when its value matches every returned item (a tuple result: each leaf)."""
        for description, wrong in self.known.items():
            try:
                with np.errstate(all="ignore"):
                    candidate = wrong(*copy_args(case.args), **case.kwargs)
                    if self.known_matches(node, candidate):
                        return known(description)
            except Exception:
                continue
        mask = None
        if self.zero_mask and isinstance(case.args[0], np.ndarray) and case.args[0].shape == np.shape(got):
            mask = case.args[0] == 0
        return compare.likely_mistake(got, want, self.rtol, self.atol, self.factors, mask)

    def known_matches(self, node, candidate):
        got = compare.flatten(node, self.form)
        wrong = compare.expected_leaves(candidate, self.form)
        return len(got) == len(wrong) and all(
            np.shape(g) == np.shape(w) and np.allclose(np.asarray(g, dtype=float), np.asarray(w, dtype=float),
                                                       rtol=self.rtol, atol=self.atol)
            for (_, g), (_, w) in zip(got, wrong))


@dataclass
class MatchesDerivative(Check):
    """An elementwise derivative, judged against the engine's central differences of the
    reference activation (`forward`, "module.name") at the same z."""
    forward: str = ""
    forward_kwargs: dict = field(default_factory=dict)
    known: dict = field(default_factory=dict)

    def expect(self, case, reference, settings):
        module, name = self.forward.split(".")
        f = getattr(reference[module], name)
        return gradcheck.elementwise_derivative(lambda z: f(z, **self.forward_kwargs), case.args[0], settings.gradcheck_h)

    def judge(self, case, node, expected, settings):
        got = compare.plain(node, compare.FLOAT_ARRAY, "result")
        if got.shape != expected.shape:
            return finding(Kind.SHAPE, "result", got=got.shape, expected=expected.shape, hint="")
        if not np.all(np.isfinite(got)):
            return finding(Kind.NOT_FINITE, "result", count=int((~np.isfinite(got)).sum()),
                           index=tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0]))
        error = gradcheck.relative_error(got, expected)
        if error <= settings.gradcheck_tol:
            return None
        bad = np.abs(got - expected) > settings.gradcheck_tol * max(1e-8, np.abs(got).max() + np.abs(expected).max())
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        return finding(Kind.GRADCHECK, "result", Matches(known=self.known, zero_mask=True).explain(case, got, expected, node),
                       of="function", error=float(error), tol=settings.gradcheck_tol, index=index,
                       numerical=float(expected[index]), yours=float(got[index]))


@dataclass
class MatchesCallableGradient(Check):
    """numerical_gradient(f, x, h): judged against f's analytic gradient."""
    rtol: float = 1e-7
    atol: float = 1e-9

    def expect(self, case, reference, settings):
        f, x = case.args[0], case.args[1]
        return f.gradient(np.asarray(x, dtype=float))

    def judge(self, case, node, expected, settings):
        got = compare.plain(node, compare.FLOAT_ARRAY, "result")
        problem = compare.numbers_differ(got, expected, self.rtol, self.atol, "result")
        if problem and got.shape == expected.shape and np.all(np.isfinite(got)):
            problem = problem.with_mistake(self.diagnose(case, np.asarray(got, dtype=float), expected))
        return problem

    def diagnose(self, case, got, expected):
        """Which way of differencing gives `got`: each candidate is rerun here with the case's
        f, x and h, and named when it accounts for (nearly) all of the error. This tells a
        truncation error of order h (one-sided differences) from a shifted x (entries not put
        back), which are the same size."""
        f, x = case.args[0], np.array(case.args[1], dtype=float)
        h = float(case.kwargs.get("h", case.args[2] if len(case.args) > 2 else 1e-5))
        error = float(np.max(np.abs(got - expected)))
        for description, candidate in zip(DIFFERENCING, (numgrad_one_sided(f, x, h, +1), numgrad_one_sided(f, x, h, -1),
                                                         numgrad_not_restored(f, x, h))):
            if np.max(np.abs(got - candidate)) <= 0.02 * error:
                return description
        if not np.any(got):
            return ROUNDED_BACK
        return compare.likely_mistake(got, expected, self.rtol, self.atol, (("2", 2.0), ("h", h)))


DIFFERENCING = (Mistake("forward_differences"), Mistake("backward_differences"), Mistake("not_restored"))


ROUNDED_BACK = Mistake("rounded_back")   # MatchesCallableGradient's diagnoses: named (a hidden case may say them)


@dataclass
class Satisfies(Check):
    """An outcome rather than exact numbers: `predicate(leaves, expected)` returns None or a
    Finding (Kind.OUTCOME: its `check` is a key of the lab's catalogue); expected comes from the reference as usual (or `expected_fn`). Bound to the
    procedure: such a case earns points only while every exact case of its function is right
    in `bound_items` (a returned item such as "result[0]", the trained params; None: in all of
    them): hand-written weights that solve XOR are not a training loop."""
    bound_to_exact = True
    form: compare.Form = compare.FLOAT_ARRAY
    predicate: object = None
    expected_fn: object = None
    bound_items: str | None = None

    def expect(self, case, reference, settings):
        if self.expected_fn is not None:
            return self.expected_fn(reference, case)
        return super().expect(case, reference, settings)

    def judge(self, case, node, expected, settings):
        leaves = [leaf for _, leaf in compare.flatten(node, self.form)]
        return self.predicate(leaves, expected)


@dataclass(frozen=True)
class Callable:
    """A scalar test function with a known gradient, evaluated in the trusted parent
    (student code calls it through the wall)."""
    kind: str
    params: tuple

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        a, c = self.params
        if self.kind == "sin_cubic":  # sum(sin(a x) + c x^3): separable
            return float(np.sum(np.sin(a * x) + c * x ** 3))
        if self.kind == "coupled":    # sum(sin(a x)) + (sum(c x))^2: every pair of entries interacts
            return float(np.sum(np.sin(a * x)) + np.sum(c * x) ** 2)
        raise ValueError(f"unknown callable {self.kind!r}")

    def gradient(self, x):
        x = np.asarray(x, dtype=float)
        a, c = self.params
        if self.kind == "sin_cubic":
            return a * np.cos(a * x) + 3.0 * c * x ** 2
        if self.kind == "coupled":
            return a * np.cos(a * x) + 2.0 * np.sum(c * x) * c
        raise ValueError(f"unknown callable {self.kind!r}")


def walk_arrays(value, path="in"):
    """(path, array) for every ndarray inside an argument tree, named as `place` names them."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from walk_arrays(item, f"{path}_{i}")


@dataclass
class Value:
    """One node of a result as the student's code returned it.

    tag: nd (ndarray), float, int, bool, npscalar (a NumPy scalar), list, tuple, none,
    object (anything else: refused), or missing (nothing came back)."""
    tag: str
    data: np.ndarray | None = None
    items: list = field(default_factory=list)

    @property
    def is_sequence(self):
        return self.tag in ("list", "tuple")


MISSING = Value("missing")


def resolve(modules, target):
    """The callable named by {"module", "attr", "items"} among `modules` (the student's, or
    the reference's in the parent)."""
    obj = getattr(modules[target["module"]], target["attr"])
    for item in target.get("items", []):
        obj = obj[item]
    return obj


NOT_WRITTEN = finding(Kind.NOT_WRITTEN)


CRASHED = finding(Kind.CRASHED)


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


SMALL_INPUT = 6  # a public input with at most this many numbers is shown by its values


def student_words(text):
    """Point to what students have (the function's docstring, the notebook, the lecture),
    never to the staff's ASSIGNMENT.md or "the contract" (a lab's own wording may say so)."""
    for pattern, words in ((r"\(contract: ([^)]*)\)", r"(\1)"), (r"\bASSIGNMENT\.md\b", "the docstring"),
                           (r"\bthe contract's\b", "the docstring's"), (r"\bthe contract\b", "the docstring"),
                           (r"\bcontract\b", "docstring")):
        text = re.sub(pattern, words, text)
    return text


def format_value(value):
    """A small input as a student would type it: [-2, -0.5, 0, 0.5, 2]."""
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=", ", formatter={"float_kind": lambda v: f"{v:.6g}"},
                               max_line_width=10_000).replace("\n", "")
    return repr(value)


def describe_call(case, show_values, words=None):
    """"sigmoid_grad(z) with z = [-2, 0, 2]" or "with z of shape (30, 40)" (public);
    "sigmoid_grad(z)" (hidden: nothing of the inputs, see autograder.hidden)."""
    words = words or Catalogue()
    names = list(case.arg_names)[:len(case.args)] + [f"arg{i + 1}" for i in range(len(case.arg_names), len(case.args))]
    call = f"{case.name}({', '.join(names + list(case.kwargs))})"
    if not show_values:
        return call
    parts = []
    for name, value in zip(names, case.args):
        small = isinstance(value, np.ndarray) and value.size <= SMALL_INPUT and value.ndim <= 2
        if small or isinstance(value, (int, float, str)) or (
                isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value)):
            parts.append(f"{name} = {format_value(value)}")
        elif isinstance(value, np.ndarray):
            parts.append(words.say("feedback.of_shape", name=name, shape=value.shape))
        elif describe_arg(value):
            parts.append(words.say("feedback.shaped", name=name, shape=describe_arg(value)))
    for key, value in case.kwargs.items():
        parts.append(f"{key} = {format_value(value)}")
    return call + (" " + words.say("feedback.with_values", values=", ".join(parts)) if parts else "")
