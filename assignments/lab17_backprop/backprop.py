"""Parts D and E: losses, backpropagation, numerical gradients and training (lecture 17).

Symbols used in this module:
- N: number of samples; K: number of outputs (classes)
- params, activations, cache: as in mlp.py; grads: a list of (dW, db) shaped like params
"""
import numpy as np

from activations import ACTIVATIONS, softmax
from mlp import init_params, mlp_forward


def one_hot(y, num_classes):
    """One-hot encoding: labels y of shape (N,) (ints in [0, K)) give a float array (N, K)."""
    raise NotImplementedError('one_hot: start from np.zeros((N, num_classes)) and put a 1.0 at column y[i] of row i')


def cross_entropy(P, y):
    """Mean cross-entropy: -(1/N) sum_i log P[i, y_i], with P clipped to [1e-12, 1].

    - P: predicted probabilities, shape (N, K); y: int labels, shape (N,)
    Returns a float. The clip keeps log finite when P[i, y_i] is 0.
    """
    raise NotImplementedError('cross_entropy: pick P[i, y_i] for every row, clip to [1e-12, 1], then the mean of -log')


def mse(Y_hat, Y):
    """Mean squared error: (1 / 2N) sum_i ||y_hat_i - y_i||^2.

    - Y_hat, Y: shape (N, K). Returns a float.
    """
    raise NotImplementedError('mse: sum of squares over everything, divided by 2N (N = number of rows)')


LOSSES = {"cross_entropy": cross_entropy, "mse": mse}


def dense_backward(dZ, A_prev, W):
    """Backward pass of a dense layer Z = A_prev W^T + b (chain rule).

    - dZ: dL/dZ, shape (N, n_out); A_prev: shape (N, n_in); W: shape (n_out, n_in)
    Returns (dA_prev, dW, db): dA_prev = dZ W (N, n_in); dW = dZ^T A_prev (n_out, n_in);
    db = sum of dZ over the batch (n_out,).
    """
    raise NotImplementedError('dense_backward: dW = dZ.T @ A_prev, db = dZ summed over axis 0 (not averaged), dA_prev = dZ @ W')


def mlp_backward(Y, params, cache, activations, loss="cross_entropy"):
    """Backpropagation: the gradient of the mean loss with respect to every W_l and b_l.

    - Y: int labels (N,) for "cross_entropy" (which needs a softmax output layer),
      or targets (N, K) for "mse" (which needs an elementwise output activation)
    - params, activations: as in mlp_forward; cache: the cache mlp_forward returned
    Output layer: "cross_entropy": dZ_L = (softmax(Z_L) - one_hot(Y)) / N;
                  "mse": dZ_L = (phi(Z_L) - Y) / N * phi'(Z_L).
    Hidden layer l: dA = dZ_{l+1} W_{l+1}; dZ_l = dA * phi_l'(Z_l) (the derivative at Z, not A).
    Returns grads: a list of L tuples (dW_l, db_l), first layer first, shaped like params.
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)}")
    raise NotImplementedError("mlp_backward: start with dZ of the output layer, then walk the layers backwards with dense_backward and phi'(Z)")


def numerical_gradient(f, x, h=1e-5):
    """Central differences: g_i = (f(x + h e_i) - f(x - h e_i)) / 2h for every entry of x.

    - f: a function of an array shaped like x, returning a scalar
    - x: array of any shape; it is left exactly as it was
    Returns g, an array shaped like x.
    """
    raise NotImplementedError('numerical_gradient: loop over every index of a float copy of x (np.ndindex); nudge one entry by +h and -h, then put it back')


def gradient_descent_step(params, grads, lr):
    """One gradient descent step: new params (W - lr dW, b - lr db); the inputs stay unchanged.

    Returns a new list of (W, b) tuples shaped like params.
    """
    raise NotImplementedError('gradient_descent_step: build new arrays (W - lr * dW, b - lr * db); do not use -= on the old ones')


def train(X, Y, layer_sizes, activations, loss="cross_entropy", lr=0.5, epochs=1000, seed=0):
    """Full-batch gradient descent from init_params(layer_sizes, seed).

    Every epoch: forward pass; record the loss of that output (before the update);
    mlp_backward; gradient_descent_step.
    Returns (params, losses): the trained params and a list of `epochs` floats.
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)}")
    params = init_params(layer_sizes, seed)
    losses = []
    raise NotImplementedError('train: for each epoch: out, cache = mlp_forward(...); append LOSSES[loss](out, Y); grads = mlp_backward(...); params = gradient_descent_step(...)')
    return params, losses
