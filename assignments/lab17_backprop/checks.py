"""Public self-checks for Lab 17 (Neural Networks and Backpropagation I).

Run them from this folder:

    python checks.py              # all five questions
    python checks.py backprop     # one question: tlu, activations, forward, backprop, training
    python checks.py --time-limit 20 training    # more time per check on a slow computer

Every check prints one line, PASS or FAIL, as soon as it finishes; a FAIL says which function, on
which input, what was expected beside what came back, the likely mistake, the lecture equation to
reread and a line that reproduces it. Every check has a time limit (TIME_LIMIT, 5 s): a function
that loops forever gives one FAIL line and the run goes on. The exit status is 0 when everything
passes and 1 otherwise.

In the notebook, grader.check("tlu") calls checks.run("tlu", quiet=True): it returns True when
every check passes and otherwise raises AssertionError listing the FAIL lines.

These checks are public and only a part of the grading: hidden tests try other inputs. Passing
them means your functions do what their docstrings ask on these examples, not that they are
correct everywhere. The checks use only the standard library and NumPy, and never the reference
solution: expected values are small golden numbers worked out by hand, properties every
correct answer has, or derivatives measured here with central differences of your own functions.
"""
import contextlib
import importlib
import inspect
import multiprocessing
import os
import signal
import sys
import threading
import traceback
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # import your modules from the folder this file sits in

# ---------------------------------------------------------------------------------------------
# Settings (the same values as the grading engine's autograder/config.py)
# ---------------------------------------------------------------------------------------------
# Gradient checks compare an analytic derivative a with central differences n,
#     (f(x + h e_i) - f(x - h e_i)) / 2h,   h = 1e-5,
# by the relative error max|a - n| / max(1e-8, max|a| + max|n|).
# Why 1e-6: central differences err by truncation ~ h^2 |f'''| / 6 ~ 1e-10 and by rounding
# ~ eps |f| / h ~ 2e-16 / 1e-5 ~ 1e-11 for the O(1) functions used here, so a correct derivative
# agrees to about 1e-10. A real mistake (derivative at the output, a missing 1/N, a transposed
# dW) is off by 1e-2 or more. 1e-6 sits four orders above the noise and far below any mistake.
# The ratio is scale free; the 1e-8 floor only keeps an all-zero gradient from dividing by zero.
H = 1e-5
GRAD_TOL = 1e-6
# numerical_gradient itself is held to 1e-7: central differences reach ~1e-10 on sin(x) + x^3,
# while forward differences (f(x + h) - f(x)) / h err by ~h |f''| / 2, about 1e-6 relative.
NUMGRAD_TOL = 1e-7
# Random points for relu and leaky_relu stay this far from the kink at 0 (h is much smaller,
# so no central difference straddles the kink).
KINK_MARGIN = 1e-3
# Golden values are compared with np.isclose(got, expected, rtol, atol).
RTOL, ATOL = 1e-7, 1e-9
# XOR training target (the notebook's Part E).
XOR_LOSS_BELOW = 0.01

STUDENT_MODULES = ["activations", "tlu", "mlp", "backprop"]  # in dependency order

# Seconds a check may take. The slowest check (XOR training, 1000 epochs) takes well under a
# second with a correct solution; a check still running at the limit is stopped and reported as
# a loop that never ends. `python checks.py --time-limit 20` gives a slow computer more time.
TIME_LIMIT = 5.0
# Where the checks run (see run_limited): "fork" (a child process per check, killed at the limit)
# on Linux; "thread" on Windows (no fork) and macOS (fork is unsafe there after NumPy and the
# system libraries are loaded, which is why Python itself stopped using it by default).
# CHECKS_RUN_IN=thread or =fork overrides the choice.
RUN_IN = os.environ.get("CHECKS_RUN_IN") or (
    "fork" if "fork" in multiprocessing.get_all_start_methods() and sys.platform.startswith("linux") else "thread")

QUESTIONS = {  # question: (part, points)
    "tlu": ("Part A, tlu.py", 15),
    "activations": ("Part B, activations.py", 25),
    "forward": ("Part C, mlp.py", 20),
    "backprop": ("Part D, backprop.py", 30),
    "training": ("Part E, backprop.py", 10),
}

# What to reread, by function. The equation numbers are the lecture's.
REREAD = {
    "heaviside": "the slide 'Common step functions used in Perceptrons': heaviside(z) = 0 if z < 0, "
                 "1 otherwise (so heaviside(0) = 1)",
    "sign": "the slide 'Common step functions used in Perceptrons': sgn(z) = -1 if z < 0, 0 if z = 0, +1 if z > 0",
    "tlu": "eq. (1): h(x) = step(w^T x + b); for a batch X (N, D), z = X @ w + b has shape (N,)",
    "perceptron_layer": "eq. (1) for every unit: Z = X W^T + b, one row of W per unit, then the step; shape (N, n_out)",
    "perceptron_train": "eq. (1) and Rosenblatt's rule: y_hat = heaviside(x . w + b); w += lr (y - y_hat) x; "
                        "b += lr (y - y_hat)",
    "sigmoid": "eq. (13): sigma(z) = 1 / (1 + e^-z)",
    "sigmoid_grad": "eq. (14): sigma'(z) = sigma(z) (1 - sigma(z)), taken at the pre-activation z",
    "tanh": "eq. (15): tanh(z) = (e^z - e^-z) / (e^z + e^-z)",
    "tanh_grad": "eq. (15) and its derivative tanh'(z) = 1 - tanh(z)^2. The slide's eq. (16), phi'(z) = 2 phi(2z) - 1, "
                 "is not the derivative of tanh: the identity behind it is tanh(z) = 2 sigma(2z) - 1",
    "relu": "eq. (17): relu(z) = max(0, z)",
    "relu_grad": "eq. (18): relu'(z) = 0 where z <= 0 (so relu'(0) = 0), 1 where z > 0",
    "leaky_relu": "Fig. 11-2: leaky_relu(z) = z where z > 0, alpha z elsewhere",
    "leaky_relu_grad": "Fig. 11-2: the derivative of leaky_relu is 1 where z > 0, alpha where z <= 0",
    "softmax": "Fig. 10-9: s_k = e^(z_k) / sum_j e^(z_j), over the last axis",
    "softmax_jacobian": "J[i, j] = d s_i / d z_j = s_i (delta_ij - s_j)",
    "ACTIVATIONS": "the notebook's Part B and the comment above ACTIVATIONS in activations.py: "
                   "ACTIVATIONS = {name: (function, derivative)}",
    "dense_forward": "eqs. (6)-(12): z = W x + b for every sample; for a batch Z = X W^T + b, shape (N, n_out)",
    "mlp_forward": "eqs. (6)-(12): A^0 = X; Z^l = A^(l-1) W_l^T + b_l; A^l = phi_l(Z^l); cache[l] = (A^(l-1), Z^l)",
    "predict": "Fig. 10-9: the label is the argmax of the output (out[:, 0] >= 0.5 for one output unit)",
    "one_hot": "the docstring of one_hot (notebook Part D): one_hot(y, K)[i, k] = 1.0 if k == y_i else 0.0",
    "cross_entropy": "the notebook's Part D and the docstring of cross_entropy: the mean over i of -log P[i, y_i], "
                     "with P clipped to [1e-12, 1]",
    "mse": "the notebook's Part D and the docstring of mse: (1 / 2N) sum_i ||y_hat_i - y_i||^2",
    "dense_backward": "the chain rule through Z = A_prev W^T + b: dW = dZ^T A_prev, db = sum of dZ over the batch, "
                      "dA_prev = dZ W",
    "mlp_backward": "the notebook's Part D (backpropagation) and the docstring of mlp_backward: dZ_L = (softmax(Z_L) - one_hot(Y)) / N for cross-entropy, "
                    "(phi(Z_L) - Y) / N * phi'(Z_L) for mse; then per layer dense_backward and dZ = dA * phi'(Z) "
                    "at the pre-activation Z",
    "numerical_gradient": "the notebook's Part D and the docstring of numerical_gradient: g_i = (f(x + h e_i) - f(x - h e_i)) / 2h, central differences",
    "gradient_descent_step": "gradient descent: W <- W - lr dW, b <- b - lr db (new arrays; the old ones stay as they were)",
    "train": "the notebook's Part E and the docstring of train: every epoch forward, record the loss, mlp_backward, gradient_descent_step",
}


# ---------------------------------------------------------------------------------------------
# Failures and how they are worded
# ---------------------------------------------------------------------------------------------
class CheckFailed(Exception):
    """A check found a wrong result; the message reads like a TA's comment."""


class ModuleProblem(Exception):
    """A student module could not be imported."""


class TookTooLong(BaseException):
    """Raised inside a check when its time is up. A BaseException, so that a student's
    `except Exception:` does not swallow it."""


def fail(function, problem, given=None, detail=None, mistake=None, repro=None):
    """Raise CheckFailed with a message: what, on which input, expected beside got, the likely
    mistake, the equation to reread and a line that reproduces it."""
    lines = [f"{function}: {problem}"]
    if given:
        lines.append(f"input: {given}")
    if detail:
        lines.extend(detail if isinstance(detail, list) else [detail])
    if mistake:
        lines.append(f"likely mistake: {mistake}")
    if function in REREAD:
        lines.append(f"reread {REREAD[function]}")
    if repro:
        lines.append(f"reproduce: {repro}")
    raise CheckFailed("\n".join(lines))


def shape_of(name, value):
    """'z of shape (4, 3)' for an array, 'z = 0.5' for a scalar."""
    value = np.asarray(value)
    return f"{name} of shape {value.shape}" if value.ndim else f"{name} = {value.item()!r}"


def fmt(value):
    return np.array2string(np.asarray(value), precision=8, separator=", ", max_line_width=100)


def _number(value):
    return f"{float(value):.10g}" if np.issubdtype(np.asarray(value).dtype, np.number) else repr(value)


def difference_report(got, expected, mismatch):
    """Max abs error, the first index that differs with both values, and both arrays if small."""
    err = np.abs(np.asarray(got, dtype=float) - np.asarray(expected, dtype=float))
    idx = tuple(int(i) for i in np.argwhere(mismatch)[0]) if np.ndim(mismatch) else ()
    lines = [
        f"max abs error {np.nanmax(err) if np.isfinite(err).any() else float('nan'):.3g}; first difference at "
        f"index {idx}: expected {_number(np.asarray(expected)[idx])}, got {_number(np.asarray(got)[idx])}"
    ]
    if np.size(expected) <= 12:
        lines.append(f"expected {fmt(expected)}")
        lines.append(f"     got {fmt(got)}")
    return lines


