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

In the notebook, grader.check("tlu") calls checks.run("tlu", quiet=True): it returns True when
every check passes and otherwise raises AssertionError listing the FAIL lines.

Passing these checks is only a part of the grading: hidden cases try other inputs.
"""
import sys

import numpy as np

import checklib
from checklib import OTTER_INSTALL, check, directional_difference, expect, expect_gradient, fail, student  # noqa: F401 (OTTER_INSTALL: the notebook's)

TIME_LIMIT = 5.0   # seconds a check may take (`--time-limit N` on the command line)
EXACT = (1e-9, 1e-12)   # hand-traced numbers: rtol, atol
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])
XOR_LOSS_BELOW = 0.01   # the loss a correct loop reaches in 1000 epochs at lr 0.5 (the notebook's Part E)


def h():
    return checklib.data()["settings"].gradcheck_h


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
OVERFLOW = ("np.exp of a large positive number overflows: write it so that every exponent is <= 0 (for the sigmoid "
            "with e^-|z|; np.where computes both of its branches everywhere, so each must be safe for every z)")
EDGES = [  # (function, args, kwargs, expected, what the input probes, warning-free[, the likely mistake])
    ("tlu.sign", (np.array([-3, 0, 2]),), {}, np.array([-1.0, 0.0, 1.0]), "an integer z gives float64", False),
    ("tlu.tlu", (XOR_X, np.array([1.0, 1.0]), -1.5), {"step": "sign"}, np.array([-1.0, -1.0, -1.0, 1.0]),
     "an AND unit with step='sign'", False),
    ("tlu.perceptron_layer", LAYER + ("sign",), {}, np.array([[-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [-1.0, 1.0, -1.0],
                                                              [1.0, 1.0, -1.0]]), "the AND, OR, NOR layer with step='sign'", False),
    ("activations.sigmoid", (np.array([-1000.0, 0.0, 1000.0]),), {}, np.array([0.0, 0.5, 1.0]), "|z| = 1000", True, OVERFLOW),
    ("activations.relu", (np.array([-4, 0, 5]),), {}, np.array([0.0, 0.0, 5.0]), "an integer z gives float64", False),
    ("activations.softmax", (np.array([[1000.0, 1000.0], [-1000.0, 0.0]]),), {}, np.array([[0.5, 0.5], [0.0, 1.0]]),
     "|z| = 1000", True, "e^1000 overflows: subtract each row's maximum first (it does not change the result)"),
    ("mlp.predict", (np.array([[0.0, 0.0], [2.0, 1.5], [1.0, 3.0], [0.25, 0.26]]), [(np.array([[1.0, -1.0]]), np.array([0.5]))],
                     ["identity"]), {}, np.array([1, 1, 0, 0]), "one output unit: outputs [0.5, 1, -1.5, 0.49]", False),
    ("backprop.one_hot", (np.array([1, 0]), 4), {}, np.array([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]),
     "more classes than labels seen", False),
    ("backprop.cross_entropy", (np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([0, 0])), {}, (np.log(1e12) + np.log(2.0)) / 2,
     "a probability of 0 at the true class", True, "log(0) is -inf: the docstring clips P to [1e-12, 1] first"),
]


def python(value):
    """`value` as code a student can paste (after `import numpy as np`)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(python(v) for v in value) + ("," if isinstance(value, tuple) and len(value) == 1 else "")
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)


def edge_check(function, args, kwargs, expected, label, warning_free, hint=""):
    call = ", ".join([python(a) for a in args] + [f"{k}={python(v)}" for k, v in kwargs.items()])

    def run():
        checklib.judge_call(function, args, expected, kwargs, label=label, warning_free=warning_free,
                            repro=f"import numpy as np, {function.split('.')[0]}; {function}({call})", hint=hint)
    run.__name__ = f"edge_{function.split('.')[1]}"
    return check(function, f"{function.split('.')[1]}: {label}")(run)


OWN_EDGES = [edge_check(*row) for row in EDGES]


@check("backprop.numerical_gradient", "numerical_gradient: an integer x and f(x) = sum(sin(a x)) + (sum(c x))^2, x left as it was")
def edge_numerical_gradient():
    f = checklib.judges.Callable("coupled", (np.array([1.5, 0.5, 1.0]), np.array([0.5, -1.0, 0.25])))
    x = np.array([1, -2, 3])
    checklib.judge_call("backprop.numerical_gradient", (f, x), f.gradient(x), label="an integer x, every pair coupled",
                        check=checklib.judges.MatchesCallableGradient(*checklib.data()["tolerances"]["numerical_gradient"]),
                        repro="see edge_numerical_gradient in checks.py")


