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
    raise NotImplementedError('sigmoid: eq. (13); np.exp(-z) overflows for z = -1000, so use e^z / (1 + e^z) where z < 0')


def sigmoid_grad(z):
    """Derivative of the sigmoid, eq. (14): sigma'(z) = sigma(z) (1 - sigma(z)), taken at z."""
    raise NotImplementedError('sigmoid_grad: eq. (14), evaluated at the pre-activation z (call sigmoid(z) first)')


def tanh(z):
    """Hyperbolic tangent, eq. (15): (e^z - e^-z) / (e^z + e^-z). Same shape as z."""
    raise NotImplementedError('tanh: eq. (15); np.tanh is fine, and so is 2 sigmoid(2z) - 1')


def tanh_grad(z):
    """Derivative of tanh: tanh'(z) = 1 - tanh(z)^2, taken at z.

    The slide's eq. (16), 2 phi(2z) - 1, is not the derivative: tanh(z) = 2 sigma(2z) - 1 is an
    identity between tanh and the sigmoid.
    """
    raise NotImplementedError("tanh_grad: 1 - tanh(z)**2 (not the slide's eq. (16), which is an identity, not a derivative)")


def relu(z):
    """Rectified linear unit, eq. (17): max(0, z). Same shape as z."""
    raise NotImplementedError('relu: eq. (17), elementwise; np.maximum does it')


def relu_grad(z):
    """Derivative of ReLU, eq. (18): 0.0 where z <= 0 (z = 0 included), 1.0 elsewhere."""
    raise NotImplementedError("relu_grad: eq. (18): 0 where z <= 0 (so relu'(0) = 0), else 1")


def leaky_relu(z, alpha=0.01):
    """Leaky ReLU (Fig. 11-2): z where z > 0, alpha * z elsewhere. Same shape as z."""
    raise NotImplementedError('leaky_relu: z where z > 0, alpha * z elsewhere; use the alpha you are given')


def leaky_relu_grad(z, alpha=0.01):
    """Derivative of leaky ReLU: 1.0 where z > 0, alpha elsewhere (z = 0 included)."""
    raise NotImplementedError('leaky_relu_grad: 1 where z > 0, alpha where z <= 0 (alpha, not 0)')


def softmax(Z):
    """Softmax over the last axis (Fig. 10-9): s_k = e^{z_k} / sum_j e^{z_j}.

    - Z: shape (K,) or (N, K)
    Returns an array of the same shape whose rows sum to 1. softmax([1, 2, 3]) is about
    [0.090, 0.245, 0.665], not [1/6, 2/6, 3/6] as in the handwritten note: the exponentials
    are normalised, not z itself. Subtracting the row maximum first keeps e^z finite for
    |z| up to 1e3 and does not change the result.
    """
    raise NotImplementedError('softmax: subtract the max of each row (axis=-1, keepdims=True), exponentiate, divide by the row sum')


def softmax_jacobian(z):
    """Jacobian of softmax: J[i, j] = d s_i / d z_j = s_i (delta_ij - s_j).

    - z: shape (K,) gives J of shape (K, K); shape (N, K) gives (N, K, K), one Jacobian per row.
    """
    raise NotImplementedError('softmax_jacobian: with s = softmax(z): diag(s) - outer(s, s), one per row for a batch')


# name -> (function, derivative) for the elementwise activations
ACTIVATIONS = {
    "identity": (identity, identity_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
}