def relative_error(a, n):
    """max|a - n| / max(1e-8, max|a| + max|n|): see GRAD_TOL above."""
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
    return float(np.max(np.abs(a - n)) / max(1e-8, np.max(np.abs(a)) + np.max(np.abs(n))))


def _mistake_text(mistake, got):
    return mistake(got) if callable(mistake) else mistake


def _not_none(function, got, given, repro):
    if got is None:
        fail(function, "returned None", given, mistake="a missing return statement", repro=repro)


def expect_array(function, got, expected, given, mistake=None, repro=None, kind="float"):
    """got must be an ndarray shaped like expected, of the right dtype, with expected's values.

    kind: "float" (float64), "int" (any integer dtype) or "any".
    """
    expected = np.asarray(expected)
    _not_none(function, got, given, repro)
    if not isinstance(got, np.ndarray) and not (expected.ndim == 0 and np.ndim(got) == 0):
        fail(function, f"returned a {type(got).__name__}, expected a NumPy array of shape {expected.shape}",
             given, repro=repro)
    got_arr = np.asarray(got)
    if got_arr.shape != expected.shape:
        fail(function, f"returned shape {got_arr.shape}, expected {expected.shape}", given,
             mistake=_mistake_text(mistake, None), repro=repro)
    if kind == "float" and got_arr.dtype != np.float64:
        fail(function, f"returned dtype {got_arr.dtype}, expected float64 (the kit's arrays are float64)",
             given, mistake="a comparison or an int array; build the result from floats (1.0, 0.0) or use .astype(float)",
             repro=repro)
    if kind == "int" and not np.issubdtype(got_arr.dtype, np.integer):
        fail(function, f"returned dtype {got_arr.dtype}, expected an integer dtype", given,
             mistake="labels are integers: np.argmax gives them, or .astype(int)", repro=repro)
    if not np.issubdtype(got_arr.dtype, np.number):
        fail(function, f"returned dtype {got_arr.dtype}, expected numbers", given, repro=repro)
    close = np.isclose(got_arr.astype(float), expected.astype(float), rtol=RTOL, atol=ATOL)
    if not close.all():
        fail(function, "wrong values", given, difference_report(got_arr, expected, ~close),
             _mistake_text(mistake, got_arr), repro)
    return got_arr


def expect_scalar(function, got, expected, given, mistake=None, repro=None):
    """got must be one number (a Python float or a 0-d NumPy value) close to expected."""
    _not_none(function, got, given, repro)
    if np.ndim(got) != 0:
        fail(function, f"returned shape {np.shape(got)}, expected one number (a float)", given,
             mistake="the loss is a mean over the batch: one number, not one per sample", repro=repro)
    value = float(got)
    if not np.isclose(value, expected, rtol=RTOL, atol=ATOL):
        fail(function, "wrong value", given, [f"expected {expected!r}", f"     got {value!r}"],
             _mistake_text(mistake, value), repro)
    return value


def expect_gradient(function, got, numeric, given, against, mistake=None, repro=None, tol=GRAD_TOL,
                    problem="does not match the numerical derivative"):
    """An analytic derivative against central differences (see GRAD_TOL)."""
    numeric = np.asarray(numeric)
    _not_none(function, got, given, repro)
    if not isinstance(got, np.ndarray):
        fail(function, f"returned a {type(got).__name__}, expected a NumPy array of shape {numeric.shape}",
             given, repro=repro)
    if got.shape != numeric.shape:
        fail(function, f"returned shape {got.shape}, expected {numeric.shape}", given,
             mistake=_mistake_text(mistake, None), repro=repro)
    if got.dtype != np.float64:
        fail(function, f"returned dtype {got.dtype}, expected float64", given, repro=repro)
    if not np.isfinite(got).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        fail(function, f"returned {got[bad]} at index {bad}", given,
             mistake="an overflow or a division by zero", repro=repro)
    err = relative_error(got, numeric)
    if err > tol:
        mismatch = ~np.isclose(got, numeric, rtol=0, atol=tol * max(1e-8, np.abs(got).max() + np.abs(numeric).max()))
        detail = [f"relative error {err:.2g} (allowed {tol:g}); expected = {against}, beside got:"]
        fail(function, problem, given,
             detail + difference_report(got, numeric, mismatch), _mistake_text(mistake, got), repro)


OVERFLOW_HINT = ("np.exp of a large positive number overflows; rewrite so that every exponent is <= 0: for the "
                 "sigmoid with e = e^-|z|, 1 / (1 + e) where z >= 0 and e / (1 + e) where z < 0 (np.where computes "
                 "both branches everywhere, so each must be safe for every z); for softmax subtract the row maximum")


@contextlib.contextmanager
def no_warnings(function, given, repro=None, mistake=OVERFLOW_HINT):
    """Fail the check if the block emits a warning (overflow, division by zero, invalid value).

    NumPy's defaults apply: underflow to 0 is fine (sigmoid(-1000) is 0.0)."""
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        yield
    if caught:
        fail(function, f"emitted {caught[0].category.__name__}: {caught[0].message}", given,
             mistake=mistake, repro=repro)


# ---------------------------------------------------------------------------------------------
# Calling the student's functions
# ---------------------------------------------------------------------------------------------
_MODULES = {}  # name -> module, or the ModuleProblem met while importing it
_LOOPING = set()  # functions that ran out of time in this run: later checks skip calling them


def load_student_modules():
    """(Re)import the four modules from this folder, so the checks see the files as saved now."""
    _MODULES.clear()
    _LOOPING.clear()
    for name in STUDENT_MODULES:
        try:
            module = sys.modules.get(name)
            if module is not None and _is_student_file(getattr(module, "__file__", None) or ""):
                module = importlib.reload(module)
            else:
                sys.modules.pop(name, None)
                module = importlib.import_module(name)
            _MODULES[name] = module
        except Exception as exc:  # a syntax error, a failing import, ...
            _MODULES[name] = ModuleProblem(f"{name}.py could not be imported: {_one_line_error(exc)}")


def student(module_name, function_name):
    """The student's function, wrapped so that it fails a check if it changes its inputs."""
    module = _MODULES.get(module_name)
    if module is None:
        load_student_modules()
        module = _MODULES[module_name]
    if isinstance(module, ModuleProblem):
        raise module
    if not hasattr(module, function_name):
        fail(function_name, f"not found in {module_name}.py; the notebook and the grader call it {function_name} (renamed or deleted?)")
    target = getattr(module, function_name)
    if not callable(target):
        return target
    if function_name in _LOOPING:   # already reported: do not wait for it again
        raise TookTooLong(function_name)
    return _keeps_inputs(function_name, target)


def _snapshot(value):
    """A copy of every array inside value (lists and tuples of arrays included)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return [_snapshot(v) for v in value]
    return value


def _unchanged(before, after):
    if isinstance(before, np.ndarray):
        return isinstance(after, np.ndarray) and before.shape == after.shape and np.array_equal(before, after, equal_nan=True)
    if isinstance(before, (list, tuple)):
        return len(before) == len(after) and all(_unchanged(b, a) for b, a in zip(before, after))
    return True


def _keeps_inputs(function_name, f):
    """Wrap f: after every call, its array arguments must be exactly as they were."""
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):
        signature = None

    def wrapped(*args, **kwargs):
        before = (_snapshot(args), {key: _snapshot(value) for key, value in kwargs.items()})
        result = f(*args, **kwargs)
        for i, (b, a) in enumerate(zip(before[0], args)):
            if not _unchanged(b, a):
                names = list(signature.parameters) if signature else []
                name = names[i] if i < len(names) else f"argument {i + 1}"
                fail(function_name, f"changed its input {name} in place",
                     shape_of(name, b) if isinstance(b, np.ndarray) else None,
                     mistake="an in-place update (+=, -=, x[...] = ...) on an argument; work on a copy or build new arrays "
                             "(no function may change its inputs: the notebook's Conventions)")
        for key, b in before[1].items():
            if not _unchanged(b, kwargs[key]):
                fail(function_name, f"changed its input {key} in place",
                     mistake="work on a copy or build new arrays (no function may change its inputs: the notebook's Conventions)")
        return result

    wrapped.__name__ = function_name
    return wrapped


def _is_student_file(filename):
    """A file of this folder other than checks.py (tlu.py, activations.py, mlp.py, backprop.py)."""
    path = os.path.abspath(filename)
    return os.path.dirname(path) == HERE and os.path.basename(path) != os.path.basename(__file__)


def _one_line_error(exc):
    """'ValueError: msg (mlp.py, line 12, in dense_forward)', pointing into the student's files."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if _is_student_file(frame.filename):
            where = f" ({os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name})"
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" ({os.path.basename(exc.filename)}, line {exc.lineno})"
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}{where}"


def _raising_function(exc, fallback):
    """The innermost function of the student's files that raised NotImplementedError."""
    name = fallback
    for frame in traceback.extract_tb(exc.__traceback__):
        if _is_student_file(frame.filename):
            name = frame.name
    return name


# ---------------------------------------------------------------------------------------------
# Numerical derivatives, measured here
# ---------------------------------------------------------------------------------------------
def _steps(shape, h):
    """h e_i for every entry i of an array of this shape, one step array per entry."""
    size = int(np.prod(shape))
    return (h * row.reshape(shape) for row in np.eye(size))


def central_differences(f, x, h=H):
    """d f / d x for a scalar function f of the array x: (f(x + h e_i) - f(x - h e_i)) / 2h."""
    point = np.asarray(x, dtype=float)
    slopes = [(float(f(point + step)) - float(f(point - step))) / (2 * h) for step in _steps(point.shape, h)]
    return np.array(slopes).reshape(point.shape)


def elementwise_differences(phi, z, h=H):
    """The derivative of an elementwise function at every point of z, by central differences."""
    return (np.asarray(phi(z + h), dtype=float) - np.asarray(phi(z - h), dtype=float)) / (2 * h)


def jacobian_differences(f, z, h=H):
    """J[i, j] = d f_i / d z_j of a vector function f at the vector z, by central differences."""
    point = np.asarray(z, dtype=float)
    columns = [(np.asarray(f(point + step)) - np.asarray(f(point - step))) / (2 * h) for step in _steps(point.shape, h)]
    return np.stack(columns, axis=1)


def random_points(seed, shape, low=-3.0, high=3.0, margin=None):
    """Seeded points and the code that makes them (for the 'reproduce' line).

    With margin, every point is at least `margin` away from 0 (for the kinks of relu)."""
    rng = np.random.default_rng(seed)
    if margin is None:
        code = f"z = np.random.default_rng({seed}).uniform({low}, {high}, {shape})"
        return rng.uniform(low, high, shape), code
    code = (f"rng = np.random.default_rng({seed}); z = rng.uniform({margin}, {high}, {shape}) "
            f"* rng.choice([-1.0, 1.0], {shape})")
    return rng.uniform(margin, high, shape) * rng.choice([-1.0, 1.0], shape), code