# ---------------------------------------------------------------------------------------------
# Part A: the perceptron's error counts, traced by hand
# ---------------------------------------------------------------------------------------------
def trained(function, y, epochs, repro):
    result = student("tlu.perceptron_train")(XOR_X, np.array(y), lr=1.0, epochs=epochs)
    if not (isinstance(result, tuple) and len(result) == 3):
        fail(function, f"returned a {type(result).__name__}, expected a tuple (w, b, errors)", repro=repro)
    w, b, errors = result
    if np.ndim(errors) != 1 or len(errors) != epochs:
        fail(function, f"errors has shape {np.shape(errors)}, expected one count per epoch ({epochs})", repro=repro)
    return np.asarray(w, dtype=float), float(b), [int(e) for e in errors]


@check("tlu.perceptron_train", "perceptron_train: AND from w = 0, b = 0 gives the error counts traced by hand")
def own_perceptron_trace():
    repro = ("X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); "
             "tlu.perceptron_train(X, np.array([0., 0., 0., 1.]), lr=1.0, epochs=10)")
    w, b, errors = trained("tlu.perceptron_train", [0.0, 0.0, 0.0, 1.0], 10, repro)
    golden = [2, 3, 3, 2, 1, 0, 0, 0, 0, 0]   # the first z is exactly 0 and heaviside(0) = 1: a mistake
    if errors != golden:
        fail("tlu.perceptron_train", f"errors = {errors}, expected {golden} on AND with lr = 1",
             "count a sample's mistake before its update, update after every sample (not once per epoch), "
             "start from w = 0, b = 0, with heaviside(0) = 1", repro=repro)
    if not np.array_equal(np.where(XOR_X @ w + b >= 0, 1.0, 0.0), [0.0, 0.0, 0.0, 1.0]):
        fail("tlu.perceptron_train", f"the returned w = {w}, b = {b} do not separate AND", repro=repro)


@check("tlu.perceptron_train", "perceptron_train: converges on OR (errors ends with 0), never on XOR")
def own_perceptron_or_xor():
    for gate, y, converges in (("OR", [0.0, 1.0, 1.0, 1.0], True), ("XOR", [0.0, 1.0, 1.0, 0.0], False)):
        repro = f"tlu.perceptron_train(np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]), np.array({y}), epochs=20)"
        _, _, errors = trained("tlu.perceptron_train", y, 20, repro)
        if converges and errors[-1] != 0:
            fail("tlu.perceptron_train", f"does not converge on OR: errors = {errors}",
                 "Rosenblatt's rule changes w and b after every sample whose prediction is wrong", repro=repro)
        if not converges and min(errors) == 0:
            fail("tlu.perceptron_train", f"reports an epoch without mistakes on XOR: errors = {errors}",
                 "XOR is not linearly separable, so some sample is wrong in every epoch: count before each update",
                 repro=repro)


# ---------------------------------------------------------------------------------------------
# Part B: each derivative against central differences of your own activation
# ---------------------------------------------------------------------------------------------
def literal_eq16(name, got, z):
    """The likely mistake when a derivative is one of the slide's literal readings of eq. (16)."""
    tanh, sigmoid = student("activations.tanh"), student("activations.sigmoid")
    if name == "tanh_grad" and np.shape(got) == z.shape:
        for reading, value in (("2 sigma(2z) - 1", 2 * sigmoid(2 * z) - 1), ("2 tanh(2z) - 1", 2 * tanh(2 * z) - 1)):
            if np.allclose(got, value):
                return (f"the slide's eq. (16), phi'(z) = 2 phi(2z) - 1, read literally as {reading}: it is not "
                        "the derivative of tanh (at z = 0 it gives -1, but tanh rises there with slope 1)")
    if name == "sigmoid_grad" and np.shape(got) == z.shape:
        if np.allclose(got, z * (1 - z)):
            return "sigma'(z) computed as if z were the output: the kit's derivatives take the pre-activation z"
        twice = sigmoid(sigmoid(z))
        if np.allclose(got, twice * (1 - twice)):
            return "sigma' applied to sigma(z) (the output) instead of z: the sigmoid is applied twice"
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
        expect_gradient(f"activations.{name}", got, numeric, f"central differences of your {forward}",
                        mistake=literal_eq16(name, got, z), call=f"{name}(z{keywords}) with z of shape (4, 3)",
                        repro=f"{code}; activations.{name}(z{keywords})")
    run.__name__ = f"own_{name}"
    return check(f"activations.{name}", f"{name}: against central differences of your {forward}")(run)


OWN_DERIVATIVES = [derivative_check(*row) for row in DERIVATIVES]


