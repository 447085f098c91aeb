"""Public self-checks for Lab 17 (Neural Networks and Backpropagation I).

Run them from this folder:

    python checks.py              # all five questions
    python checks.py backprop     # one question: tlu, activations, forward, backprop, training
    python checks.py --case 12    # one public case, by the number the grader's feedback gives
    python checks.py --time-limit 20 training    # more time per check on a slow computer

Every check prints one line, PASS or FAIL, as soon as it finishes; a FAIL says which function,
on which input, what differed, the likely mistake, what to reread and how to rerun it. Every
check has a time limit (TIME_LIMIT, 5 s): a function that loops forever gives one FAIL line and
the run goes on. The exit status is 0 when everything passes and 1 otherwise.

Two kinds of check:
- the grader's public cases (public_cases.json), judged by the grader's own code (checklib/,
  copied from it) with the same words as your feedback;
- the checks below, which need your own functions: each derivative against central differences
  of your own activation, mlp_forward against your own activations, mlp_backward against central
  differences of your own mlp_forward and loss, the perceptron's error counts, and XOR training.
  Their words are the lab's message catalogue (`lab_check.*`, checklib/catalogue/<lang>.json),
  in the language of `--lang ko|en` (or CHECKS_LANG; Korean by default).

In the notebook, grader.check("tlu") calls checks.run("tlu", quiet=True): it returns True when
every check passes and otherwise raises AssertionError listing the FAIL lines.

Passing these checks is only a part of the grading: hidden cases try other inputs.
"""
import sys

import numpy as np

import checklib
from checklib import OTTER_INSTALL, check, directional_difference, expect, expect_gradient, fail, say, student  # noqa: F401 (OTTER_INSTALL: the notebook's)

TIME_LIMIT = 5.0   # seconds a check may take (`--time-limit N` on the command line)
EXACT = (1e-9, 1e-12)   # hand-traced numbers: rtol, atol
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])
XOR_LOSS_BELOW = 0.01   # the loss a correct loop reaches in 1000 epochs at lr 0.5 (the notebook's Part E)


def h():
    return checklib.data()["settings"].gradcheck_h


def text(key, **params):
    """The catalogue's sentence `lab_check.<key>`, in the language asked for (--lang, CHECKS_LANG)."""
    return say(f"lab_check.{key}", **{name: str(value) if isinstance(value, Later) else value
                                      for name, value in params.items()})


class Later:
    """A title of the catalogue (`lab_check.<key>`), rendered when it is printed: the checks are
    marked at import, before `--lang` is read."""

    def __init__(self, key, **params):
        self.key, self.params = key, params

    def __str__(self):
        return text(self.key, **self.params)

    def __format__(self, spec):
        return format(str(self), spec)


def returned(got, wanted):
    """'returned a list, expected <wanted>' (wanted: a Later), or what returning None means."""
    if got is None:
        return text("returned_none", wanted=wanted)
    return text("returned_type", got=type(got).__name__, wanted=wanted)


def rerun(function):
    """The command that reruns the checks of `function`'s question."""
    return text("rerun", question=checklib.question_of(function))


def expect_slope(function, got, numeric, differs, where, mistake="", call="", repro="", **params):
    """expect_gradient's judgement (the grader's relative error and tolerance), in the words of
    `lab_check.<differs>` (a directional derivative: what was compared, said plainly)."""
    tol = checklib.data()["settings"].gradcheck_tol
    got = expect(function, got, numeric, (1e100, 1e100), names=(where,), call=call, repro=repro)   # the form only
    error = checklib.judges.relative_error(got, numeric)
    if error > tol:
        fail(function, text(differs, where=where, error=error, tol=tol, **params),
             mistake or checklib.compare.likely_mistake(got, numeric, 1e-5, 1e-10), call, repro)