# ---------------------------------------------------------------------------------------------
# Small networks used by the forward and backprop checks, reproducible as checks.example(name)
# ---------------------------------------------------------------------------------------------
def _network(seed, layer_sizes, n_samples):
    """Seeded non-square weights and non-zero biases (so a missing transpose fails loudly)."""
    rng = np.random.default_rng(seed)
    params = [(rng.normal(0.0, 0.8, (n_out, n_in)), rng.normal(0.0, 0.3, n_out))
              for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:])]
    X = rng.normal(0.0, 1.0, (n_samples, layer_sizes[0]))
    return rng, X, params


def _example_cross_entropy():
    """[3, 5, 4], tanh then softmax, cross-entropy with int labels."""
    _, X, params = _network(31, [3, 5, 4], 6)
    return X, np.array([0, 3, 1, 2, 3, 1]), params, ["tanh", "softmax"], "cross_entropy"


def _example_mse():
    """[2, 3, 2], sigmoid then sigmoid, mse with targets in [0, 1]."""
    rng, X, params = _network(32, [2, 3, 2], 5)
    return X, rng.uniform(0.0, 1.0, (5, 2)), params, ["sigmoid", "sigmoid"], "mse"


def _example_linear():
    """[3, 4, 2], identity layers (given to you), mse."""
    rng, X, params = _network(33, [3, 4, 2], 5)
    return X, rng.normal(0.0, 1.0, (5, 2)), params, ["identity", "identity"], "mse"


EXAMPLES = {"mlp_ce": _example_cross_entropy, "mlp_mse": _example_mse, "mlp_linear": _example_linear}


