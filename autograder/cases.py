"""A lab's hidden cases, and the checks that judge a returned value.

A lab (solutions/<lab>/grading.py) lists `Case`s. The engine computes each case's expected
value once per batch from the trusted reference (`Check.expect`), runs the student's
function in the sandbox, and judges the returned tree (`Check.judge`). A judge returns None
when the value is right, else a Finding (autograder.findings): what differs and, when it
can tell, the likely mistake.
"""
from dataclasses import dataclass, field

import numpy as np

from . import compare, gradcheck
from .findings import Kind, Mismatch, Mistake, finding, known
from .sandbox.runner import resolve


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
class MatchesGradient(Check):
    """A gradient with respect to a case's parameters, judged against the engine's central
    differences of a scalar loss that the lab builds from its reference.

    loss: function(case, params) -> float, the loss at parameters `params` (the same nesting
    as the case's own: a list of tuples of arrays, such as [(W1, b1), (W2, b2)]);
    wrt: the parameters' position among the case's args (or a keyword's name); the expected
    value holds the central differences for every array, in the same nesting;
    factors: (name, value) pairs for "off by a factor of N", as for `Matches`.
    """
    form: compare.Form = compare.PAIRS
    loss: object = None
    wrt: int | str = 1
    factors: tuple = ()
    known: dict = field(default_factory=dict)

    def parameters(self, case):
        return case.kwargs[self.wrt] if isinstance(self.wrt, str) else case.args[self.wrt]

    def expect(self, case, reference, settings):
        if self.loss is None:
            raise ValueError(f"MatchesGradient of {case.function} needs the lab's loss(case, params)")
        params = self.parameters(case)
        grads = []
        for l, group in enumerate(params):
            def loss_of(value, l=l, j=0):
                trial = [list(p) for p in params]
                trial[l][j] = value
                return self.loss(case, [tuple(p) for p in trial])
            grads.append(tuple(gradcheck.central_difference(lambda v, j=j: loss_of(v, j=j), array, settings.gradcheck_h)
                               for j, array in enumerate(group)))
        return grads

    def judge(self, case, node, expected, settings):
        got = compare.flatten(node, self.form)
        want = compare.expected_leaves(expected, self.form)
        if len(got) != len(want):
            return finding(Kind.ITEMS, "result", got=len(got) // 2, expected=len(want) // 2, unit="pairs")
        for (where, g), (_, w) in zip(got, want):
            if g.shape != w.shape:
                hint = "transposed" if g.shape == w.T.shape else "reversed" if any(g.shape == x.shape for _, x in want) else ""
                return finding(Kind.SHAPE, where, got=g.shape, expected=w.shape, hint=hint)
            error = gradcheck.relative_error(g, w)
            if not np.all(np.isfinite(g)) or error > settings.gradcheck_tol:
                guess = compare.likely_mistake(g, w, 1e-5, 1e-10, self.factors)
                return finding(Kind.GRADCHECK, where, guess, of="loss", error=float(error), tol=settings.gradcheck_tol)
        return None


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


def numgrad_one_sided(f, x, h, direction):
    g = np.zeros_like(x)
    f0 = f(x.copy())
    for i in np.ndindex(x.shape):
        step = x.copy()
        step[i] += direction * h
        g[i] = direction * (f(step) - f0) / h
    return g


def numgrad_not_restored(f, x, h):
    x, g = x.copy(), np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x.copy())
        x[i] = old - h
        g[i] = (f_plus - f(x.copy())) / (2.0 * h)
    return g


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