def points(seed, shape, margin=0.0):
    """Seeded points in [-3, 3], at least `margin` away from 0 (the kink of relu), and the code
    that makes them."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(margin, 3.0, shape) * rng.choice([-1.0, 1.0], shape)
    return z, f"rng = np.random.default_rng({seed}); z = rng.uniform({margin}, 3.0, {shape}) * rng.choice([-1.0, 1.0], {shape})"


# ---------------------------------------------------------------------------------------------
# Inputs of the kinds the hidden cases try (other values), run and judged as a public case is
# ---------------------------------------------------------------------------------------------
LAYER = (XOR_X, np.array([[1.0, 1.0], [1.0, 1.0], [-1.0, -1.0]]), np.array([-1.5, -0.5, 0.5]))   # AND, OR, NOR
EDGES = [  # (function, args, kwargs, expected, what the input probes, warning-free[, the likely mistake]): catalogue keys
    ("tlu.sign", (np.array([-3, 0, 2]),), {}, np.array([-1.0, 0.0, 1.0]), "int_float64", False),
    ("tlu.tlu", (XOR_X, np.array([1.0, 1.0]), -1.5), {"step": "sign"}, np.array([-1.0, -1.0, -1.0, 1.0]),
     "and_sign", False),
    ("tlu.perceptron_layer", LAYER + ("sign",), {}, np.array([[-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [-1.0, 1.0, -1.0],
                                                              [1.0, 1.0, -1.0]]), "layer_sign", False),
    ("activations.sigmoid", (np.array([-1000.0, 0.0, 1000.0]),), {}, np.array([0.0, 0.5, 1.0]), "large_z", True, "overflow"),
    ("activations.relu", (np.array([-4, 0, 5]),), {}, np.array([0.0, 0.0, 5.0]), "int_float64", False),
    ("activations.softmax", (np.array([[1000.0, 1000.0], [-1000.0, 0.0]]),), {}, np.array([[0.5, 0.5], [0.0, 1.0]]),
     "large_z", True, "softmax_overflow"),
    ("mlp.predict", (np.array([[0.0, 0.0], [2.0, 1.5], [1.0, 3.0], [0.25, 0.26]]), [(np.array([[1.0, -1.0]]), np.array([0.5]))],
                     ["identity"]), {}, np.array([1, 1, 0, 0]), "one_output", False),
    ("backprop.one_hot", (np.array([1, 0]), 4), {}, np.array([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]),
     "more_classes", False),
    ("backprop.cross_entropy", (np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([0, 0])), {}, (np.log(1e12) + np.log(2.0)) / 2,
     "zero_probability", True, "log_zero"),
]


def python(value):
    """`value` as code a student can paste (after `import numpy as np`)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(python(v) for v in value) + ("," if isinstance(value, tuple) and len(value) == 1 else "")
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)


EDGE_USES = {"mlp.predict": ("mlp.mlp_forward", "mlp.dense_forward")}   # what an edge case runs of the student's besides it


def edge_check(function, args, kwargs, expected, label, warning_free, hint=""):
    call = ", ".join([python(a) for a in args] + [f"{k}={python(v)}" for k, v in kwargs.items()])

    def run():
        checklib.judge_call(function, args, expected, kwargs, label=text(label), warning_free=warning_free,
                            repro=f"import numpy as np, {function.split('.')[0]}; {function}({call})",
                            hint=text(hint) if hint else "")
    run.__name__ = f"edge_{function.split('.')[1]}"
    return check(function, Later("edge_title", name=function.split('.')[1], label=Later(label)), uses=EDGE_USES.get(function, ()))(run)


OWN_EDGES = [edge_check(*row) for row in EDGES]


@check("backprop.numerical_gradient", Later("numerical_gradient_title"))
def edge_numerical_gradient():
    a, c = np.array([1.5, 0.5, 1.0]), np.array([0.5, -1.0, 0.25])
    f = checklib.judges.Callable("coupled", (a, c))
    x = np.array([1, -2, 3])
    checklib.judge_call("backprop.numerical_gradient", (f, x), f.gradient(x), label=text("numerical_gradient_label"),
                        check=checklib.judges.MatchesCallableGradient(*checklib.data()["tolerances"]["numerical_gradient"]),
                        repro=f"import numpy as np, backprop; a, c = {python(a)}, {python(c)}; backprop.numerical_gradient("
                              f"lambda x: np.sum(np.sin(a * x)) + np.sum(c * x) ** 2, {python(x)})")