def example(name):
    """(X, Y, params, activations, loss) of a network the checks use, to reproduce a failure:

        X, Y, params, acts, loss = checks.example("mlp_ce")
        out, cache = mlp.mlp_forward(X, params, acts)
        grads = backprop.mlp_backward(Y, params, cache, acts, loss)
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; use one of {sorted(EXAMPLES)}")
    return EXAMPLES[name]()


def _repro_backward(name):
    return (f"import checks, mlp, backprop; X, Y, params, acts, loss = checks.example({name!r}); "
            "out, cache = mlp.mlp_forward(X, params, acts); grads = backprop.mlp_backward(Y, params, cache, acts, loss)")


def check(target, title):
    """Mark a check function with the student function it grades and a one-line title."""
    def mark(func):
        func.target, func.title = target, title
        return func
    return mark


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_REPRO = "X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])"


# ---------------------------------------------------------------------------------------------
# Part A: tlu.py
# ---------------------------------------------------------------------------------------------
@check("heaviside", "heaviside: 0.0 below 0 and 1.0 from 0 up (heaviside(0) = 1), float64, same shape")
def check_heaviside():
    heaviside = student("tlu", "heaviside")
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])

    def mistake(got):
        if got is not None and got.shape == (5,) and got[2] == 0:
            return "heaviside(0) is 1: use z >= 0, not z > 0"
        return None

    expect_array("heaviside", heaviside(z), [0.0, 0.0, 1.0, 1.0, 1.0], shape_of("z", z), mistake,
                 repro="tlu.heaviside(np.array([-2.0, -0.5, 0.0, 0.5, 2.0]))")
    z2 = np.array([[-1.0, 0.0, 1.0], [3.0, -3.0, 0.0]])
    expect_array("heaviside", heaviside(z2), [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]], shape_of("z", z2),
                 repro="tlu.heaviside(np.array([[-1.0, 0.0, 1.0], [3.0, -3.0, 0.0]]))")


@check("sign", "sign: -1.0, 0.0, +1.0 (sign(0) = 0), float64, same shape")
def check_sign():
    sign = student("tlu", "sign")
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    expect_array("sign", sign(z), [-1.0, -1.0, 0.0, 1.0, 1.0], shape_of("z", z),
                 repro="tlu.sign(np.array([-2.0, -0.5, 0.0, 0.5, 2.0]))")
    z2 = np.array([[-1.0, 0.0, 1.0], [3.0, -3.0, 0.0]])
    expect_array("sign", sign(z2), [[-1.0, 0.0, 1.0], [1.0, -1.0, 0.0]], shape_of("z", z2),
                 repro="tlu.sign(np.array([[-1.0, 0.0, 1.0], [3.0, -3.0, 0.0]]))")


@check("tlu", "tlu: step(X @ w + b) for a batch X (N, D) gives shape (N,), with both steps")
def check_tlu_batch():
    tlu = student("tlu", "tlu")
    w = np.array([1.0, 1.0])
    given = "X of shape (4, 2) (the XOR inputs), w = [1, 1], b = -1.5 (an AND unit)"
    expect_array("tlu", tlu(XOR_X, w, -1.5), [0.0, 0.0, 0.0, 1.0], given,
                 repro=f"{XOR_REPRO}; tlu.tlu(X, np.array([1., 1.]), b=-1.5)")
    expect_array("tlu", tlu(XOR_X, w, -1.5, step="sign"), [-1.0, -1.0, -1.0, 1.0], given + ', step="sign"',
                 repro=f"{XOR_REPRO}; tlu.tlu(X, np.array([1., 1.]), b=-1.5, step='sign')")
    X = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0], [2.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    w3 = np.array([0.5, -1.0, 0.25])  # z = X @ w3 = [1.0, -1.25, -1.0, 0.0]
    repro = ("tlu.tlu(np.array([[1., 0., 2.], [0., 1., -1.], [2., 2., 0.], [0., 0., 0.]]), "
             "np.array([0.5, -1., 0.25]), b=0.0{})")
    expect_array("tlu", tlu(X, w3, 0.0), [1.0, 0.0, 0.0, 1.0], "X of shape (4, 3), w = [0.5, -1, 0.25], b = 0",
                 mistake="z = X @ w + b = [1.0, -1.25, -1.0, 0.0]; the last sample sits exactly on 0", repro=repro.format(""))
    expect_array("tlu", tlu(X, w3, 0.0, step="sign"), [1.0, -1.0, -1.0, 0.0],
                 'X of shape (4, 3), w = [0.5, -1, 0.25], b = 0, step="sign"', repro=repro.format(", step='sign'"))


@check("tlu", "tlu: a single input x (D,) gives a 0-d result")
def check_tlu_single():
    tlu = student("tlu", "tlu")
    for x, expected in (([1.0, 1.0], 1.0), ([0.0, 1.0], 0.0)):
        expect_array("tlu", tlu(np.array(x), np.array([1.0, 1.0]), -1.5), expected,
                     f"x = {x} of shape (2,), w = [1, 1], b = -1.5",
                     mistake="x . w + b is one number for one input x (D,): do not reshape x into a batch",
                     repro=f"tlu.tlu(np.array({x}), np.array([1., 1.]), b=-1.5)")


@check("perceptron_layer", "perceptron_layer: the lecture's layer of 3 TLUs with 2 inputs (AND, OR, NOR), shape (N, 3)")
def check_perceptron_layer_lecture():
    layer = student("tlu", "perceptron_layer")
    W = np.array([[1.0, 1.0], [1.0, 1.0], [-1.0, -1.0]])
    b = np.array([-1.5, -0.5, 0.5])
    expected = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]  # columns AND, OR, NOR
    expect_array("perceptron_layer", layer(XOR_X, W, b), expected,
                 "X of shape (4, 2) (the XOR inputs), W of shape (3, 2) (rows: AND, OR, NOR units), b = [-1.5, -0.5, 0.5]",
                 mistake="one TLU per row of W: Z = X @ W.T + b has shape (N, 3)",
                 repro=f"{XOR_REPRO}; tlu.perceptron_layer(X, np.array([[1., 1.], [1., 1.], [-1., -1.]]), np.array([-1.5, -0.5, 0.5]))")


@check("perceptron_layer", "perceptron_layer: a hand example with unequal weights, both steps")
def check_perceptron_layer_hand():
    layer = student("tlu", "perceptron_layer")
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    W = np.array([[2.0, -1.0], [0.5, 1.0], [-1.0, 0.0]])
    b = np.array([0.0, -1.0, 0.5])
    # Z = X W^T + b = [[0.0, 1.5, -0.5], [7.0, -0.5, -2.5]]
    given = "X of shape (2, 2), W of shape (3, 2), b of shape (3,); Z = X W^T + b = [[0, 1.5, -0.5], [7, -0.5, -2.5]]"
    repro = ("tlu.perceptron_layer(np.array([[1., 2.], [3., -1.]]), np.array([[2., -1.], [0.5, 1.], [-1., 0.]]), "
             "np.array([0., -1., 0.5]){})")
    expect_array("perceptron_layer", layer(X, W, b), [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], given,
                 mistake="Z = X @ W.T + b (W has one row per unit), then heaviside with heaviside(0) = 1",
                 repro=repro.format(""))
    expect_array("perceptron_layer", layer(X, W, b, step="sign"), [[0.0, 1.0, -1.0], [1.0, -1.0, -1.0]],
                 given + ', step="sign"', repro=repro.format(", step='sign'"))


def _check_train_result(result, epochs, given, repro):
    if not (isinstance(result, tuple) and len(result) == 3):
        fail("perceptron_train", f"returned {type(result).__name__}, expected a tuple (w, b, errors)", given, repro=repro)
    w, b, errors = result
    if np.shape(w) != (2,) or np.ndim(b) != 0:
        fail("perceptron_train", f"returned w of shape {np.shape(w)} and b of shape {np.shape(b)}, expected (2,) and a number",
             given, repro=repro)
    if np.ndim(errors) != 1 or len(errors) != epochs:
        fail("perceptron_train", f"returned {np.shape(errors)} error counts, expected one per epoch: len(errors) == {epochs}",
             given, repro=repro)
    return np.asarray(w, dtype=float), float(b), [int(e) for e in errors]


@check("perceptron_train", "perceptron_train: learns AND, with the error counts of Rosenblatt's rule from w = 0, b = 0")
def check_perceptron_train_and():
    train = student("tlu", "perceptron_train")
    y = np.array([0.0, 0.0, 0.0, 1.0])
    given = "X of shape (4, 2) (the XOR inputs), y = [0, 0, 0, 1] (AND), lr = 1, epochs = 10"
    repro = f"{XOR_REPRO}; tlu.perceptron_train(X, np.array([0., 0., 0., 1.]), lr=1.0, epochs=10)"
    w, b, errors = _check_train_result(train(XOR_X, y, lr=1.0, epochs=10), 10, given, repro)
    # Traced by hand: the first z is exactly 0, heaviside(0) = 1, so the first sample is a mistake.
    golden = [2, 3, 3, 2, 1, 0, 0, 0, 0, 0]
    if errors != golden:
        fail("perceptron_train", "wrong error counts per epoch", given, [f"expected {golden}", f"     got {errors}"],
             "count a mistake before that sample's update, update after every sample (not once per epoch), "
             "start from w = zeros(D), b = 0.0, and use heaviside with heaviside(0) = 1", repro)
    if not np.array_equal(np.where(XOR_X @ w + b >= 0, 1.0, 0.0), y):
        fail("perceptron_train", f"the returned w = {w}, b = {b} do not separate AND", given, repro=repro)


@check("perceptron_train", "perceptron_train: converges on OR (errors ends with 0) and never on XOR")
def check_perceptron_train_or_xor():
    train = student("tlu", "perceptron_train")
    for gate, y, converges in (("OR", [0.0, 1.0, 1.0, 1.0], True), ("XOR", [0.0, 1.0, 1.0, 0.0], False)):
        given = f"X of shape (4, 2), y = {[int(v) for v in y]} ({gate}), lr = 1, epochs = 20"
        repro = f"{XOR_REPRO}; tlu.perceptron_train(X, np.array({y}), lr=1.0, epochs=20)"
        _, _, errors = _check_train_result(train(XOR_X, np.array(y), lr=1.0, epochs=20), 20, given, repro)
        if converges and errors[-1] != 0:
            fail("perceptron_train", f"does not converge on {gate}: errors = {errors}", given,
                 mistake="the update is w += lr (y - y_hat) x and b += lr (y - y_hat), after every sample", repro=repro)
        if not converges and min(errors) == 0:
            fail("perceptron_train", f"reports an epoch with no mistakes on XOR: errors = {errors}", given,
                 mistake="XOR is not linearly separable: no (w, b) classifies all four points; count mistakes before each update",
                 repro=repro)


# ---------------------------------------------------------------------------------------------
# Part B: activations.py
# ---------------------------------------------------------------------------------------------
@check("sigmoid", "sigmoid: eq. (13) on hand values; sigma(-z) = 1 - sigma(z)")
def check_sigmoid_values():
    sigmoid = student("activations", "sigmoid")
    z = np.array([[0.0, 1.0], [-2.0, 4.0]])
    expected = [[0.5, 0.7310585786300049], [0.11920292202211755, 0.9820137900379085]]
    expect_array("sigmoid", sigmoid(z), expected, shape_of("z", z), repro="activations.sigmoid(np.array([[0., 1.], [-2., 4.]]))")
    z, code = random_points(13, (3, 4))
    expect_array("sigmoid", sigmoid(-z), 1.0 - sigmoid(z), "-z for " + shape_of("z", z) + " (checking sigma(-z) = 1 - sigma(z))",
                 repro=f"{code}; activations.sigmoid(-z) - (1 - activations.sigmoid(z))")


@check("sigmoid", "sigmoid: sigmoid([-1000, 0, 1000]) = [0, 0.5, 1], finite and without warnings")
def check_sigmoid_extreme():
    sigmoid = student("activations", "sigmoid")
    z = np.array([-1000.0, 0.0, 1000.0])
    repro = "activations.sigmoid(np.array([-1000., 0., 1000.]))"
    with no_warnings("sigmoid", shape_of("z", z) + " = [-1000, 0, 1000]", repro):
        got = sigmoid(z)
    expect_array("sigmoid", got, [0.0, 0.5, 1.0], "z = [-1000, 0, 1000] of shape (3,)", repro=repro)


def _derivative_check(name, derivative, phi, z, code, mistake, golden=None, **kwargs):
    """A derivative at seeded points against central differences of the student's own function.

    mistake(got, z) words the likely mistake for the input z (got is None on a shape error)."""
    kw_text = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    if golden is not None:
        z0, expected = np.array(golden[0]), golden[1]
        expect_array(name, derivative(z0, **kwargs), expected, f"z = {golden[0]} of shape {z0.shape}{kw_text}",
                     lambda got: mistake(got, z0), f"activations.{name}(np.array({golden[0]}){kw_text})")
    got = derivative(z, **kwargs)
    numeric = elementwise_differences(lambda v: phi(v, **kwargs), z)
    expect_gradient(name, got, numeric, shape_of("z", z) + kw_text, f"central differences of your {name[:-5]}",
                    lambda got: mistake(got, z), f"{code}; activations.{name}(z{kw_text})")
    extreme = np.array([-1000.0, 1000.0])
    repro = f"activations.{name}(np.array([-1000., 1000.]){kw_text})"
    with no_warnings(name, f"z = [-1000, 1000] of shape (2,){kw_text}", repro):
        got = derivative(extreme, **kwargs)
    if not np.isfinite(np.asarray(got, dtype=float)).all():
        fail(name, f"returned {fmt(got)} at z = [-1000, 1000]",
             mistake="an overflow: compute it from the stable activation", repro=repro)


@check("sigmoid_grad", "sigmoid_grad: eq. (14) at z, against central differences of your sigmoid")
def check_sigmoid_grad():
    derivative = student("activations", "sigmoid_grad")
    sigmoid = student("activations", "sigmoid")
    z, code = random_points(14, (4, 3))

    def mistake(got, z):
        if got is None or got.shape != z.shape:
            return None
        if np.allclose(got, z * (1 - z)):
            return ("you computed a (1 - a) with a = z, as if z were the output a = sigmoid(z); the kit's derivatives "
                    "take the pre-activation z: s = sigmoid(z), then s (1 - s)")
        twice = np.asarray(sigmoid(sigmoid(z)))
        if np.allclose(got, twice * (1 - twice)):
            return ("you evaluated sigma' at the output a = sigmoid(z) (sigmoid applied twice); "
                    "sigma'(z) = s (1 - s) with s = sigmoid(z), once")
        return "sigma'(z) = s (1 - s) with s = sigmoid(z); the derivative takes z, not the output a"

    _derivative_check("sigmoid_grad", derivative, sigmoid, z, code, mistake,
                      golden=([0.0, 2.0], [0.25, 0.10499358540350652]))


@check("tanh", "tanh: eq. (15) on hand values, and tanh(+-1000) = +-1 without warnings")
def check_tanh():
    tanh = student("activations", "tanh")
    z = np.array([0.0, 1.0, -0.5])
    expect_array("tanh", tanh(z), [0.0, 0.7615941559557649, -0.46211715726000974], "z = [0, 1, -0.5] of shape (3,)",
                 repro="activations.tanh(np.array([0., 1., -0.5]))")
    repro = "activations.tanh(np.array([-1000., 1000.]))"
    with no_warnings("tanh", "z = [-1000, 1000] of shape (2,)", repro):
        got = tanh(np.array([-1000.0, 1000.0]))
    expect_array("tanh", got, [-1.0, 1.0], "z = [-1000, 1000] of shape (2,)",
                 mistake="(e^z - e^-z) / (e^z + e^-z) is inf / inf at |z| = 1000; np.tanh, or 2 sigmoid(2z) - 1 with a stable sigmoid",
                 repro=repro)


@check("tanh_grad", "tanh_grad: 1 - tanh(z)^2 (not eq. (16)), against central differences of your tanh")
def check_tanh_grad():
    derivative = student("activations", "tanh_grad")
    tanh = student("activations", "tanh")
    z, code = random_points(15, (4, 3))

    def mistake(got, z):
        if got is not None and got.shape == z.shape and np.allclose(got, tanh(z)):
            return ("your tanh_grad returns tanh(z) itself (2 sigma(2z) - 1 is tanh written with the sigmoid): the "
                    "slide's eq. (16), phi'(z) = 2 phi(2z) - 1, is not the derivative; use 1 - tanh(z)^2")
        if got is not None and got.shape == z.shape and np.allclose(got, 2 * tanh(2 * z) - 1):
            return ("you coded the slide's eq. (16), phi'(z) = 2 phi(2z) - 1, literally with phi = tanh; it is not the "
                    "derivative of tanh (at z = 0 it gives -1, but tanh rises there with slope 1); use 1 - tanh(z)^2")
        return "tanh'(z) = 1 - tanh(z)^2, taken at z"

    _derivative_check("tanh_grad", derivative, tanh, z, code, mistake, golden=([0.0], [1.0]))


@check("relu", "relu: eq. (17) max(0, z) on hand values, same shape")
def check_relu():
    relu = student("activations", "relu")
    z = np.array([[-2.0, 0.0, 0.5], [3.0, -1e-3, 0.0]])
    expect_array("relu", relu(z), [[0.0, 0.0, 0.5], [3.0, 0.0, 0.0]], shape_of("z", z),
                 repro="activations.relu(np.array([[-2., 0., 0.5], [3., -1e-3, 0.]]))")


@check("relu_grad", "relu_grad: eq. (18), relu'(0) = 0, against central differences of your relu away from 0")
def check_relu_grad():
    derivative = student("activations", "relu_grad")
    relu = student("activations", "relu")
    z, code = random_points(17, (4, 3), margin=KINK_MARGIN)

    def mistake(got, z):
        if got is not None and got.shape == z.shape and np.any(got[z == 0] != 0):
            return "relu'(0) is 0 in this kit: 1 only where z > 0 (strictly), so relu_grad(0) = 0"
        return "0 where z <= 0, 1 where z > 0"

    _derivative_check("relu_grad", derivative, relu, z, code, mistake, golden=([-2.0, 0.0, 3.0], [0.0, 0.0, 1.0]))


@check("leaky_relu", "leaky_relu: z where z > 0, alpha z elsewhere, with alpha = 0.2 and the default 0.01")
def check_leaky_relu():
    leaky = student("activations", "leaky_relu")
    expect_array("leaky_relu", leaky(np.array([-2.0, 0.0, 3.0]), alpha=0.2), [-0.4, 0.0, 3.0], "z = [-2, 0, 3] of shape (3,), alpha=0.2",
                 mistake="use the alpha you are given", repro="activations.leaky_relu(np.array([-2., 0., 3.]), alpha=0.2)")
    expect_array("leaky_relu", leaky(np.array([-1.0, 2.0])), [-0.01, 2.0], "z = [-1, 2] of shape (2,), default alpha",
                 mistake="the default is alpha=0.01", repro="activations.leaky_relu(np.array([-1., 2.]))")


@check("leaky_relu_grad", "leaky_relu_grad: 1 where z > 0, alpha elsewhere; against central differences (alpha = 0.2)")
def check_leaky_relu_grad():
    derivative = student("activations", "leaky_relu_grad")
    leaky = student("activations", "leaky_relu")
    expect_array("leaky_relu_grad", derivative(np.array([-1.0, 2.0])), [0.01, 1.0], "z = [-1, 2] of shape (2,), default alpha",
                 mistake="1 where z > 0, alpha (not 0) where z <= 0; the default is alpha=0.01",
                 repro="activations.leaky_relu_grad(np.array([-1., 2.]))")
    z, code = random_points(18, (4, 3), margin=KINK_MARGIN)
    _derivative_check("leaky_relu_grad", derivative, leaky, z, code,
                      lambda got, z: "1 where z > 0, alpha (not 0) where z <= 0, with the alpha you are given",
                      golden=([-2.0, 0.0, 3.0], [0.2, 0.2, 1.0]), alpha=0.2)


@check("softmax", "softmax: [1, 2, 3] gives [0.090, 0.245, 0.665]; [1000, 1000] gives [0.5, 0.5] without warnings")
def check_softmax_values():
    softmax = student("activations", "softmax")

    def mistake(got):
        if got is not None and got.shape == (3,) and np.allclose(got, [1 / 6, 2 / 6, 3 / 6]):
            return "you normalised z itself ([1/6, 2/6, 3/6], as in the handwritten note); normalise e^z instead"
        return "s_k = e^(z_k) / sum_j e^(z_j)"

    expect_array("softmax", softmax(np.array([1.0, 2.0, 3.0])), [0.09003057317038046, 0.24472847105479767, 0.6652409557748219],
                 "z = [1, 2, 3] of shape (3,)", mistake, "activations.softmax(np.array([1., 2., 3.]))")
    repro = "activations.softmax(np.array([1000., 1000.]))"
    with no_warnings("softmax", "z = [1000, 1000] of shape (2,)", repro):
        got = softmax(np.array([1000.0, 1000.0]))
    expect_array("softmax", got, [0.5, 0.5], "z = [1000, 1000] of shape (2,)",
                 "e^1000 overflows: subtract the maximum first (it does not change the result)", repro)


@check("softmax", "softmax: a batch (N, K) is normalised row by row (over the last axis)")
def check_softmax_batch():
    softmax = student("activations", "softmax")
    Z, code = random_points(19, (4, 3))
    got = softmax(Z)
    if isinstance(got, np.ndarray) and got.shape == Z.shape:
        sums = got.sum(axis=-1)
        if not np.allclose(sums, 1.0):
            fail("softmax", "rows do not sum to 1", shape_of("Z", Z),
                 [f"row sums {fmt(sums)}", f"column sums {fmt(got.sum(axis=0))}"],
                 "normalised over axis 0 (the columns) or over everything; use axis=-1 with keepdims=True",
                 f"{code}; activations.softmax(z).sum(axis=1)")
    rows = np.array([softmax(row) for row in Z])
    expect_array("softmax", got, rows, shape_of("Z", Z) + " (expected: softmax of each row on its own)",
                 "each row of a batch is one sample: exponentiate, then divide by that row's sum (axis=-1, keepdims=True)",
                 f"{code}; activations.softmax(z)")


@check("softmax_jacobian", "softmax_jacobian: (K, K), symmetric, rows sum to 0, against central differences of your softmax")
def check_softmax_jacobian():
    jacobian = student("activations", "softmax_jacobian")
    softmax = student("activations", "softmax")
    z, code = random_points(20, (4,))
    repro = f"{code}; activations.softmax_jacobian(z)"
    got = jacobian(z)
    expect_gradient("softmax_jacobian", got, jacobian_differences(softmax, z), shape_of("z", z),
                    "central differences of your softmax, J[i, j] = d s_i / d z_j",
                    "J = diag(s) - outer(s, s) with s = softmax(z): s_i (delta_ij - s_j)", repro)
    if not np.allclose(got, got.T, rtol=0, atol=1e-12):
        fail("softmax_jacobian", "is not symmetric", shape_of("z", z), repro=repro)
    if not np.allclose(got.sum(axis=1), 0.0, atol=1e-12):
        fail("softmax_jacobian", f"rows sum to {fmt(got.sum(axis=1))}, not 0", shape_of("z", z), repro=repro)


@check("softmax_jacobian", "softmax_jacobian: a batch (N, K) gives (N, K, K), one Jacobian per row")
def check_softmax_jacobian_batch():
    jacobian = student("activations", "softmax_jacobian")
    softmax = student("activations", "softmax")
    Z, code = random_points(21, (3, 4))
    got = jacobian(Z)
    numeric = np.array([jacobian_differences(softmax, row) for row in Z])
    expect_gradient("softmax_jacobian", got, numeric, shape_of("Z", Z),
                    "central differences of your softmax, row by row",
                    "one (K, K) Jacobian per row of Z, each built from that row's softmax (a batch axis in front)",
                    f"{code}; activations.softmax_jacobian(z)")


def _describe_entry(entry):
    if isinstance(entry, tuple):
        return "(" + ", ".join(getattr(f, "__name__", repr(f)) for f in entry) + ")"
    return repr(entry)


@check("ACTIVATIONS", "ACTIVATIONS maps the five elementwise names to (function, derivative) of activations.py")
def check_activations_registry():
    registry = student("activations", "ACTIVATIONS")
    names = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
    missing = [n for n in names if n not in registry]
    if missing:
        fail("ACTIVATIONS", f"has no entry for {missing}", mistake="keep the given dict and its five names")
    for name in names:
        entry = registry[name]
        module = _MODULES["activations"]
        expected = (getattr(module, name), getattr(module, name + "_grad"))
        if not (isinstance(entry, tuple) and len(entry) == 2 and entry[0] is expected[0] and entry[1] is expected[1]):
            fail("ACTIVATIONS", f"ACTIVATIONS[{name!r}] is {_describe_entry(entry)}, expected ({name}, {name}_grad)",
                 mistake="map each name to the pair (function, derivative) of this module")


# ---------------------------------------------------------------------------------------------
# Part C: mlp.py
# ---------------------------------------------------------------------------------------------
HAND_X = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [1.0, 1.0, 1.0], [2.0, 0.0, 1.0]])
HAND_W = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
HAND_B = np.array([0.5, -1.0])
HAND_Z = np.array([[1.5, 3.0], [-2.5, -2.0], [0.5, 2.0], [1.5, 3.0]])  # X W^T + b, worked by hand
HAND_REPRO = ("X = np.array([[1., 2., 0.], [0., -1., 3.], [1., 1., 1.], [2., 0., 1.]]); "
              "W = np.array([[1., 0., -1.], [2., 1., 0.]]); b = np.array([0.5, -1.])")


def _transpose_hint(got):
    return "Z = X @ W.T + b: W has shape (n_out, n_in), one row per unit"


@check("dense_forward", "dense_forward: Z = X W^T + b on a hand example, shape (N, n_out)")
def check_dense_forward_hand():
    dense_forward = student("mlp", "dense_forward")
    expect_array("dense_forward", dense_forward(HAND_X, HAND_W, HAND_B), HAND_Z,
                 "X of shape (4, 3), W of shape (2, 3), b of shape (2,)", _transpose_hint,
                 f"{HAND_REPRO}; mlp.dense_forward(X, W, b)")


@check("dense_forward", "dense_forward: every row equals z = W x + b for that sample (random, non-square)")
def check_dense_forward_random():
    dense_forward = student("mlp", "dense_forward")
    rng = np.random.default_rng(22)
    X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    one_at_a_time = np.array([W @ x + b for x in X])  # the lecture's z = W x + b, sample by sample
    expect_array("dense_forward", dense_forward(X, W, b), one_at_a_time,
                 "X of shape (5, 3), W of shape (4, 3), b of shape (4,)", _transpose_hint,
                 "rng = np.random.default_rng(22); X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), "
                 "rng.normal(size=4); mlp.dense_forward(X, W, b)")


def _check_forward_result(result, n_layers, given, repro):
    if not (isinstance(result, tuple) and len(result) == 2):
        fail("mlp_forward", f"returned {type(result).__name__}, expected a tuple (out, cache)", given, repro=repro)
    out, cache = result
    if not isinstance(cache, (list, tuple)) or len(cache) != n_layers:
        fail("mlp_forward", f"returned a cache of length {len(cache) if hasattr(cache, '__len__') else '?'}, "
                            f"expected one entry per layer ({n_layers})", given, repro=repro)
    for l, entry in enumerate(cache):
        if not (isinstance(entry, tuple) and len(entry) == 2):
            fail("mlp_forward", f"cache[{l}] is {type(entry).__name__}, expected a tuple (A_prev, Z)", given, repro=repro)
    return out, cache


@check("mlp_forward", "mlp_forward: a hand example (relu, identity) with cache[l] = (A_prev, Z)")
def check_mlp_forward_hand():
    mlp_forward = student("mlp", "mlp_forward")
    params = [(HAND_W, HAND_B), (np.array([[1.0, -1.0]]), np.array([0.25]))]
    given = "X of shape (4, 3), layers W1 (2, 3) relu then W2 (1, 2) identity"
    repro = (f"{HAND_REPRO}; params = [(W, b), (np.array([[1., -1.]]), np.array([0.25]))]; "
             "mlp.mlp_forward(X, params, ['relu', 'identity'])")
    out, cache = _check_forward_result(mlp_forward(HAND_X, params, ["relu", "identity"]), 2, given, repro)
    A1 = np.array([[1.5, 3.0], [0.0, 0.0], [0.5, 2.0], [1.5, 3.0]])  # relu(Z1)
    Z2 = np.array([[-1.25], [0.25], [-1.25], [-1.25]])  # A1 W2^T + b2
    layout = "cache[l] = (A_prev, Z): the input of layer l and its pre-activation, before the activation"
    expect_array("mlp_forward", cache[0][0], HAND_X, given + "; cache[0][0] should be X itself", layout, repro)
    expect_array("mlp_forward", cache[0][1], HAND_Z, given + "; cache[0][1] should be Z1 = X W1^T + b1", layout, repro)
    expect_array("mlp_forward", cache[1][0], A1, given + "; cache[1][0] should be A1 = relu(Z1)", layout, repro)
    expect_array("mlp_forward", cache[1][1], Z2, given + "; cache[1][1] should be Z2 = A1 W2^T + b2", layout, repro)
    expect_array("mlp_forward", out, Z2, given + "; out should be identity(Z2)", repro=repro)


@check("mlp_forward", "mlp_forward: a [3, 5, 4] tanh/softmax network, each layer consistent with its cache")
def check_mlp_forward_softmax():
    mlp_forward = student("mlp", "mlp_forward")
    X, _, params, acts, _ = example("mlp_ce")
    given = "checks.example('mlp_ce'): X (6, 3), W1 (5, 3), W2 (4, 5), activations ['tanh', 'softmax']"
    repro = "import checks, mlp; X, Y, params, acts, loss = checks.example('mlp_ce'); mlp.mlp_forward(X, params, acts)"
    out, cache = _check_forward_result(mlp_forward(X, params, acts), 2, given, repro)
    tanh, softmax = student("activations", "tanh"), student("activations", "softmax")
    expect_array("mlp_forward", cache[0][0], X, given + "; cache[0][0] should be X", repro=repro)
    for l, (W, b) in enumerate(params):
        A_prev = np.asarray(cache[l][0])
        expect_array("mlp_forward", cache[l][1], A_prev @ W.T + b,
                     given + f"; cache[{l}][1] should be Z = A_prev W^T + b of layer {l + 1}", repro=repro)
    expect_array("mlp_forward", cache[1][0], tanh(cache[0][1]),
                 given + "; cache[1][0] should be tanh(Z1) (your tanh)", repro=repro)
    expect_array("mlp_forward", out, softmax(cache[1][1]),
                 given + "; out should be softmax(Z2) (your softmax), rows summing to 1", repro=repro)


@check("predict", "predict: argmax labels of an integer dtype, shape (N,)")
def check_predict_argmax():
    predict = student("mlp", "predict")
    X = np.array([[2.0, 1.0], [0.0, 3.0], [-1.0, -2.0], [0.5, 0.25]])
    params = [(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]), np.zeros(3))]
    # outputs (identity) [[2, 1, -3], [0, 3, -3], [-1, -2, 3], [0.5, 0.25, -0.75]]
    expect_array("predict", predict(X, params, ["identity"]), [0, 1, 2, 0],
                 "X of shape (4, 2), one identity layer W (3, 2), b = 0; "
                 "outputs [[2, 1, -3], [0, 3, -3], [-1, -2, 3], [0.5, 0.25, -0.75]]",
                 "the label of a row is the index of its largest output: np.argmax(out, axis=1)",
                 "mlp.predict(np.array([[2., 1.], [0., 3.], [-1., -2.], [0.5, 0.25]]), "
                 "[(np.array([[1., 0.], [0., 1.], [-1., -1.]]), np.zeros(3))], ['identity'])", kind="int")


@check("predict", "predict: one output unit gives out[:, 0] >= 0.5 as 0 or 1")
def check_predict_single_unit():
    predict = student("mlp", "predict")
    X = np.array([[0.0, 0.0], [2.0, 1.5], [1.0, 3.0], [0.25, 0.26]])
    params = [(np.array([[1.0, -1.0]]), np.array([0.5]))]  # out = [0.5, 1.0, -1.5, 0.49]
    expect_array("predict", predict(X, params, ["identity"]), [1, 1, 0, 0],
                 "X of shape (4, 2), one identity unit W (1, 2); outputs [0.5, 1.0, -1.5, 0.49]",
                 "with one output unit the label is out[:, 0] >= 0.5 (0.5 itself gives 1), as an int; argmax of one column is always 0",
                 "mlp.predict(np.array([[0., 0.], [2., 1.5], [1., 3.], [0.25, 0.26]]), "
                 "[(np.array([[1., -1.]]), np.array([0.5]))], ['identity'])", kind="int")


# ---------------------------------------------------------------------------------------------
# Part D: backprop.py
# ---------------------------------------------------------------------------------------------
@check("one_hot", "one_hot: (N, K) float rows with a single 1.0 at column y_i")
def check_one_hot():
    one_hot = student("backprop", "one_hot")
    got = expect_array("one_hot", one_hot(np.array([2, 0, 1, 2]), 3),
                       [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
                       "y = [2, 0, 1, 2] of shape (4,), num_classes = 3", repro="backprop.one_hot(np.array([2, 0, 1, 2]), 3)")
    if not np.allclose(got.sum(axis=1), 1.0):
        fail("one_hot", "rows do not sum to 1", "y = [2, 0, 1, 2] of shape (4,), num_classes = 3")
    expect_array("one_hot", one_hot(np.array([1, 0]), 4), [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]],
                 "y = [1, 0] of shape (2,), num_classes = 4 (more classes than labels seen)",
                 "the width is num_classes, not max(y) + 1", "backprop.one_hot(np.array([1, 0]), 4)")


@check("cross_entropy", "cross_entropy: the mean of -log P[i, y_i], clipped so P = 0 stays finite")
def check_cross_entropy():
    cross_entropy = student("backprop", "cross_entropy")
    P = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]])
    expect_scalar("cross_entropy", cross_entropy(P, np.array([0, 1])), 0.4581453659370775,
                  "P of shape (2, 3), y = [0, 1]; expected (-log 0.5 - log 0.8) / 2",
                  "pick P[i, y_i] for each row i (not the whole row), then the mean of -log over the batch",
                  "backprop.cross_entropy(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]), np.array([0, 1]))")
    P0 = np.array([[0.0, 1.0], [0.5, 0.5]])
    repro = "backprop.cross_entropy(np.array([[0., 1.], [0.5, 0.5]]), np.array([0, 0]))"
    with no_warnings("cross_entropy", "P = [[0, 1], [0.5, 0.5]] of shape (2, 2), y = [0, 0]", repro,
                     mistake="log(0) is -inf: clip P to [1e-12, 1] before the log"):
        got = cross_entropy(P0, np.array([0, 0]))
    expect_scalar("cross_entropy", got, 14.162084148244246,
                  "P = [[0, 1], [0.5, 0.5]] of shape (2, 2), y = [0, 0]; expected (-log 1e-12 - log 0.5) / 2",
                  "clip P to [1e-12, 1] before the log", repro)


@check("mse", "mse: (1 / 2N) sum of squared errors, one number")
def check_mse():
    mse = student("backprop", "mse")
    expect_scalar("mse", mse(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])), 2.5, "Y_hat = [[1, 2]] and Y = [[0, 0]], of shape (1, 2)",
                  "(1 / 2N) sum of squares: here (1 + 4) / 2", "backprop.mse(np.array([[1., 2.]]), np.array([[0., 0.]]))")
    Y_hat = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    expect_scalar("mse", mse(Y_hat, np.zeros((2, 3))), 1.75, "Y_hat of shape (2, 3), Y = 0; expected (5 + 2) / (2 * 2)",
                  "divide by 2N with N the number of rows (samples), not by the number of entries",
                  "backprop.mse(np.array([[1., 0., 2.], [0., 1., 1.]]), np.zeros((2, 3)))")


@check("dense_backward", "dense_backward: dA_prev, dW, db against central differences of sum(G * Z)")
def check_dense_backward():
    dense_backward = student("backprop", "dense_backward")
    rng = np.random.default_rng(23)
    A_prev, W, b, G = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(5, 4))
    given = "dZ = G of shape (5, 4), A_prev of shape (5, 3), W of shape (4, 3)"
    repro = ("rng = np.random.default_rng(23); A_prev, W, b, G = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), "
             "rng.normal(size=4), rng.normal(size=(5, 4)); backprop.dense_backward(G, A_prev, W)")
    result = dense_backward(G, A_prev, W)
    if not (isinstance(result, tuple) and len(result) == 3):
        fail("dense_backward", f"returned {type(result).__name__}, expected a tuple (dA_prev, dW, db)", given, repro=repro)

    # L = sum(G * Z) with Z = A_prev W^T + b (the kit's dense layer), so dL/dZ = G. The checks
    # write Z themselves rather than call your dense_forward: dense_backward is graded on its own.
    def loss(A=A_prev, W_=W, b_=b):
        return np.sum(G * (A @ W_.T + b_))

    numeric = {
        "dA_prev": central_differences(lambda A: loss(A=A), A_prev),
        "dW": central_differences(lambda W_: loss(W_=W_), W),
        "db": central_differences(lambda b_: loss(b_=b_), b),
    }
    mistakes = {
        "dA_prev": "dA_prev has A_prev's shape (N, n_in): dZ (N, n_out) meets W (n_out, n_in) on n_out",
        "dW": "dW has W's shape (n_out, n_in), like every gradient has its parameter's shape: dZ^T A_prev, not A_prev^T dZ",
        "db": "db = dZ summed over the batch (axis 0), not averaged: the 1/N already sits in dZ",
    }
    for name, got in zip(["dA_prev", "dW", "db"], result):
        expect_gradient("dense_backward", got, numeric[name], f"{given}; checking {name}",
                        f"central differences of L = sum(G * (A_prev W^T + b)) with respect to {name[1:]}",
                        mistakes[name], repro)


def _grads_against_numeric(grads, numeric_for, params, n_samples, given, against, repro):
    """grads (a list of (dW, db)) against central differences, layer by layer."""
    if not isinstance(grads, (list, tuple)) or len(grads) != len(params):
        fail("mlp_backward", f"returned {type(grads).__name__} of length {len(grads) if hasattr(grads, '__len__') else '?'}, "
                             f"expected a list of {len(params)} (dW, db) pairs, one per layer", given, repro=repro)
    for l, pair in enumerate(grads):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            fail("mlp_backward", f"grads[{l}] is {type(pair).__name__}, expected a tuple (dW, db)", given, repro=repro)
        for k, label in enumerate(["dW", "db"]):
            numeric = numeric_for(l, k)
            expect_gradient("mlp_backward", pair[k], numeric, f"{given}; grads[{l}][{k}] ({label} of layer {l + 1})",
                            against, _backward_mistake(n_samples, numeric, label), repro)


def _backward_mistake(N, numeric, label):
    """Word the likely mistake from how got differs from the numerical gradient."""
    def mistake(got):
        if got is None:
            return (f"{label} has the shape of its parameter: dW is (n_out, n_in) like W, "
                    "db = dZ summed over axis 0 is (n_out,) like b")
        ratio = float(np.sum(got * numeric) / max(np.sum(numeric * numeric), 1e-300))
        if np.allclose(got, ratio * numeric, rtol=1e-4, atol=1e-12):
            if np.isclose(ratio, N, rtol=1e-3):
                return (f"every entry is N = {N} times too large: the loss is a mean over the N samples, so dZ_L "
                        "carries a factor 1/N")
            if np.isclose(ratio, 1.0 / N, rtol=1e-3):
                return (f"every entry is N = {N} times too small: the 1/N is applied twice "
                        "(dZ_L already holds it; db sums dZ over the batch, it does not average)")
            return f"every entry is {ratio:.4g} times the numerical one: a constant factor is off"
        return ("the hidden layers use phi'(Z) at the pre-activation Z (cache[l][1]), not at A; "
                "then dense_backward gives dA_prev (like A_prev), dW (like W) and db (dZ summed over the batch)")
    return mistake


def _numeric_network_grads(X, Y, params, loss_of_output):
    """Central differences of loss_of_output(params') for every W and b, each on its own."""
    def numeric_for(l, k):
        def f(value):
            new = list(params)
            new[l] = (value, params[l][1]) if k == 0 else (params[l][0], value)
            return loss_of_output(new)
        return central_differences(f, params[l][k])
    return numeric_for


@check("mlp_backward", "mlp_backward: a linear [3, 4, 2] network with mse, cache built by the checks")
def check_mlp_backward_linear():
    mlp_backward = student("backprop", "mlp_backward")
    X, Y, params, acts, loss = example("mlp_linear")
    # The cache mlp_forward returns, written here: identity layers, Z = A_prev W^T + b.
    Z1 = X @ params[0][0].T + params[0][1]
    Z2 = Z1 @ params[1][0].T + params[1][1]
    grads = mlp_backward(Y, params, [(X, Z1), (Z1, Z2)], acts, loss)

    def loss_of_output(new):  # mse, (1 / 2N) sum of squares, of the linear network
        out = (X @ new[0][0].T + new[0][1]) @ new[1][0].T + new[1][1]
        return np.sum((out - Y) ** 2) / (2 * X.shape[0])

    _grads_against_numeric(grads, _numeric_network_grads(X, Y, params, loss_of_output), params, X.shape[0],
                           "checks.example('mlp_linear'): X (5, 3), W1 (4, 3), W2 (2, 4), identity layers, mse",
                           "central differences of the mean mse of the network",
                           _repro_backward("mlp_linear"))


def _check_against_own_forward(name, loss_name, shapes):
    """mlp_backward on checks.example(name) against central differences of the student's own
    loss_name(mlp_forward(...))."""
    mlp_backward = student("backprop", "mlp_backward")
    mlp_forward = student("mlp", "mlp_forward")
    loss_fn = student("backprop", loss_name)
    X, Y, params, acts, loss = example(name)
    _, cache = mlp_forward(X, params, acts)
    grads = mlp_backward(Y, params, cache, acts, loss)

    def loss_of_output(new):
        return loss_fn(mlp_forward(X, new, acts)[0], Y)

    _grads_against_numeric(grads, _numeric_network_grads(X, Y, params, loss_of_output), params, X.shape[0],
                           f"checks.example('{name}'): {shapes}, {loss_name}",
                           f"central differences of your {loss_name}(mlp_forward(...)) (if those checks fail, fix them first)",
                           _repro_backward(name))


@check("mlp_backward", "mlp_backward: [3, 5, 4] tanh/softmax with cross_entropy, against your mlp_forward + cross_entropy")
def check_mlp_backward_cross_entropy():
    _check_against_own_forward("mlp_ce", "cross_entropy", "X (6, 3), W1 (5, 3), W2 (4, 5), tanh then softmax")


@check("mlp_backward", "mlp_backward: [2, 3, 2] sigmoid/sigmoid with mse, against your mlp_forward + mse")
def check_mlp_backward_mse():
    _check_against_own_forward("mlp_mse", "mse", "X (5, 2), W1 (3, 2), W2 (2, 3), sigmoid then sigmoid")


@check("numerical_gradient", "numerical_gradient: central differences of sum(sin(x) + x^3), x left as it was")
def check_numerical_gradient():
    numerical_gradient = student("backprop", "numerical_gradient")
    x = np.random.default_rng(24).uniform(-2.0, 2.0, (3, 4))
    repro = ("x = np.random.default_rng(24).uniform(-2.0, 2.0, (3, 4)); "
             "backprop.numerical_gradient(lambda v: np.sum(np.sin(v) + v ** 3), x)")

    def f(v):
        return float(np.sum(np.sin(v) + v ** 3))

    got = numerical_gradient(f, x)  # the input check (x left as it was) happens in the wrapper
    analytic = np.cos(x) + 3 * x ** 2
    expect_gradient("numerical_gradient", got, analytic, shape_of("x", x), "the exact gradient cos(x) + 3 x^2",
                    lambda got: ("an error of order h looks like forward differences (f(x + h) - f(x)) / h; "
                                 "use (f(x + h e_i) - f(x - h e_i)) / 2h") if got is not None else None,
                    repro, tol=NUMGRAD_TOL, problem="is not accurate enough for central differences")


# ---------------------------------------------------------------------------------------------
# Part E: training (backprop.py)
# ---------------------------------------------------------------------------------------------
@check("gradient_descent_step", "gradient_descent_step: W - lr dW and b - lr db, new arrays, inputs unchanged")
def check_gradient_descent_step():
    step = student("backprop", "gradient_descent_step")
    params = [(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), np.array([1.0, -1.0])),
              (np.array([[1.0, 1.0]]), np.array([0.0]))]
    grads = [(np.array([[10.0, 0.0, -10.0], [0.0, 20.0, 0.0]]), np.array([5.0, 5.0])),
             (np.array([[-10.0, 10.0]]), np.array([1.0]))]
    expected = [([[0.0, 2.0, 4.0], [4.0, 3.0, 6.0]], [0.5, -1.5]), ([[2.0, 0.0]], [-0.1])]
    given = "params W1 (2, 3), b1 (2,), W2 (1, 2), b2 (1,), their grads, lr = 0.1"
    repro = ("params = [(np.array([[1., 2., 3.], [4., 5., 6.]]), np.array([1., -1.])), (np.array([[1., 1.]]), np.array([0.]))]; "
             "grads = [(np.array([[10., 0., -10.], [0., 20., 0.]]), np.array([5., 5.])), (np.array([[-10., 10.]]), np.array([1.]))]; "
             "backprop.gradient_descent_step(params, grads, 0.1)")
    new = step(params, grads, 0.1)  # the wrapper fails the check if params or grads changed
    if not isinstance(new, (list, tuple)) or len(new) != 2:
        fail("gradient_descent_step", f"returned {type(new).__name__}, expected a list of 2 (W, b) pairs", given, repro=repro)

    def mistake(got):
        return "a step goes against the gradient: W - lr * dW (W + lr * dW climbs the loss)"

    for l, (pair, (W, b)) in enumerate(zip(new, expected)):
        expect_array("gradient_descent_step", pair[0], W, f"{given}; new W{l + 1}", mistake, repro)
        expect_array("gradient_descent_step", pair[1], b, f"{given}; new b{l + 1}", mistake, repro)