@check("activations.softmax_jacobian", "softmax_jacobian: a batch (N, K) against central differences of your softmax")
def own_softmax_jacobian():
    Z, code = points(21, (3, 4))
    softmax = student("activations.softmax")
    got = expect("activations.softmax_jacobian", student("activations.softmax_jacobian")(Z), np.zeros((3, 4, 4)),
                 (1e100, 1e100), names=("J",), call="softmax_jacobian(z) with z of shape (3, 4)")   # its form
    for seed in (1, 2):   # J v, row by row, against the change of your softmax along v
        V = np.random.default_rng(seed).normal(size=Z.shape)
        numeric = (softmax(Z + h() * V) - softmax(Z - h() * V)) / (2 * h())
        expect_gradient("activations.softmax_jacobian", np.einsum("nij,nj->ni", got, V), numeric,
                        "central differences of your softmax along a random direction v, row by row",
                        where="J v", call="softmax_jacobian(z) with z of shape (3, 4)",
                        repro=f"{code}; activations.softmax_jacobian(z)")


@check("activations.ACTIVATIONS", "ACTIVATIONS maps the five names to (function, derivative) of activations.py",
       question="activations")
def own_registry():
    registry = student("activations.ACTIVATIONS")
    module = checklib.module("activations")
    for name in ("identity", "sigmoid", "tanh", "relu", "leaky_relu"):
        entry = registry.get(name)
        if not (isinstance(entry, tuple) and len(entry) == 2 and entry[0] is getattr(module, name)
                and entry[1] is getattr(module, name + "_grad")):
            shown = "(" + ", ".join(getattr(f, "__name__", repr(f)) for f in entry) + ")" if isinstance(entry, tuple) else repr(entry)
            fail("activations.ACTIVATIONS", f"ACTIVATIONS[{name!r}] is {shown}, expected ({name}, {name}_grad)",
                 "keep the given dict: each name maps to the pair (function, derivative) of this module")


# ---------------------------------------------------------------------------------------------
# Part C: mlp_forward against your own dense_forward and activations
# ---------------------------------------------------------------------------------------------
def network(seed, sizes, n):
    rng = np.random.default_rng(seed)
    params = [(rng.normal(0.0, 0.8, (o, i)), rng.normal(0.0, 0.3, o)) for i, o in zip(sizes[:-1], sizes[1:])]
    return rng, rng.normal(0.0, 1.0, (n, sizes[0])), params


def forward_of(result, layers, repro):
    if not (isinstance(result, tuple) and len(result) == 2):
        fail("mlp.mlp_forward", f"returned a {type(result).__name__}, expected a tuple (out, cache)", repro=repro)
    out, cache = result
    if not isinstance(cache, (list, tuple)) or len(cache) != layers or not all(
            isinstance(entry, tuple) and len(entry) == 2 for entry in cache):
        fail("mlp.mlp_forward", f"cache is not a list of {layers} tuples (A_prev, Z), one per layer", repro=repro)
    return out, cache


@check("mlp.mlp_forward", "mlp_forward: [3, 5, 4] tanh/softmax, each layer your dense_forward and activation")
def own_mlp_forward():
    _, X, params = network(31, [3, 5, 4], 6)
    repro = "see own_mlp_forward in checks.py: network(31, [3, 5, 4], 6) with ['tanh', 'softmax']"
    out, cache = forward_of(student("mlp.mlp_forward")(X, params, ["tanh", "softmax"]), 2, repro)
    dense = student("mlp.dense_forward")
    layers = [("cache[0][0]", cache[0][0], X), ("cache[0][1]", cache[0][1], dense(X, *params[0])),
              ("cache[1][0]", cache[1][0], student("activations.tanh")(cache[0][1])),
              ("cache[1][1]", cache[1][1], dense(cache[1][0], *params[1])),
              ("out", out, student("activations.softmax")(cache[1][1]))]
    for where, got, want in layers:
        expect("mlp.mlp_forward", got, want, (1e-7, 1e-10), names=(where,),
               mistake="cache[l] = (A_prev, Z): the layer's input and its pre-activation, before the activation",
               call="mlp_forward(X, params, ['tanh', 'softmax']) with X of shape (6, 3)", repro=repro)