# ---------------------------------------------------------------------------------------------
# Part A: the perceptron's error counts, traced by hand
# ---------------------------------------------------------------------------------------------
def trained(function, y, epochs, repro):
    result = student("tlu.perceptron_train")(XOR_X, np.array(y), lr=1.0, epochs=epochs)
    if not (isinstance(result, tuple) and len(result) == 3):
        fail(function, returned(result, Later("tuple_of", items="(w, b, errors)")), repro=repro)
    w, b, errors = result
    if np.ndim(errors) != 1 or len(errors) != epochs:
        fail(function, text("errors_shape", shape=np.shape(errors), epochs=epochs), repro=repro)
    return np.asarray(w, dtype=float), float(b), [int(e) for e in errors]


@check("tlu.perceptron_train", Later("trace_title"), uses=("tlu.heaviside",))
def own_perceptron_trace():
    repro = ("X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); "
             "tlu.perceptron_train(X, np.array([0., 0., 0., 1.]), lr=1.0, epochs=10)")
    w, b, errors = trained("tlu.perceptron_train", [0.0, 0.0, 0.0, 1.0], 10, repro)
    golden = [2, 3, 3, 2, 1, 0, 0, 0, 0, 0]   # the first z is exactly 0 and heaviside(0) = 1: a mistake
    if errors != golden:
        fail("tlu.perceptron_train", text("trace_differs", errors=errors, golden=golden), text("trace_mistake"), repro=repro)
    if not np.array_equal(np.where(XOR_X @ w + b >= 0, 1.0, 0.0), [0.0, 0.0, 0.0, 1.0]):
        fail("tlu.perceptron_train", text("not_separating", w=w, b=b), repro=repro)


@check("tlu.perceptron_train", Later("or_xor_title"), uses=("tlu.heaviside",))
def own_perceptron_or_xor():
    for gate, y, converges in (("OR", [0.0, 1.0, 1.0, 1.0], True), ("XOR", [0.0, 1.0, 1.0, 0.0], False)):
        repro = f"tlu.perceptron_train(np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]), np.array({y}), epochs=20)"
        _, _, errors = trained("tlu.perceptron_train", y, 20, repro)
        if converges and errors[-1] != 0:
            fail("tlu.perceptron_train", text("or_no_convergence", errors=errors), text("or_mistake"), repro=repro)
        if not converges and min(errors) == 0:
            fail("tlu.perceptron_train", text("xor_no_mistakes", errors=errors), text("xor_mistake"), repro=repro)


# ---------------------------------------------------------------------------------------------
# Part B: each derivative against central differences of your own activation
# ---------------------------------------------------------------------------------------------
def literal_eq16(name, got, z):
    """The likely mistake when a derivative is one of the slide's literal readings of eq. (16), phi'(z) = 2 phi(2z) - 1."""
    tanh, sigmoid = student("activations.tanh"), student("activations.sigmoid")
    if name == "tanh_grad" and np.shape(got) == z.shape:
        for reading, value in (("2 sigma(2z) - 1", 2 * sigmoid(2 * z) - 1), ("2 tanh(2z) - 1", 2 * tanh(2 * z) - 1)):
            if np.allclose(got, value):
                return text("eq16_literal", reading=reading)
    if name == "sigmoid_grad" and np.shape(got) == z.shape:
        if np.allclose(got, z * (1 - z)):
            return text("sigmoid_on_output")
        twice = sigmoid(sigmoid(z))
        if np.allclose(got, twice * (1 - twice)):
            return text("sigmoid_twice")
    return ""


DERIVATIVES = [  # (derivative, its activation, keyword arguments, seed, margin from the kink)
    ("sigmoid_grad", "sigmoid", {}, 14, 0.0), ("tanh_grad", "tanh", {}, 15, 0.0),
    ("relu_grad", "relu", {}, 17, 1e-3), ("leaky_relu_grad", "leaky_relu", {"alpha": 0.2}, 18, 1e-3),
]