@check("train", "train: records the loss before each update, starting from init_params(layer_sizes, seed)")
def check_train_first_epochs():
    train = student("backprop", "train")
    given = "XOR, [2, 4, 2], ['tanh', 'softmax'], cross_entropy, lr = 0.5, epochs = 3, seed = 0"
    repro = f"{XOR_REPRO}; backprop.train(X, np.array([0, 1, 1, 0]), [2, 4, 2], ['tanh', 'softmax'], lr=0.5, epochs=3, seed=0)"
    y = np.array([0, 1, 1, 0])
    result = train(XOR_X, y, [2, 4, 2], ["tanh", "softmax"], loss="cross_entropy", lr=0.5, epochs=3, seed=0)
    if not (isinstance(result, tuple) and len(result) == 2):
        fail("train", f"returned {type(result).__name__}, expected a tuple (params, losses)", given, repro=repro)
    params, losses = result
    if np.ndim(losses) != 1 or len(losses) != 3:
        fail("train", f"returned {np.shape(losses)} losses, expected one per epoch (3)", given, repro=repro)
    # The loss of epoch 1 is the loss of the untrained network init_params([2, 4, 2], 0) (given to you).
    init_params = student("mlp", "init_params")
    mlp_forward, cross_entropy = student("mlp", "mlp_forward"), student("backprop", "cross_entropy")
    first = cross_entropy(mlp_forward(XOR_X, init_params([2, 4, 2], 0), ["tanh", "softmax"])[0], y)
    if not np.isclose(float(losses[0]), float(first), rtol=1e-10, atol=0):
        fail("train", "losses[0] is not the loss of the network before any update", given,
             [f"expected {float(first)!r} (cross_entropy of mlp_forward with init_params([2, 4, 2], seed=0))",
              f"     got {float(losses[0])!r}"],
             "start from params = init_params(layer_sizes, seed); in every epoch record the loss before the update", repro)


