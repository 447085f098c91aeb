"""Trusted numerical differentiation, run by the engine (never by student code).

Central differences g_i = (f(x + h e_i) - f(x - h e_i)) / 2h have a truncation error of
about h^2 |f'''| / 6 and a rounding error of about eps |f| / h. With h = 1e-5, float64
(eps = 2.2e-16) and the kit's inputs (|f|, |f'''| of order 1 to 10) both are below 1e-9, so a
correct analytic gradient shows a relative error `relative_error` below 1e-8, and the default
tolerance 1e-6 (config.Settings.gradcheck_tol) leaves a 100x margin. A derivative that is off
by 0.1% already shows 5e-4: it fails.
"""
import numpy as np


def central_difference(f, x, h):
    """Gradient of the scalar function f at x by central differences (x is not modified)."""
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2.0 * h)
    return grad


def elementwise_derivative(f, z, h):
    """phi'(z) of an elementwise function, by central differences on every entry at once."""
    z = np.asarray(z, dtype=float)
    return (f(z + h) - f(z - h)) / (2.0 * h)


def relative_error(analytic, numeric):
    """max|a - n| / max(1e-8, max|a| + max|n|): scale-free, and finite when both are 0."""
    analytic, numeric = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    if analytic.size == 0:
        return 0.0
    scale = max(1e-8, float(np.max(np.abs(analytic)) + np.max(np.abs(numeric))))
    return float(np.max(np.abs(analytic - numeric)) / scale)