def derivative_check(name, forward, kwargs, seed, margin):
    def run():
        z, code = points(seed, (4, 3), margin)
        phi = student(f"activations.{forward}")
        got = student(f"activations.{name}")(z, **kwargs)
        numeric = checklib.elementwise_differences(lambda v: phi(v, **kwargs), z, h())
        keywords = "".join(f", {k}={v!r}" for k, v in kwargs.items())
        expect_gradient(f"activations.{name}", got, numeric, text("central_differences_of", forward=forward),
                        mistake=literal_eq16(name, got, z),
                        call=text("call_shaped", call=f"{name}(z{keywords})", name="z", shape=(4, 3)),
                        repro=f"{code}; activations.{name}(z{keywords})")
    run.__name__ = f"own_{name}"
    return check(f"activations.{name}", Later("derivative_title", name=name, forward=forward),
                 uses=(f"activations.{forward}",))(run)


OWN_DERIVATIVES = [derivative_check(*row) for row in DERIVATIVES]


@check("activations.softmax_jacobian", Later("jacobian_title"), uses=("activations.softmax",))
def own_softmax_jacobian():
    Z, code = points(21, (3, 4))
    softmax = student("activations.softmax")
    call = text("call_shaped", call="softmax_jacobian(z)", name="z", shape=(3, 4))
    got = expect("activations.softmax_jacobian", student("activations.softmax_jacobian")(Z), np.zeros((3, 4, 4)),
                 (1e100, 1e100), names=("J",), call=call)   # its form
    for seed in (1, 2):   # J v, row by row, against the change of your softmax along v
        V = np.random.default_rng(seed).normal(size=Z.shape)
        numeric = (softmax(Z + h() * V) - softmax(Z - h() * V)) / (2 * h())
        expect_slope("activations.softmax_jacobian", np.einsum("nij,nj->ni", got, V), numeric, "jacobian_differs",
                     "J", call=call, repro=f"{code}; activations.softmax_jacobian(z)")


@check("activations.ACTIVATIONS", Later("registry_title"), question="activations")
def own_registry():
    registry = student("activations.ACTIVATIONS")
    module = checklib.module("activations")
    for name in ("identity", "sigmoid", "tanh", "relu", "leaky_relu"):
        entry = registry.get(name)
        if not (isinstance(entry, tuple) and len(entry) == 2 and entry[0] is getattr(module, name)
                and entry[1] is getattr(module, name + "_grad")):
            shown = "(" + ", ".join(getattr(f, "__name__", repr(f)) for f in entry) + ")" if isinstance(entry, tuple) else repr(entry)
            fail("activations.ACTIVATIONS", text("registry_entry", name=name, shown=shown), text("registry_mistake"))


# ---------------------------------------------------------------------------------------------
# Part C: mlp_forward against your own dense_forward and activations
# ---------------------------------------------------------------------------------------------
def network(seed, sizes, n):
    rng = np.random.default_rng(seed)
    params = [(rng.normal(0.0, 0.8, (o, i)), rng.normal(0.0, 0.3, o)) for i, o in zip(sizes[:-1], sizes[1:])]
    return rng, rng.normal(0.0, 1.0, (n, sizes[0])), params


def forward_of(result, layers, repro):
    if not (isinstance(result, tuple) and len(result) == 2):
        fail("mlp.mlp_forward", returned(result, Later("tuple_of", items="(out, cache)")), repro=repro)
    out, cache = result
    if not isinstance(cache, (list, tuple)) or len(cache) != layers or not all(
            isinstance(entry, tuple) and len(entry) == 2 for entry in cache):
        fail("mlp.mlp_forward", text("cache_form", layers=layers), repro=repro)
    return out, cache