@check("train", "train: an MLP [2, 4, 2] (tanh, softmax) learns XOR in 1000 epochs at lr 0.5 (loss < 0.01)")
def check_train_xor():
    train = student("backprop", "train")
    y = np.array([0, 1, 1, 0])
    given = "XOR, [2, 4, 2], ['tanh', 'softmax'], cross_entropy, lr = 0.5, epochs = 1000, seed = 0"
    repro = f"{XOR_REPRO}; params, losses = backprop.train(X, np.array([0, 1, 1, 0]), [2, 4, 2], ['tanh', 'softmax'])"
    result = train(XOR_X, y, [2, 4, 2], ["tanh", "softmax"], loss="cross_entropy", lr=0.5, epochs=1000, seed=0)
    if not (isinstance(result, tuple) and len(result) == 2):
        fail("train", f"returned {type(result).__name__}, expected a tuple (params, losses)", given, repro=repro)
    params, losses = result
    if np.ndim(losses) != 1 or len(losses) != 1000:
        fail("train", f"returned {np.shape(losses)} losses, expected len(losses) == epochs == 1000", given, repro=repro)
    last = float(losses[-1])
    if not last < XOR_LOSS_BELOW:
        fail("train", f"the last loss is {last:.4g}, expected below {XOR_LOSS_BELOW}", given,
             [f"losses[0] = {float(losses[0]):.4g}, losses[99] = {float(losses[99]):.4g}, losses[-1] = {last:.4g}"],
             "each epoch: forward, loss, mlp_backward, then params = gradient_descent_step(params, grads, lr) "
             "(keep the new params); if the loss grows, check the sign of the step", repro)
    out, _ = student("mlp", "mlp_forward")(XOR_X, params, ["tanh", "softmax"])
    labels = np.argmax(np.asarray(out), axis=1)
    if not np.array_equal(labels, y):
        fail("train", f"the trained network predicts {labels.tolist()}, expected XOR [0, 1, 1, 0]", given, repro=repro)


