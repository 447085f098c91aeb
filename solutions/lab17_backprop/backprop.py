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
    # BEGIN SOLUTION hint: a float (N, num_classes) array of zeros with a single 1.0 per row, in the column of that row's label; the width is num_classes, not the largest label + 1
    y = np.asarray(y).astype(int)
    out = np.zeros((y.shape[0], num_classes))
    out[np.arange(y.shape[0]), y] = 1.0
    return out
    # END SOLUTION


def cross_entropy(P, y):
    """Mean cross-entropy: -(1/N) sum_i log P[i, y_i], with P clipped to [1e-12, 1].

    - P: predicted probabilities, shape (N, K); y: int labels, shape (N,)
    Returns a float. The clip keeps log finite when P[i, y_i] is 0.
    """
    # BEGIN SOLUTION hint: only each row's probability of its true class counts; clip it to [1e-12, 1] so that log never sees 0; the loss is the mean over the rows, one float
    P = np.asarray(P, dtype=float)
    y = np.asarray(y).astype(int)
    picked = np.clip(P[np.arange(P.shape[0]), y], 1e-12, 1.0)
    return float(-np.mean(np.log(picked)))
    # END SOLUTION


def mse(Y_hat, Y):
    """Mean squared error: (1 / 2N) sum_i ||y_hat_i - y_i||^2.

    - Y_hat, Y: shape (N, K). Returns a float.
    """
    # BEGIN SOLUTION hint: (1 / 2N) times the sum of all squared errors, with N the number of rows (samples), not the number of entries
    diff = np.asarray(Y_hat, dtype=float) - np.asarray(Y, dtype=float)
    return float(np.sum(diff * diff) / (2.0 * diff.shape[0]))
    # END SOLUTION


LOSSES = {"cross_entropy": cross_entropy, "mse": mse}


def dense_backward(dZ, A_prev, W):
    """Backward pass of a dense layer Z = A_prev W^T + b (chain rule).

    - dZ: dL/dZ, shape (N, n_out); A_prev: shape (N, n_in); W: shape (n_out, n_in)
    Returns (dA_prev, dW, db): dA_prev = dZ W (N, n_in); dW = dZ^T A_prev (n_out, n_in);
    db = sum of dZ over the batch (n_out,).
    """
    # BEGIN SOLUTION hint: the chain rule through Z = A_prev W^T + b (notebook Part D); each gradient has the shape of what it differentiates (dW like W, db like b, dA_prev like A_prev); db sums over the batch and does not average, since the 1/N is already in dZ
    dZ = np.asarray(dZ, dtype=float)
    dA_prev = dZ @ np.asarray(W, dtype=float)
    dW = dZ.T @ np.asarray(A_prev, dtype=float)
    db = dZ.sum(axis=0)
    return dA_prev, dW, db
    # END SOLUTION


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
    # BEGIN SOLUTION hint: delta of the output layer first (notebook Part D: softmax with cross-entropy, or mse), then from the last layer down: dense_backward, and phi' of the layer below at its pre-activation Z from the cache, not at A
    _, Z_L = cache[-1]
    N = Z_L.shape[0]
    if loss == "cross_entropy":
        if activations[-1] != "softmax":
            raise ValueError("cross_entropy needs a softmax output layer")
        dZ = (softmax(Z_L) - one_hot(Y, Z_L.shape[1])) / N
    else:
        phi, phi_grad = ACTIVATIONS[activations[-1]]
        dZ = (phi(Z_L) - np.asarray(Y, dtype=float)) / N * phi_grad(Z_L)
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        A_prev, _ = cache[l]
        dA_prev, dW, db = dense_backward(dZ, A_prev, params[l][0])
        grads[l] = (dW, db)
        if l > 0:
            dZ = dA_prev * ACTIVATIONS[activations[l - 1]][1](cache[l - 1][1])
    return grads
    # END SOLUTION


def numerical_gradient(f, x, h=1e-5):
    """Central differences: g_i = (f(x + h e_i) - f(x - h e_i)) / 2h for every entry of x.

    - f: a function of an array shaped like x, returning a scalar
    - x: array of any shape; it is left exactly as it was
    Returns g, an array shaped like x.
    """
    # BEGIN SOLUTION hint: central differences, one entry of x at a time, for x of any shape (np.ndindex visits every index); nudge a float copy and put each entry back, so that x itself never changes
    x = np.array(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x.copy())
        x[i] = old - h
        f_minus = f(x.copy())
        x[i] = old
        g[i] = (f_plus - f_minus) / (2.0 * h)
    return g
    # END SOLUTION


def gradient_descent_step(params, grads, lr):
    """One gradient descent step: new params (W - lr dW, b - lr db); the inputs stay unchanged.

    Returns a new list of (W, b) tuples shaped like params.
    """
    # BEGIN SOLUTION hint: one step against the gradient for every W and b, returned as new arrays; an in-place update would change the caller's params
    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    # END SOLUTION


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
    # BEGIN SOLUTION hint: every epoch on the full batch: forward pass, record the loss of that output (before the update), backward pass, gradient step; keep the params the step returns
    for _ in range(epochs):
        out, cache = mlp_forward(X, params, activations)
        losses.append(LOSSES[loss](out, Y))
        grads = mlp_backward(Y, params, cache, activations, loss)
        params = gradient_descent_step(params, grads, lr)
    # END SOLUTION
    return params, losses