# ---------------------------------------------------------------------------------------------
# Part D: mlp_backward against central differences of your own forward pass and loss
# ---------------------------------------------------------------------------------------------
def backward_mistake(got, numeric, n, loss):
    broken = [f for f in ("mlp.mlp_forward", f"backprop.{loss}") if checklib.failed_before(f)]
    if broken:
        return (f"this check differentiates your own {' and '.join(f.split('.')[1] for f in broken)}, which failed "
                "a check above: fix that first")
    ratio = float(np.sum(got * numeric) / max(np.sum(numeric * numeric), 1e-300))
    if np.allclose(got, ratio * numeric, rtol=1e-4, atol=1e-12):
        if np.isclose(ratio, n, rtol=1e-3):
            return f"off by a factor of N = {n}: the loss is a mean over the N samples, so delta^L carries 1/N"
        if np.isclose(ratio, 1.0 / n, rtol=1e-3):
            return f"off by a factor of 1/N = 1/{n}: the 1/N is applied twice"
    return "phi'(Z) at the pre-activation Z (cache[l][1]), not at A, in every hidden layer"


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
            fail("backprop.mlp_backward", f"returned a {type(grads).__name__}, expected a list of {len(params)} (dW, db) pairs")
        call = f"mlp_backward(Y, params, cache, {activations}, {loss!r}), layers {sizes}"
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
                expect_gradient("backprop.mlp_backward", analytic, numeric,
                                f"central differences of your {loss}(mlp_forward(...)) along random directions",
                                where=f"sum({where} * v)", mistake=backward_mistake(analytic, numeric, 5, loss),
                                call=call, repro=f"see own_mlp_backward_{loss} in checks.py")
    run.__name__ = f"own_mlp_backward_{loss}"
    return check("backprop.mlp_backward", f"mlp_backward: {sizes} {'/'.join(activations)} with {loss}, against "
                                          f"central differences of your mlp_forward and {loss}")(run)


OWN_BACKWARD = [backward_check(*row) for row in BACKWARD]


# ---------------------------------------------------------------------------------------------
# Part E: XOR training with your own functions
# ---------------------------------------------------------------------------------------------
@check("backprop.train", "train: [2, 4, 2] tanh/softmax learns XOR in 1000 epochs at lr 0.5 (loss below 0.01)")
def own_train_xor():
    repro = ("X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); "
             "params, losses = backprop.train(X, np.array([0, 1, 1, 0]), [2, 4, 2], ['tanh', 'softmax'])")
    result = student("backprop.train")(XOR_X, XOR_Y, [2, 4, 2], ["tanh", "softmax"], loss="cross_entropy",
                                       lr=0.5, epochs=1000, seed=0)
    if not (isinstance(result, tuple) and len(result) == 2) or np.ndim(result[1]) != 1 or len(result[1]) != 1000:
        fail("backprop.train", "expected a tuple (params, losses) with one loss per epoch (1000)", repro=repro)
    params, losses = result
    forward, cross_entropy = student("mlp.mlp_forward"), student("backprop.cross_entropy")
    first = cross_entropy(forward(XOR_X, student("mlp.init_params")([2, 4, 2], 0), ["tanh", "softmax"])[0], XOR_Y)
    expect("backprop.train", float(losses[0]), float(first), EXACT, form="scalar", names=("losses[0]",),
           mistake="losses[0] is the loss of init_params(layer_sizes, seed) before any update: record it before the step",
           repro=repro)
    out, _ = forward(XOR_X, params, ["tanh", "softmax"])
    if not float(losses[-1]) < XOR_LOSS_BELOW or not np.array_equal(np.argmax(out, axis=1), XOR_Y):
        fail("backprop.train", f"losses[-1] = {float(losses[-1]):.4g} (expected below {XOR_LOSS_BELOW}); the trained "
                               f"network predicts {np.argmax(out, axis=1).tolist()}, expected [0, 1, 1, 0]",
             "each epoch: forward, loss, mlp_backward, then keep params = gradient_descent_step(params, grads, lr)",
             repro=repro)


@check("backprop.train", "train: one epoch with mse is your forward pass, mse, mlp_backward and gradient_descent_step")
def own_train_mse():
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    acts, init = ["tanh", "sigmoid"], student("mlp.init_params")([2, 3, 1], 1)
    result = student("backprop.train")(XOR_X, Y, [2, 3, 1], acts, loss="mse", lr=0.5, epochs=1, seed=1)
    out, cache = student("mlp.mlp_forward")(XOR_X, init, acts)
    grads = student("backprop.mlp_backward")(Y, init, cache, acts, "mse")
    expected = (student("backprop.gradient_descent_step")(init, grads, 0.5), [student("backprop.mse")(out, Y)])
    expect("backprop.train", result, expected, (1e-9, 1e-12), form=checklib.compare.tuple_of(checklib.compare.PAIRS,
           checklib.compare.SEQUENCE), names=("params", "losses"),
           mistake="an epoch: the loss asked for (here mse) of the forward pass, recorded before the update, "
                   "then mlp_backward with that loss and gradient_descent_step",
           call="train(X, Y, [2, 3, 1], ['tanh', 'sigmoid'], loss='mse', lr=0.5, epochs=1, seed=1)",
           repro="see own_train_mse in checks.py")


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