# ---------------------------------------------------------------------------------------------
# The registry and the runner
# ---------------------------------------------------------------------------------------------
CHECKS = {
    "tlu": [check_heaviside, check_sign, check_tlu_batch, check_tlu_single, check_perceptron_layer_lecture,
            check_perceptron_layer_hand, check_perceptron_train_and, check_perceptron_train_or_xor],
    "activations": [check_sigmoid_values, check_sigmoid_extreme, check_sigmoid_grad, check_tanh, check_tanh_grad,
                    check_relu, check_relu_grad, check_leaky_relu, check_leaky_relu_grad, check_softmax_values,
                    check_softmax_batch, check_softmax_jacobian, check_softmax_jacobian_batch, check_activations_registry],
    "forward": [check_dense_forward_hand, check_dense_forward_random, check_mlp_forward_hand, check_mlp_forward_softmax,
                check_predict_argmax, check_predict_single_unit],
    "backprop": [check_one_hot, check_cross_entropy, check_mse, check_dense_backward, check_mlp_backward_linear,
                 check_mlp_backward_cross_entropy, check_mlp_backward_mse, check_numerical_gradient],
    "training": [check_gradient_descent_step, check_train_first_epochs, check_train_xor],
}


def _indent(text):
    return "\n".join("      " + line for line in text.splitlines())


