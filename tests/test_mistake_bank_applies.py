"""The mistake bank (solutions/lab17_backprop/mistakes.py) is usable and not accidentally vacuous.

For every mistake and every variant:
- its edits apply to the marker-stripped reference (each `old` occurs exactly once);
- the four edited modules import (written to tmp_path, imported with importlib; the plain
  module names are removed from sys.modules again afterwards).
For every mistake, its function differs from the reference on at least one probe input
(different value, shape or dtype, an exception, a RuntimeWarning, or a changed input).
For every variant, every probe of every function gives the reference result
(rtol 1e-9, atol 1e-12, same shapes and dtypes), raises nothing and warns nothing.
"""
import importlib
import importlib.util
import re
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
REF_DIR = ROOT / "solutions" / "lab17_backprop"
MODULES = ("tlu", "activations", "mlp", "backprop")
IMPORT_ORDER = ("activations", "tlu", "mlp", "backprop")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from autograder.skeleton import strip_markers  # noqa: E402


def _load_bank():
    spec = importlib.util.spec_from_file_location("lab17_mistake_bank", REF_DIR / "mistakes.py")
    bank = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bank  # dataclasses look their module up while the class is built
    spec.loader.exec_module(bank)
    return bank


BANK = _load_bank()
REFERENCE = {name: strip_markers((REF_DIR / f"{name}.py").read_text()) for name in MODULES}

# The question each function belongs to (ASSIGNMENT.md, Parts A-E).
FUNCTION_PART = {
    **dict.fromkeys(["heaviside", "sign", "tlu", "perceptron_layer", "perceptron_train"], "tlu"),
    **dict.fromkeys(
        ["identity", "identity_grad", "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu",
         "relu_grad", "leaky_relu", "leaky_relu_grad", "softmax", "softmax_jacobian"],
        "activations",
    ),
    **dict.fromkeys(["init_params", "dense_forward", "mlp_forward", "predict"], "forward"),
    **dict.fromkeys(
        ["one_hot", "cross_entropy", "mse", "dense_backward", "mlp_backward", "numerical_gradient"],
        "backprop",
    ),
    **dict.fromkeys(["gradient_descent_step", "train"], "training"),
}


# ---------------------------------------------------------------------------------------------
# Loading edited modules
# ---------------------------------------------------------------------------------------------

def load_modules(sources, directory):
    """Write the four modules to `directory`, import them, and return a namespace of them.

    The modules import each other by plain name (`from activations import ...`), so they are
    imported under those names and then taken out of sys.modules again (restoring whatever was
    there), which keeps every edited set separate.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        (directory / f"{name}.py").write_text(text)
    importlib.invalidate_caches()
    saved = {name: sys.modules.pop(name) for name in MODULES if name in sys.modules}
    sys.path.insert(0, str(directory))
    try:
        loaded = {name: importlib.import_module(name) for name in IMPORT_ORDER}
    finally:
        sys.path.remove(str(directory))
        for name in MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
    for name, module in loaded.items():
        assert Path(module.__file__).parent == directory, f"{name} imported from {module.__file__}"
    return types.SimpleNamespace(**loaded)


# ---------------------------------------------------------------------------------------------
# Probe inputs: (label, call(m)) per function; every call builds fresh inputs
# ---------------------------------------------------------------------------------------------

XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_AND = np.array([0, 0, 0, 1])
Y_OR = np.array([0, 1, 1, 1])
Y_XOR = np.array([0, 1, 1, 0])

Z1 = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
Z2 = np.array([[-1.0, 0.0, 1.5], [2.0, -3.0, 0.25]])
Z_INT = np.array([-2, 0, 3])
Z_WIDE = np.array([-1000.0, -30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0, 1000.0])
Z_GRID = np.linspace(-3.0, 3.0, 12).reshape(3, 4)

S_ROWS = np.array([[1000.0, 0.0, -1000.0, 2.0], [1.0, 2.0, 3.0, 4.0], [-1.0, -1.0, -1.0, -1.0]])

W32 = np.array([[1.0, 1.0], [1.0, -1.0], [-2.0, 0.5]])
B3 = np.array([-1.5, 0.0, 0.25])
W22 = np.array([[1.0, -2.0], [0.5, 1.0]])
B2 = np.array([0.0, -0.5])


def _rand(seed, *shape):
    return np.random.default_rng(seed).normal(size=shape)


def _net(sizes, seed):
    """Random params with non-zero biases, built here (independent of the module under test)."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def _probs(seed, n, k):
    e = np.exp(_rand(seed, n, k))
    return e / e.sum(axis=1, keepdims=True)