@check("mlp.mlp_forward", Later("forward_title"), uses=("mlp.dense_forward", "activations.tanh", "activations.softmax"))
def own_mlp_forward():
    _, X, params = network(31, [3, 5, 4], 6)
    repro = rerun("mlp.mlp_forward")
    out, cache = forward_of(student("mlp.mlp_forward")(X, params, ["tanh", "softmax"]), 2, repro)
    dense = student("mlp.dense_forward")
    layers = [("cache[0][0]", cache[0][0], X), ("cache[0][1]", cache[0][1], dense(X, *params[0])),
              ("cache[1][0]", cache[1][0], student("activations.tanh")(cache[0][1])),
              ("cache[1][1]", cache[1][1], dense(cache[1][0], *params[1])),
              ("out", out, student("activations.softmax")(cache[1][1]))]
    for where, got, want in layers:
        expect("mlp.mlp_forward", got, want, (1e-7, 1e-10), names=(where,),
               mistake=text("cache_mistake"), repro=repro,
               call=text("call_shaped", call="mlp_forward(X, params, ['tanh', 'softmax'])", name="X", shape=(6, 3)))


# ---------------------------------------------------------------------------------------------
# Part D: mlp_backward against central differences of your own forward pass and loss
# ---------------------------------------------------------------------------------------------
def backward_mistake(got, numeric, n, loss):
    broken = [f for f in ("mlp.mlp_forward", f"backprop.{loss}") if checklib.failed_before(f)]
    if broken:
        return text("given_failed", names=text("and").join(f.split('.')[1] for f in broken))
    ratio = float(np.sum(got * numeric) / max(np.sum(numeric * numeric), 1e-300))
    if np.allclose(got, ratio * numeric, rtol=1e-4, atol=1e-12):
        if np.isclose(ratio, n, rtol=1e-3):
            return text("factor_n", n=n)
        if np.isclose(ratio, 1.0 / n, rtol=1e-3):
            return text("factor_one_over_n", n=n)
    return text("derivative_at_z")


BACKWARD = [  # (loss, layer sizes, activations, seed)
    ("cross_entropy", [3, 5, 4], ["tanh", "softmax"], 31), ("mse", [2, 3, 2], ["sigmoid", "sigmoid"], 32),
]


def backward_check(loss, sizes, activations, seed):
    def run():
        rng, X, params = network(seed, sizes, 5)
        Y = rng.integers(0, sizes[-1], 5) if loss == "cross_entropy" else rng.uniform(0.0, 1.0, (5, sizes[-1]))
        forward, loss_of = student("mlp.mlp_forward"), student(f"backprop.{loss}")
        _, cache = forward(X, params, activations)
        grads = student("backprop.mlp_backward")(Y, params, cache, activations, loss)
        if not isinstance(grads, (list, tuple)) or len(grads) != len(params):
            fail("backprop.mlp_backward", returned(grads, Later("pairs_of", layers=len(params))))
        call = text("call_layers", call=f"mlp_backward(Y, params, cache, {activations}, {loss!r})", sizes=sizes)
        for l, (W, b) in enumerate(params):
            for k, array in enumerate((W, b)):
                where = f"grads[{l}][{k}]"
                got = grads[l][k] if isinstance(grads[l], (list, tuple)) and len(grads[l]) == 2 else None
                got = expect("backprop.mlp_backward", got, array, (1e100, 1e100), names=(where,), call=call)   # its form

                def f(value, l=l, k=k):
                    trial = [list(p) for p in params]
                    trial[l][k] = value
                    return loss_of(forward(X, [tuple(p) for p in trial], activations)[0], Y)
                # sum(grads * v) against the change of your loss along v, for two random directions v
                directions = [np.random.default_rng(seed).normal(size=array.shape) for seed in (1, 2)]
                numeric = np.array([directional_difference(f, array, v, h()) for v in directions])
                analytic = np.array([np.sum(got * v) for v in directions])
                expect_slope("backprop.mlp_backward", analytic, numeric, "backward_differs", where, loss=loss,
                             mistake=backward_mistake(analytic, numeric, 5, loss), call=call,
                             repro=rerun("backprop.mlp_backward"))
    run.__name__ = f"own_mlp_backward_{loss}"
    return check("backprop.mlp_backward", Later("backward_title", sizes=sizes, activations="/".join(activations),
                                                loss=loss),
                 uses=("mlp.mlp_forward", "mlp.dense_forward", f"backprop.{loss}", "backprop.one_hot", "backprop.dense_backward",
                       *[f"activations.{a}" for a in activations], *[f"activations.{a}_grad" for a in activations]))(run)