def _crash_text(check_fn, exc):
    """The student's code raised: one line saying what and where, no traceback."""
    text = f"{check_fn.target}: raised {_one_line_error(exc)}"
    if isinstance(exc, ValueError) and ("matmul" in str(exc) or "shapes" in str(exc)):
        text += ("\nlikely mistake: the shapes of a matrix product do not fit; W has shape (n_out, n_in), "
                 "so a batch X (N, n_in) needs X @ W.T")
    if check_fn.target in REREAD:
        text += f"\nreread {REREAD[check_fn.target]}"
    return text


def run_one(check_fn):
    """Run one check. Returns (passed, line, key): key names an unwritten function or a module
    that does not import, so that the runner prints its FAIL line once."""
    try:
        check_fn()
    except CheckFailed as exc:
        return False, f"FAIL  {check_fn.title}\n{_indent(str(exc))}", None
    except NotImplementedError as exc:
        name = _raising_function(exc, check_fn.target)
        return False, f"FAIL  {name}: not written yet (NotImplementedError)", name
    except ModuleProblem as exc:
        return False, f"FAIL  {exc}", str(exc)
    except TookTooLong as exc:
        if exc.args:   # a function that already ran out of time in this run
            return False, _too_long_line(exc.args[0]), exc.args[0]
        name, where = _stopped_where(exc, check_fn.target)
        return False, _too_long_line(name, where), name
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any crash of the student's code is a FAIL line
        return False, f"FAIL  {check_fn.title}\n{_indent(_crash_text(check_fn, exc))}", None
    return True, f"PASS  {check_fn.title}", None


def _too_long_line(name, where=""):
    return f"FAIL  {name}: took longer than {TIME_LIMIT:g} s: look for a loop that never ends{where}"


def _stopped_where(exc, fallback):
    """(the student's function the check called, ' (stopped at file, line n[, in helper])')."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_student_file(f.filename)]
    if not frames:
        return fallback, ""
    inner = frames[-1]
    helper = f", in {inner.name}" if inner.name != frames[0].name else ""
    return frames[0].name, f" (stopped at {os.path.basename(inner.filename)}, line {inner.lineno}{helper})"


# ---------------------------------------------------------------------------------------------
# Every check within a time limit
# ---------------------------------------------------------------------------------------------
GRACE = 2.0  # seconds after the limit for the check to report (see below) before it is killed


def run_limited(check_fn):
    """run_one(check_fn), stopped after TIME_LIMIT seconds. Returns (passed, line, key).

    "fork": the check runs in a forked child process. At the limit an alarm raises TookTooLong
    inside the child, whose traceback names the student's function that was running; a child that
    does not answer GRACE seconds later (stuck inside a NumPy call) is killed.
    "thread" (platforms without a safe fork: Windows, macOS): the check runs in a thread; at the
    limit TookTooLong is raised in that thread (PyThreadState_SetAsyncExc), which stops any loop
    of Python code. A thread stuck inside one NumPy call cannot be stopped: it is left to finish
    in the background and the run moves on."""
    if TIME_LIMIT is None or TIME_LIMIT <= 0:
        return run_one(check_fn)
    if RUN_IN == "fork" and not multiprocessing.current_process().daemon:   # a daemon may not fork children
        return _run_forked(check_fn)
    return _run_threaded(check_fn)


def _on_alarm(signum, frame):
    raise TookTooLong()


def _child(check_fn, send):
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        result = run_one(check_fn)
    except BaseException as exc:  # noqa: BLE001 - the alarm between run_one's handlers
        result = (False, _too_long_line(check_fn.target), check_fn.target) if isinstance(exc, TookTooLong) else \
            (False, f"FAIL  {check_fn.title}\n{_indent(_crash_text(check_fn, exc))}", None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    send.send(result)
    send.close()


def _run_forked(check_fn):
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    for stream in (sys.stdout, sys.stderr):   # or the child would print the parent's buffered text again
        stream.flush()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # Python 3.12+ warns about fork in a Jupyter kernel
        child = context.Process(target=_child, args=(check_fn, send), daemon=True)
        child.start()
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
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    if result is not None:
        return result
    if timed_out:
        return False, _too_long_line(check_fn.target), check_fn.target
    return (False, f"FAIL  {check_fn.title}\n" + _indent(
        f"{check_fn.target}: the check ended without a result (exit code {child.exitcode}): "
        "os._exit, a crash of Python or not enough memory"), None)


def _run_threaded(check_fn):
    box = []
    worker = threading.Thread(target=lambda: box.append(run_one(check_fn)), daemon=True)
    worker.start()
    worker.join(TIME_LIMIT)
    if worker.is_alive():
        import ctypes
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(TookTooLong))
        worker.join(GRACE)
    if box:
        return box[0]
    return False, _too_long_line(check_fn.target) + " (it is still running: restart the kernel when you have fixed it)", \
        check_fn.target


def run_checks(question, emit=None):
    """Run one question's checks, each within TIME_LIMIT. Returns (n_checks, n_passed, lines), one
    line (or block) per check; emit(line) is called with each line as soon as its check finishes.

    A function that is not written yet gives a single FAIL line, however many checks need it;
    so do a module that does not import and a function that loops forever."""
    lines, passed, reported = [], 0, set()
    for check_fn in CHECKS[question]:
        ok, line, key = run_limited(check_fn)
        passed += ok
        if key is not None and "took longer than" in line:
            _LOOPING.add(key)
        if key is None or key not in reported:
            lines.append(line)
            if emit:
                emit(line)
        if key is not None:
            reported.add(key)
    return len(CHECKS[question]), passed, lines


def _print_now(line):
    print(line, flush=True)


def _summary(question, total, passed):
    part, points = QUESTIONS[question]
    if passed == total:
        return f"{question} ({part}, {points} points): all {total} checks passed"
    return f"{question} ({part}, {points} points): {passed} of {total} checks passed, {total - passed} FAILED"


def run(question, quiet=False):
    """Run one question's checks (as grader.check does). Prints one line per check unless quiet.

    Returns True when every check passes; otherwise raises AssertionError listing the failures."""
    if question not in CHECKS:
        raise ValueError(f"unknown question {question!r}; use one of {list(CHECKS)}")
    load_student_modules()
    total, passed, lines = run_checks(question, None if quiet else _print_now)
    summary = _summary(question, total, passed)
    if not quiet:
        print(summary, flush=True)
    if passed < total:
        failures = [line for line in lines if line.startswith("FAIL")]
        report = "\n".join([summary] + failures)
        raise AssertionError(report) from None
    return True


def main(argv=None):
    """python checks.py [--time-limit SECONDS] [question ...]: exit status 0 when every check
    passes, 1 otherwise."""
    global TIME_LIMIT
    names = list(sys.argv[1:] if argv is None else argv)
    if "--time-limit" in names:
        at = names.index("--time-limit")
        try:
            TIME_LIMIT = float(names[at + 1])
        except (IndexError, ValueError):
            print("--time-limit needs a number of seconds, e.g. --time-limit 20", file=sys.stderr)
            return 2
        del names[at:at + 2]
    names = names or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        print(f"unknown question(s) {unknown}; use one of {list(CHECKS)}", file=sys.stderr)
        return 2
    load_student_modules()
    all_total = all_passed = 0
    for name in names:
        part, points = QUESTIONS[name]
        print(f"== {name} ({part}, {points} points) ==", flush=True)
        total, passed, lines = run_checks(name, _print_now)
        print(_summary(name, total, passed) + "\n", flush=True)
        all_total, all_passed = all_total + total, all_passed + passed
    if all_passed == all_total:
        print(f"Summary: all {all_total} checks passed.")
        return 0
    print(f"Summary: {all_passed} of {all_total} checks passed, {all_total - all_passed} FAILED.")
    return 1


# ---------------------------------------------------------------------------------------------
# The notebook without Otter: a stand-in for otter.Notebook
# ---------------------------------------------------------------------------------------------
SUBMISSION_FILES = ["tlu.py", "activations.py", "mlp.py", "backprop.py"]
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
            return f"{self.question} results: All test cases passed! ({self.total} checks)"
        return (f"{self.question} results: {self.passed} of {self.total} checks passed, "
                f"{self.total - self.passed} FAILED (the FAIL lines above say why)")


class Notebook:
    """Used by the notebook's first cell when Otter is not installed, with the calls it makes:

        grader = checks.Notebook("lab17_backprop.ipynb", tests_dir="tests")
        grader.check("tlu")      # prints a PASS or FAIL line per check, returns a CheckResult
        grader.export(files=[...])   # writes a zip of the four modules (and the notebook)
    """

    def __init__(self, nb_path=None, tests_dir="tests", **_ignored):
        self.nb_path = nb_path

    def check(self, question, global_env=None):
        if question not in CHECKS:
            raise ValueError(f"unknown question {question!r}; use one of {list(CHECKS)}")
        load_student_modules()
        total, passed, lines = run_checks(question, _print_now)
        return CheckResult(question, total, passed, [line for line in lines if line.startswith("FAIL")])

    def check_all(self):
        return [self.check(question) for question in CHECKS]

    def export(self, nb_path=None, export_path=None, pdf=False, filtering=True, pagebreaks=True, files=None,
               display_link=True, force_save=False, run_tests=False, ignore_log=False):
        """Write <notebook name>_<timestamp>.zip with the modules (and the notebook if it is here)."""
        import datetime
        import zipfile
        nb_path = nb_path or self.nb_path
        names = list(files or SUBMISSION_FILES)
        if nb_path and os.path.exists(nb_path):
            names.insert(0, nb_path)
        missing = [name for name in names if not os.path.exists(name)]
        if missing:
            print(f"not found in {os.getcwd()}: {', '.join(missing)}; run this cell in the folder of your .py files")
            return None
        stem = os.path.splitext(os.path.basename(nb_path or "lab17_backprop.ipynb"))[0]
        path = export_path or f"{stem}_{datetime.datetime.now():%Y_%m_%dT%H_%M_%S}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                archive.write(name, os.path.basename(name))
        note = "" if nb_path and os.path.exists(nb_path) else " (the notebook itself was not found here: it is not needed)"
        print(f"Otter is not installed, so this cell wrote {path} with {', '.join(os.path.basename(n) for n in names)}"
              f"{note}. Submit that zip (or the four .py files). Save your .py files before running this cell.")
        return path


if __name__ == "__main__":
    sys.exit(main())
