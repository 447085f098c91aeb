"""Part B: activation functions and their derivatives (lecture 17, eqs. (13)-(18), Fig. 10-8).

Every derivative takes the pre-activation z, never the activation's output a = phi(z).
All functions are elementwise on an array z of any shape, except softmax and
softmax_jacobian, which work over the last axis (K classes).
"""
import numpy as np


def identity(z):
    """Identity activation phi(z) = z (given). Returns a float64 copy, same shape as z."""
    return np.array(z, dtype=float)


def identity_grad(z):
    """phi'(z) = 1 for the identity (given). Same shape as z."""
    return np.ones_like(np.asarray(z, dtype=float))


def sigmoid(z):
    """Logistic sigmoid, eq. (13): sigma(z) = 1 / (1 + e^-z).

    Must stay finite and warning-free for |z| up to 1e3: sigmoid(-1000) is 0.0.
    Returns a float64 array of the same shape as z.
    """
    raise NotImplementedError('sigmoid: eq. (13), but e^-z overflows at z = -1000; with e = e^-|z| (never above 1) it is 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0; np.where computes both branches everywhere, so each branch must be safe for every z')


def sigmoid_grad(z):
    """Derivative of the sigmoid, eq. (14): sigma'(z) = sigma(z) (1 - sigma(z)), taken at z."""
    raise NotImplementedError('sigmoid_grad: eq. (14) at the pre-activation z: take sigma(z) first; the trap is treating z as if it were the output a')


def tanh(z):
    """Hyperbolic tangent, eq. (15): (e^z - e^-z) / (e^z + e^-z). Same shape as z."""
    raise NotImplementedError('tanh: eq. (15); the formula as written is inf / inf at |z| = 1000, so use a stable form (NumPy has one; tanh(z) = 2 sigma(2z) - 1 with your stable sigmoid is another)')


def tanh_grad(z):
    """Derivative of tanh: tanh'(z) = 1 - tanh(z)^2, taken at z.

    The slide's eq. (16) reads phi'(z) = 2 phi(2z) - 1. That is not the derivative of tanh (at
    z = 0 it gives -1, but tanh rises there with slope 1); it echoes the identity
    tanh(z) = 2 sigma(2z) - 1 between tanh and the sigmoid (Geron, ch. 10).
    """
    raise NotImplementedError("tanh_grad: differentiate eq. (15) and write the result with tanh(z) itself; the slide's eq. (16), phi'(z) = 2 phi(2z) - 1, is not the derivative (at z = 0 it gives -1, but tanh rises with slope 1)")


def relu(z):
    """Rectified linear unit, eq. (17): max(0, z). Same shape as z."""
    raise NotImplementedError('relu: eq. (17), elementwise, float64 of the same shape')


def relu_grad(z):
    """Derivative of ReLU, eq. (18): 0.0 where z <= 0 (z = 0 included), 1.0 elsewhere."""
    raise NotImplementedError('relu_grad: eq. (18); the tie: the slope at z = 0 is 0 in this lab, and the result is float64')


def leaky_relu(z, alpha=0.01):
    """Leaky ReLU (Fig. 11-2): z where z > 0, alpha * z elsewhere. Same shape as z."""
    raise NotImplementedError('leaky_relu: Fig. 11-2: z itself for z > 0, a line of slope alpha elsewhere; use the alpha argument, not a fixed 0.01')


def leaky_relu_grad(z, alpha=0.01):
    """Derivative of leaky ReLU: 1.0 where z > 0, alpha elsewhere (z = 0 included)."""
    raise NotImplementedError('leaky_relu_grad: the slope of leaky_relu: 1 for z > 0, alpha for z <= 0 (z = 0 included); the trap is a slope of 0 instead of alpha')


def softmax(Z):
    """Softmax over the last axis (Fig. 10-9): s_k = e^{z_k} / sum_j e^{z_j}.

    - Z: shape (K,) or (N, K)
    Returns an array of the same shape whose rows sum to 1. softmax([1, 2, 3]) is about
    [0.090, 0.245, 0.665], not [1/6, 2/6, 3/6] as in the handwritten note: the exponentials
    are normalised, not z itself. Subtracting the row maximum first keeps e^z finite for
    |z| up to 1e3 and does not change the result.
    """
    raise NotImplementedError('softmax: Fig. 10-9 over the last axis, row by row; e^1000 overflows, and shifting a row by its maximum changes nothing; keep the row axis when you divide, so that it broadcasts')


def softmax_jacobian(z):
    """Jacobian of softmax: J[i, j] = d s_i / d z_j = s_i (delta_ij - s_j).

    - z: shape (K,) gives J of shape (K, K); shape (N, K) gives (N, K, K), one Jacobian per row.
    """
    raise NotImplementedError('softmax_jacobian: d s_i / d z_j = s_i (delta_ij - s_j), s being the softmax of z: a diagonal part minus an outer product; for a batch, one (K, K) matrix per row')


# name -> (function, derivative) for the elementwise activations
ACTIVATIONS = {
    "identity": (identity, identity_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
}
