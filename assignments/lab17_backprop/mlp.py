"""Part C: the forward pass of a multi-layer perceptron (lecture 17, eqs. (6)-(12), Fig. 10-7).

Symbols used in this module:
- N: number of samples; D: number of inputs
- layer l has W of shape (n_out, n_in) and b of shape (n_out,), as in z = W x + b
- params: a list of (W, b) tuples, first layer first
- activations: a list of names, one per layer ("identity", "sigmoid", "tanh", "relu",
  "leaky_relu", or "softmax" for the output layer)
"""
import numpy as np

from activations import ACTIVATIONS, softmax


def init_params(layer_sizes, seed=0):
    """He initialisation (given): W ~ N(0, 2 / n_in) of shape (n_out, n_in), b = zeros(n_out).

    - layer_sizes: [D, n_1, ..., n_L]
    Returns params, a list of L (W, b) tuples. The draw order is fixed (layer by layer, W only),
    so the same seed always gives the same network.
    """
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        b = np.zeros(n_out)
        params.append((W, b))
    return params


def activate(Z, name):
    """Apply the activation called `name` to Z (given): softmax over the last axis, or an
    elementwise function from ACTIVATIONS. An unknown name raises ValueError."""
    if name == "softmax":
        return softmax(Z)
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; use one of {sorted(ACTIVATIONS) + ['softmax']}")
    return ACTIVATIONS[name][0](Z)


def dense_forward(X, W, b):
    """A dense layer's pre-activation for a batch: Z = X W^T + b (the lecture's z = W x + b).

    - X: shape (N, n_in); W: shape (n_out, n_in); b: shape (n_out,)
    Returns Z of shape (N, n_out).
    """
    raise NotImplementedError("dense_forward: the lecture's z = W x + b for every row x of X at once; W is (n_out, n_in), one unit per row, so mind the transpose; the result is (N, n_out)")


def mlp_forward(X, params, activations):
    """Forward pass, eqs. (6)-(12) with biases: A^0 = X; Z^l = A^{l-1} W_l^T + b_l; A^l = phi^l(Z^l).

    - X: shape (N, D)
    - params: L tuples (W_l, b_l); activations: L names
    Returns (out, cache): out = A^L of shape (N, n_L); cache a list of L tuples
    (A_prev, Z) = (A^{l-1}, Z^l), where A_prev is X for the first layer.
    """
    if len(params) != len(activations):
        raise ValueError(f"{len(params)} layers but {len(activations)} activation names")
    raise NotImplementedError("mlp_forward: eqs. (6)-(12) with biases, layer after layer: the pre-activation, its (input, pre-activation) pair into the cache for backprop, then the activation, which is the next layer's input")


def predict(X, params, activations):
    """Class labels from the forward pass (Fig. 10-9: pick the most probable class).

    Returns labels of shape (N,) with an integer dtype: the argmax over the outputs, or
    out[:, 0] >= 0.5 (as 0 or 1) when the network has a single output unit.
    """
    raise NotImplementedError('predict: Fig. 10-9: the most probable class of each row; a single output unit is a probability, thresholded at 0.5 (0.5 itself gives 1); labels are ints')