def _f_mixed(v):
    """A non-separable scalar function, so that a shifted evaluation point shows."""
    return float(np.sum(v) ** 3 + np.sum(np.sin(v) * np.arange(v.size).reshape(v.shape)))


def _numgrad(m, f, x):
    g = m.backprop.numerical_gradient(f, x)
    return g, x  # x is copied by the normaliser after the call: a changed input shows


def _gd(m, seed, lr):
    params = _net([3, 4, 2], seed)
    grads = _net([3, 4, 2], seed + 100)
    new = m.backprop.gradient_descent_step(params, grads, lr)
    return new, params


def _backward(m, X, Y, sizes, acts, seed, loss, scale=1.0):
    """scale: the output layer's weights times this (large: saturated logits, some true-class
    probabilities below the loss's clip of 1e-12)."""
    params = _net(sizes, seed)
    params[-1] = (params[-1][0] * scale, params[-1][1] * scale)
    _, cache = m.mlp.mlp_forward(X, params, acts)
    return m.backprop.mlp_backward(Y, params, cache, acts, loss)


X5 = _rand(7, 5, 2)
X6 = _rand(8, 6, 3)
Y5 = np.array([0, 1, 2, 1, 0])
ONEHOT_XOR = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])

ELEMENTWISE = {"sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "identity", "identity_grad"}

PROBES = {
    "heaviside": [
        ("1d", lambda m: m.tlu.heaviside(Z1)),
        ("2d", lambda m: m.tlu.heaviside(Z2)),
        ("scalar 0", lambda m: m.tlu.heaviside(0.0)),
        ("int", lambda m: m.tlu.heaviside(Z_INT)),
    ],
    "sign": [
        ("1d", lambda m: m.tlu.sign(Z1)),
        ("2d", lambda m: m.tlu.sign(Z2)),
        ("scalar 0", lambda m: m.tlu.sign(0.0)),
        ("int", lambda m: m.tlu.sign(Z_INT)),
    ],
    "tlu": [
        ("AND heaviside", lambda m: m.tlu.tlu(XOR, np.array([1.0, 1.0]), -1.5)),
        ("sign with ties", lambda m: m.tlu.tlu(XOR, np.array([1.0, 1.0]), -1.0, step="sign")),
        ("single x", lambda m: m.tlu.tlu(np.array([1.0, 0.0]), np.array([1.0, 1.0]), -1.0, step="sign")),
        ("no bias", lambda m: m.tlu.tlu(XOR, np.array([2.0, -1.0]), 0.0)),
    ],
    "perceptron_layer": [
        ("3 out heaviside", lambda m: m.tlu.perceptron_layer(XOR, W32, B3)),
        ("3 out sign", lambda m: m.tlu.perceptron_layer(XOR, W32, B3, step="sign")),
        ("square sign", lambda m: m.tlu.perceptron_layer(XOR, W22, B2, step="sign")),
    ],
    "perceptron_train": [
        ("AND", lambda m: m.tlu.perceptron_train(XOR, Y_AND, epochs=6)),
        ("OR lr 0.5", lambda m: m.tlu.perceptron_train(XOR, Y_OR, lr=0.5, epochs=5)),
        ("XOR", lambda m: m.tlu.perceptron_train(XOR, Y_XOR, epochs=4)),
    ],
    "identity": [("grid", lambda m: m.activations.identity(Z_GRID))],
    "identity_grad": [("grid", lambda m: m.activations.identity_grad(Z_GRID))],
    "leaky_relu": [
        ("wide", lambda m: m.activations.leaky_relu(Z_WIDE)),
        ("alpha 0.2", lambda m: m.activations.leaky_relu(Z_GRID, alpha=0.2)),
        ("int alpha 0.1", lambda m: m.activations.leaky_relu(Z_INT, alpha=0.1)),
    ],
    "leaky_relu_grad": [
        ("wide", lambda m: m.activations.leaky_relu_grad(Z_WIDE)),
        ("alpha 0.2", lambda m: m.activations.leaky_relu_grad(Z_GRID, alpha=0.2)),
        ("int alpha 0.1", lambda m: m.activations.leaky_relu_grad(Z_INT, alpha=0.1)),
    ],
    "softmax": [
        ("[1, 2, 3]", lambda m: m.activations.softmax(np.array([1.0, 2.0, 3.0]))),
        ("[1000, 1000]", lambda m: m.activations.softmax(np.array([1000.0, 1000.0]))),
        ("rows", lambda m: m.activations.softmax(S_ROWS)),
        ("2x2", lambda m: m.activations.softmax(np.array([[1.0, 2.0], [3.0, 0.0]]))),
    ],
    "softmax_jacobian": [
        ("[1, 2, 3]", lambda m: m.activations.softmax_jacobian(np.array([1.0, 2.0, 3.0]))),
        ("[1000, 1000, 0]", lambda m: m.activations.softmax_jacobian(np.array([1000.0, 1000.0, 0.0]))),
        ("batch", lambda m: m.activations.softmax_jacobian(S_ROWS[1:])),
    ],
    "init_params": [("[2, 3, 2]", lambda m: m.mlp.init_params([2, 3, 2], seed=3))],
    "dense_forward": [
        ("4x3 -> 2", lambda m: m.mlp.dense_forward(_rand(1, 4, 3), _rand(2, 2, 3), _rand(3, 2))),
        ("square", lambda m: m.mlp.dense_forward(_rand(4, 2, 2), W22, B2)),
    ],
    "mlp_forward": [
        ("tanh softmax", lambda m: m.mlp.mlp_forward(XOR, _net([2, 3, 2], 1), ["tanh", "softmax"])),
        ("3 layers", lambda m: m.mlp.mlp_forward(XOR, _net([2, 4, 3, 1], 2), ["sigmoid", "tanh", "sigmoid"])),
        ("relu identity", lambda m: m.mlp.mlp_forward(X6, _net([3, 5, 4], 3), ["relu", "identity"])),
    ],
    "predict": [
        ("softmax 2", lambda m: m.mlp.predict(XOR, _net([2, 3, 2], 1), ["tanh", "softmax"])),
        ("softmax 3", lambda m: m.mlp.predict(X5, _net([2, 4, 3], 4), ["relu", "softmax"])),
        ("one unit", lambda m: m.mlp.predict(X5, _net([2, 3, 1], 5), ["tanh", "sigmoid"])),
        ("one unit at 0.5", lambda m: m.mlp.predict(XOR, [(np.zeros((1, 2)), np.zeros(1))], ["sigmoid"])),
    ],
    "one_hot": [
        ("K=3", lambda m: m.backprop.one_hot(np.array([0, 2, 1, 2]), 3)),
        ("list K=2", lambda m: m.backprop.one_hot([1, 0], 2)),
        ("K=5", lambda m: m.backprop.one_hot(np.array([3, 0]), 5)),
    ],
    "cross_entropy": [
        ("4x3", lambda m: m.backprop.cross_entropy(_probs(1, 4, 3), np.array([0, 2, 1, 2]))),
        ("a zero", lambda m: m.backprop.cross_entropy(np.array([[0.0, 1.0], [0.3, 0.7]]), np.array([0, 1]))),
        ("lists", lambda m: m.backprop.cross_entropy([[0.2, 0.8], [0.9, 0.1], [0.5, 0.5]], [1, 0, 1])),
    ],
    "mse": [
        ("4x3", lambda m: m.backprop.mse(_rand(1, 4, 3), _rand(2, 4, 3))),
        ("2x1", lambda m: m.backprop.mse(np.array([[0.5], [2.0]]), np.array([[1.0], [0.0]]))),
    ],
    "dense_backward": [
        ("4x2 / 4x3", lambda m: m.backprop.dense_backward(_rand(1, 4, 2), _rand(2, 4, 3), _rand(3, 2, 3))),
        ("square", lambda m: m.backprop.dense_backward(_rand(4, 3, 3), _rand(5, 3, 3), _rand(6, 3, 3))),
    ],
    "mlp_backward": [
        ("CE [2,3,2]", lambda m: _backward(m, XOR, Y_XOR, [2, 3, 2], ["tanh", "softmax"], 1, "cross_entropy")),
        ("CE [2,4,3,3]", lambda m: _backward(m, X5, Y5, [2, 4, 3, 3], ["sigmoid", "tanh", "softmax"], 2, "cross_entropy")),
        ("CE saturated", lambda m: _backward(m, XOR, Y_XOR, [2, 3, 2], ["tanh", "softmax"], 1, "cross_entropy", scale=400.0)),
        ("mse [2,3,2]", lambda m: _backward(m, XOR, ONEHOT_XOR, [2, 3, 2], ["tanh", "sigmoid"], 3, "mse")),
        ("mse [2,5,4,3]", lambda m: _backward(m, X5, _rand(9, 5, 3), [2, 5, 4, 3], ["leaky_relu", "sigmoid", "tanh"], 4, "mse")),
    ],
    "numerical_gradient": [
        ("2x3 mixed", lambda m: _numgrad(m, _f_mixed, _rand(1, 2, 3))),
        ("int list", lambda m: m.backprop.numerical_gradient(lambda v: float(np.sum(v ** 2) * v[0]), [1, 2, 3])),
        ("int array", lambda m: _numgrad(m, lambda v: float(np.prod(v) + np.sum(v ** 3)), np.array([1, -2, 3]))),
    ],
    "gradient_descent_step": [
        ("lr 0.1", lambda m: _gd(m, 1, 0.1)),
        ("lr 0.5", lambda m: _gd(m, 2, 0.5)),
    ],
    "train": [
        ("CE seed 2 lr 0.3", lambda m: m.backprop.train(XOR, Y_XOR, [2, 3, 2], ["tanh", "softmax"], lr=0.3, epochs=12, seed=2)),
        ("mse seed 1", lambda m: m.backprop.train(XOR, ONEHOT_XOR, [2, 3, 2], ["tanh", "sigmoid"], loss="mse", lr=0.2, epochs=10, seed=1)),
        ("defaults", lambda m: m.backprop.train(XOR, Y_XOR, [2, 4, 2], ["tanh", "softmax"], epochs=5)),
    ],
}
for _name in ELEMENTWISE:
    PROBES[_name] = PROBES.get(_name, []) + [
        ("wide", lambda m, f=_name: getattr(m.activations, f)(Z_WIDE)),
        ("grid", lambda m, f=_name: getattr(m.activations, f)(Z_GRID)),
        ("scalar", lambda m, f=_name: getattr(m.activations, f)(0.0)),
        ("int", lambda m, f=_name: getattr(m.activations, f)(Z_INT)),
    ]


# ---------------------------------------------------------------------------------------------
# Running and comparing probes
# ---------------------------------------------------------------------------------------------

def _normalise(x):
    """Lists/tuples of scalars -> one array; other lists/tuples -> tuples; arrays copied."""
    if isinstance(x, (list, tuple)):
        if x and all(not isinstance(e, (list, tuple)) and np.ndim(e) == 0 for e in x):
            return np.array(x)
        return tuple(_normalise(e) for e in x)
    return np.array(x, copy=True)


def run_probe(call, m):
    """(kind, value, warnings): kind 'ok' or 'raise'; warnings a sorted list of messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
            try:
                value, kind = _normalise(call(m)), "ok"
            except Exception as exc:  # a wrong student function may raise anything
                value, kind = f"{type(exc).__name__}: {exc}", "raise"
    return kind, value, sorted(f"{w.category.__name__}: {w.message}" for w in caught)


def same(a, b):
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(same, a, b))
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
    return bool(np.array_equal(a, b))


def describe(outcome):
    kind, value, warns = outcome
    text = value if kind == "raise" else repr(value)
    return f"{kind}: {text[:300]}" + (f" warnings={warns}" if warns else "")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    m = load_modules(REFERENCE, tmp_path_factory.mktemp("reference"))
    return {
        function: [(label, run_probe(call, m)) for label, call in probes]
        for function, probes in PROBES.items()
    }


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------

def test_bank_shape():
    assert len(BANK.MISTAKES) >= 45
    assert len(BANK.VARIANTS) >= 12
    names = [x.name for x in BANK.MISTAKES + BANK.VARIANTS]
    assert len(names) == len(set(names)), "names must be unique"
    for entry in BANK.MISTAKES + BANK.VARIANTS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", entry.name), entry.name
        assert entry.edits and all(isinstance(e, BANK.Edit) for e in entry.edits), entry.name
        assert all(e.module in MODULES for e in entry.edits), entry.name
        assert entry.description and "\n" not in entry.description, entry.name
    for mistake in BANK.MISTAKES:
        assert mistake.part in BANK.PARTS, mistake.name
        assert len(mistake.edits) <= 2, f"{mistake.name}: a mistake is one small edit, occasionally two"
        assert FUNCTION_PART.get(mistake.function) == mistake.part, (
            f"{mistake.name}: {mistake.function} belongs to part {FUNCTION_PART.get(mistake.function)!r}"
        )
    assert {m.part for m in BANK.MISTAKES} == set(BANK.PARTS)


def test_apply_rejects_missing_and_repeated_old():
    with pytest.raises(ValueError, match="occurs 0 times"):
        BANK.apply((BANK.Edit("tlu", "no such text anywhere", "x"),), REFERENCE)
    with pytest.raises(ValueError, match="occurs [2-9]"):
        BANK.apply((BANK.Edit("tlu", "def ", "def  "),), REFERENCE)
    with pytest.raises(ValueError, match="unknown module"):
        BANK.apply((BANK.Edit("nope", "x", "y"),), REFERENCE)
    edited = BANK.apply(BANK.MISTAKES[0].edits, REFERENCE)
    assert edited is not REFERENCE and edited != REFERENCE
    assert REFERENCE == {name: strip_markers((REF_DIR / f"{name}.py").read_text()) for name in MODULES}


def test_reference_probes_are_clean(reference):
    for function, results in reference.items():
        for label, outcome in results:
            kind, _, warns = outcome
            assert kind == "ok" and not warns, f"reference {function} [{label}]: {describe(outcome)}"


@pytest.mark.parametrize("mistake", BANK.MISTAKES, ids=lambda x: x.name)
def test_mistake_applies_and_differs(mistake, reference, tmp_path):
    sources = BANK.apply(mistake.edits, REFERENCE)
    assert sources != REFERENCE
    m = load_modules(sources, tmp_path / mistake.name)
    assert mistake.function in PROBES, f"no probes for {mistake.function}"
    assert callable(getattr(getattr(m, _module_of(mistake.function)), mistake.function))
    seen = []
    for (label, call), (_, expected) in zip(PROBES[mistake.function], reference[mistake.function]):
        got = run_probe(call, m)
        if got[0] != expected[0] or got[2] != expected[2] or not same(got[1], expected[1]):
            return
        seen.append(f"[{label}] {describe(got)}")
    pytest.fail(f"{mistake.name} is equivalent to the reference on every probe of {mistake.function}: {seen}")


@pytest.mark.parametrize("variant", BANK.VARIANTS, ids=lambda x: x.name)
def test_variant_applies_and_matches(variant, reference, tmp_path):
    sources = BANK.apply(variant.edits, REFERENCE)
    assert sources != REFERENCE
    m = load_modules(sources, tmp_path / variant.name)
    problems = []
    for function, probes in PROBES.items():
        for (label, call), (_, expected) in zip(probes, reference[function]):
            got = run_probe(call, m)
            if got[0] != "ok" or got[2] or not same(got[1], expected[1]):
                problems.append(f"{function} [{label}]: got {describe(got)}; expected {describe(expected)}")
    assert not problems, f"{variant.name} is not equivalent:\n" + "\n".join(problems)


def _module_of(function):
    return {"tlu": "tlu", "activations": "activations", "forward": "mlp"}.get(FUNCTION_PART[function], "backprop")