OWN_BACKWARD = [backward_check(*row) for row in BACKWARD]


# ---------------------------------------------------------------------------------------------
# Part E: XOR training with your own functions
# ---------------------------------------------------------------------------------------------
TRAIN_USES = ("mlp.dense_forward", "mlp.mlp_forward", "backprop.one_hot", "backprop.dense_backward", "backprop.mlp_backward",
              "backprop.gradient_descent_step")   # what train calls of the student's, besides the activations and the loss


@check("backprop.train", Later("xor_title"), uses=TRAIN_USES + ("activations.tanh", "activations.tanh_grad",
                                                               "activations.softmax", "backprop.cross_entropy"))
def own_train_xor():
    repro = ("X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); "
             "params, losses = backprop.train(X, np.array([0, 1, 1, 0]), [2, 4, 2], ['tanh', 'softmax'])")
    result = student("backprop.train")(XOR_X, XOR_Y, [2, 4, 2], ["tanh", "softmax"], loss="cross_entropy",
                                       lr=0.5, epochs=1000, seed=0)
    if not (isinstance(result, tuple) and len(result) == 2) or np.ndim(result[1]) != 1 or len(result[1]) != 1000:
        fail("backprop.train", text("train_form"), repro=repro)
    params, losses = result
    forward, cross_entropy = student("mlp.mlp_forward"), student("backprop.cross_entropy")
    first = cross_entropy(forward(XOR_X, student("mlp.init_params")([2, 4, 2], 0), ["tanh", "softmax"])[0], XOR_Y)
    expect("backprop.train", float(losses[0]), float(first), EXACT, form="scalar", names=("losses[0]",),
           mistake=text("first_loss_mistake"), repro=repro)
    out, _ = forward(XOR_X, params, ["tanh", "softmax"])
    if not float(losses[-1]) < XOR_LOSS_BELOW or not np.array_equal(np.argmax(out, axis=1), XOR_Y):
        fail("backprop.train", text("xor_unlearned", last=float(losses[-1]), below=XOR_LOSS_BELOW,
                                    predicted=np.argmax(out, axis=1).tolist()), text("xor_mistake_loop"), repro=repro)


@check("backprop.train", Later("mse_title"), uses=TRAIN_USES + ("activations.tanh", "activations.tanh_grad",
                                                               "activations.sigmoid", "activations.sigmoid_grad", "backprop.mse"))
def own_train_mse():
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    acts, init = ["tanh", "sigmoid"], student("mlp.init_params")([2, 3, 1], 1)
    result = student("backprop.train")(XOR_X, Y, [2, 3, 1], acts, loss="mse", lr=0.5, epochs=1, seed=1)
    out, cache = student("mlp.mlp_forward")(XOR_X, init, acts)
    grads = student("backprop.mlp_backward")(Y, init, cache, acts, "mse")
    expected = (student("backprop.gradient_descent_step")(init, grads, 0.5), [student("backprop.mse")(out, Y)])
    expect("backprop.train", result, expected, (1e-9, 1e-12), form=checklib.compare.tuple_of(checklib.compare.PAIRS,
           checklib.compare.SEQUENCE), names=("params", "losses"),
           mistake=text("mse_mistake"),
           call="train(X, Y, [2, 3, 1], ['tanh', 'sigmoid'], loss='mse', lr=0.5, epochs=1, seed=1)",
           repro=rerun("backprop.train"))


# ---------------------------------------------------------------------------------------------
# Running them (checklib/runner.py): the public cases and the checks above, question by question
# ---------------------------------------------------------------------------------------------
CHECKS = checklib.checks_by_question()


def run(question, quiet=False):
    """One question's checks, as grader.check runs them: True, or AssertionError listing the FAILs."""
    return checklib.run(question, quiet, TIME_LIMIT)


class Notebook(checklib.Notebook):
    """The notebook's grader when Otter is not installed (see checklib.Notebook)."""

    def time_limit(self):
        return TIME_LIMIT


def main(argv=None):
    return checklib.main(argv, TIME_LIMIT)


if __name__ == "__main__":
    sys.exit(main())
