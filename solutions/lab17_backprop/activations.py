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
    # BEGIN SOLUTION hint: eq. (13); np.exp(-z) overflows for z = -1000, so use e^z / (1 + e^z) where z < 0
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))  # never overflows: the exponent is <= 0
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    # END SOLUTION


def sigmoid_grad(z):
    """Derivative of the sigmoid, eq. (14): sigma'(z) = sigma(z) (1 - sigma(z)), taken at z."""
    # BEGIN SOLUTION hint: eq. (14), evaluated at the pre-activation z (call sigmoid(z) first)
    s = sigmoid(z)
    return s * (1.0 - s)
    # END SOLUTION


def tanh(z):
    """Hyperbolic tangent, eq. (15): (e^z - e^-z) / (e^z + e^-z). Same shape as z."""
    # BEGIN SOLUTION hint: eq. (15); np.tanh is fine, and so is 2 sigmoid(2z) - 1
    return np.tanh(np.asarray(z, dtype=float))
    # END SOLUTION


def tanh_grad(z):
    """Derivative of tanh: tanh'(z) = 1 - tanh(z)^2, taken at z.

    The slide's eq. (16), 2 phi(2z) - 1, is not the derivative: tanh(z) = 2 sigma(2z) - 1 is an
    identity between tanh and the sigmoid.
    """
    # BEGIN SOLUTION hint: 1 - tanh(z)**2 (not the slide's eq. (16), which is an identity, not a derivative)
    t = np.tanh(np.asarray(z, dtype=float))
    return 1.0 - t * t
    # END SOLUTION


def relu(z):
    """Rectified linear unit, eq. (17): max(0, z). Same shape as z."""
    # BEGIN SOLUTION hint: eq. (17), elementwise; np.maximum does it
    return np.maximum(0.0, np.asarray(z, dtype=float))
    # END SOLUTION


def relu_grad(z):
    """Derivative of ReLU, eq. (18): 0.0 where z <= 0 (z = 0 included), 1.0 elsewhere."""
    # BEGIN SOLUTION hint: eq. (18): 0 where z <= 0 (so relu'(0) = 0), else 1
    return np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0)
    # END SOLUTION


def leaky_relu(z, alpha=0.01):
    """Leaky ReLU (Fig. 11-2): z where z > 0, alpha * z elsewhere. Same shape as z."""
    # BEGIN SOLUTION hint: z where z > 0, alpha * z elsewhere; use the alpha you are given
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * z)
    # END SOLUTION


def leaky_relu_grad(z, alpha=0.01):
    """Derivative of leaky ReLU: 1.0 where z > 0, alpha elsewhere (z = 0 included)."""
    # BEGIN SOLUTION hint: 1 where z > 0, alpha where z <= 0 (alpha, not 0)
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, alpha)
    # END SOLUTION


def softmax(Z):
    """Softmax over the last axis (Fig. 10-9): s_k = e^{z_k} / sum_j e^{z_j}.

    - Z: shape (K,) or (N, K)
    Returns an array of the same shape whose rows sum to 1. softmax([1, 2, 3]) is about
    [0.090, 0.245, 0.665], not [1/6, 2/6, 3/6] as in the handwritten note: the exponentials
    are normalised, not z itself. Subtracting the row maximum first keeps e^z finite for
    |z| up to 1e3 and does not change the result.
    """
    # BEGIN SOLUTION hint: subtract the max of each row (axis=-1, keepdims=True), exponentiate, divide by the row sum
    Z = np.asarray(Z, dtype=float)
    e = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    # END SOLUTION


def softmax_jacobian(z):
    """Jacobian of softmax: J[i, j] = d s_i / d z_j = s_i (delta_ij - s_j).

    - z: shape (K,) gives J of shape (K, K); shape (N, K) gives (N, K, K), one Jacobian per row.
    """
    # BEGIN SOLUTION hint: with s = softmax(z): diag(s) - outer(s, s), one per row for a batch
    s = softmax(z)
    eye = np.eye(s.shape[-1])
    return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]
    # END SOLUTION


# name -> (function, derivative) for the elementwise activations
ACTIVATIONS = {
    "identity": (identity, identity_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
}
