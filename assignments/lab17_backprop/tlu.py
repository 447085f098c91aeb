"""Part A: the threshold logic unit and the perceptron (lecture 17, eq. (1) and the step functions).

Symbols used in this module:
- N: number of samples in a batch
- D: number of inputs of a unit (features)
- n_out: number of units in a perceptron layer
"""
import numpy as np


def heaviside(z):
    """Heaviside step: 0.0 where z < 0, 1.0 otherwise (so heaviside(0) = 1).

    Lecture: "Common step functions used in Perceptrons".
    - z: array of any shape (or a scalar)
    Returns a float64 array of the same shape as z.
    """
    raise NotImplementedError("heaviside: the slide's heaviside step, elementwise; the trap is the tie: heaviside(0) is 1, and the result is float64")


def sign(z):
    """Sign step: -1.0 where z < 0, 0.0 where z == 0, +1.0 where z > 0.

    Lecture: "Common step functions used in Perceptrons".
    - z: array of any shape (or a scalar)
    Returns a float64 array of the same shape as z.
    """
    raise NotImplementedError('sign: three cases, and the tie gives 0: sign(0) is 0.0; return float64, not ints')


STEPS = {"heaviside": heaviside, "sign": sign}


def get_step(name):
    """Look up a step function by name ("heaviside" or "sign")."""
    if name not in STEPS:
        raise ValueError(f"unknown step {name!r}; use one of {sorted(STEPS)}")
    return STEPS[name]


def tlu(X, w, b=0.0, step="heaviside"):
    """A threshold logic unit, eq. (1) with a bias: h(x) = step(w^T x + b).

    - X: inputs, shape (N, D), or a single input x of shape (D,)
    - w: weights, shape (D,)
    - b: bias, a scalar
    - step: "heaviside" or "sign"
    Returns step(X @ w + b): shape (N,) for X (N, D), a 0-d array for x (D,).
    """
    raise NotImplementedError('tlu: eq. (1) plus the bias for every row of X at once, then the step named by `step` (STEPS maps names to functions); one input x of shape (D,) gives one number')


def perceptron_layer(X, W, b, step="heaviside"):
    """A layer of n_out TLUs sharing the same inputs: step(X W^T + b).

    The lecture's example has 3 outputs and 2 inputs: W (3, 2), b (3,).
    - X: inputs, shape (N, D)
    - W: weights, shape (n_out, D), one row per unit
    - b: biases, shape (n_out,)
    Returns an array of shape (N, n_out).
    """
    raise NotImplementedError("perceptron_layer: eq. (1) for every unit at once: W holds one unit per row (the slide's output 1, 2, 3), so mind which factor is transposed; the result is (N, n_out)")


def perceptron_train(X, y, lr=1.0, epochs=10):
    """Rosenblatt's perceptron learning rule with a heaviside unit.

    Start from w = zeros(D), b = 0.0. Every epoch visits the samples in the given order:
    y_hat = heaviside(x . w + b); w += lr (y - y_hat) x; b += lr (y - y_hat).
    - X: inputs, shape (N, D)
    - y: targets in {0, 1}, shape (N,)
    Returns (w, b, errors): w (D,), b a float, errors a list of `epochs` ints where errors[e]
    counts the samples of epoch e whose y_hat (before that sample's update) differs from y.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.zeros(X.shape[1])
    b = 0.0
    errors = []
    raise NotImplementedError("perceptron_train: Rosenblatt's rule one sample at a time, in order: predict with the current w and b, count the mistake, then update; errors holds the number of mistakes of each epoch")
    return w, float(b), errors
