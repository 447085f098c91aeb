"""A bank of realistic student mistakes (mutants) and correct alternatives (variants) for Lab 17.

Every entry is a small textual edit of the marker-stripped reference modules
(`autograder.skeleton.strip_markers` applied to tlu.py, activations.py, mlp.py, backprop.py):

- a `Mistake` is what a real student writes and must lose points in its `part`
  ("tlu" = Part A, "activations" = Part B, "forward" = Part C, "backprop" = Part D,
  "training" = Part E of ASSIGNMENT.md); `function` names the function that is wrong;
- a `Variant` is a correct way of writing the same thing and must earn every point
  (same results to rtol 1e-9 / atol 1e-12 on ordinary inputs, float64 results, no warnings
  for |z| up to 1e3, inputs left unchanged).

The bank is used to check that the public and hidden tests (and the grader) fail every mistake
in the right part and pass every variant. This file holds data only: the schema (Edit, Mistake,
Variant) and `apply(edits, sources)`, which builds the edited sources, are the engine's
(autograder/bank.py); tests/test_mistake_bank_applies.py checks that every edit applies, that the edited modules
import, that every mistake changes its function on some probe input and that every variant
changes nothing.
"""
from autograder.bank import Edit, Mistake, Variant, apply  # noqa: F401 (the schema; apply for the bank's users)
from autograder.bank import edit as _e

MODULES = ("tlu", "activations", "mlp", "backprop")
PARTS = ("tlu", "activations", "forward", "backprop", "training")


# ---------------------------------------------------------------------------------------------
# Mistakes
# ---------------------------------------------------------------------------------------------

_TLU_MISTAKES = (
    Mistake(
        "heaviside_zero_at_zero", "tlu", "heaviside",
        "heaviside(0) is 1 on the slide (0 only for z < 0); you used z > 0, so heaviside(0) = 0",
        (_e("tlu", "np.where(z >= 0, 1.0, 0.0)", "np.where(z > 0, 1.0, 0.0)"),),
    ),
    Mistake(
        "sign_one_at_zero", "tlu", "sign",
        "sign(0) must be 0; with a two-way np.where your sign(0) is +1",
        (_e("tlu", "return np.sign(z).astype(float)", "return np.where(z >= 0, 1.0, -1.0)"),),
    ),
    Mistake(
        "sign_int_dtype", "tlu", "sign",
        "sign of an int array comes back as ints; the contract asks for float64",
        (_e("tlu", "    z = np.asarray(z, dtype=float)\n    return np.sign(z).astype(float)",
            "    return np.sign(z)"),),
    ),
    Mistake(
        "tlu_ignores_step", "tlu", "tlu",
        "tlu always applies heaviside: the step argument is ignored, so step='sign' gives 0/1",
        (_e("tlu", "step_fn(np.asarray(X) @ np.asarray(w) + b)", "heaviside(np.asarray(X) @ np.asarray(w) + b)"),),
    ),
    Mistake(
        "tlu_no_bias", "tlu", "tlu",
        "tlu forgets the bias: step(X @ w) instead of step(X @ w + b)",
        (_e("tlu", "step_fn(np.asarray(X) @ np.asarray(w) + b)", "step_fn(np.asarray(X) @ np.asarray(w))"),),
    ),
    Mistake(
        "perceptron_layer_no_transpose", "tlu", "perceptron_layer",
        "perceptron_layer uses X @ W instead of X @ W.T (W has one row per unit)",
        (_e("tlu", "np.asarray(X) @ np.asarray(W).T + b", "np.asarray(X) @ np.asarray(W) + b"),),
    ),
    Mistake(
        "perceptron_layer_ignores_step", "tlu", "perceptron_layer",
        "perceptron_layer always uses heaviside, whatever step is passed",
        (_e("tlu", "    step_fn = get_step(step)\n    return step_fn(np.asarray(X) @ np.asarray(W).T + b)",
            "    return heaviside(np.asarray(X) @ np.asarray(W).T + b)"),),
    ),
    Mistake(
        "perceptron_train_counts_after_update", "tlu", "perceptron_train",
        "errors are counted with the prediction after the update, not the y_hat used for the update",
        (_e("tlu",
            "            if y_hat != y_i:\n"
            "                wrong += 1\n"
            "            w = w + lr * (y_i - y_hat) * x_i\n"
            "            b = b + lr * (y_i - y_hat)\n",
            "            w = w + lr * (y_i - y_hat) * x_i\n"
            "            b = b + lr * (y_i - y_hat)\n"
            "            if heaviside(x_i @ w + b) != y_i:\n"
            "                wrong += 1\n"),),
    ),
    Mistake(
        "perceptron_train_wrong_sign", "tlu", "perceptron_train",
        "updates only on mistakes, but with (y_hat - y) instead of (y - y_hat): it moves away from the target",
        (_e("tlu",
            "            if y_hat != y_i:\n"
            "                wrong += 1\n"
            "            w = w + lr * (y_i - y_hat) * x_i\n"
            "            b = b + lr * (y_i - y_hat)\n",
            "            if y_hat != y_i:\n"
            "                wrong += 1\n"
            "                w = w + lr * (y_hat - y_i) * x_i\n"
            "                b = b + lr * (y_hat - y_i)\n"),),
    ),
    Mistake(
        "perceptron_train_b_not_updated", "tlu", "perceptron_train",
        "the bias is never updated (b stays 0), so AND cannot be learned",
        (_e("tlu", "            b = b + lr * (y_i - y_hat)\n", ""),),
    ),
    Mistake(
        "perceptron_train_cumulative_errors", "tlu", "perceptron_train",
        "the error counter is reset once, not every epoch: errors[e] is a running total",
        (_e("tlu", "    for _ in range(epochs):\n        wrong = 0\n", "    wrong = 0\n    for _ in range(epochs):\n"),),
    ),
    Mistake(
        "perceptron_train_sign_step", "tlu", "perceptron_train",
        "the perceptron rule here uses a heaviside unit; you predicted with sign (sign(0) = 0)",
        (_e("tlu", "y_hat = heaviside(x_i @ w + b)", "y_hat = sign(x_i @ w + b)"),),
    ),
)

_ACTIVATION_MISTAKES = (
    Mistake(
        "sigmoid_naive_overflow", "activations", "sigmoid",
        "1 / (1 + np.exp(-z)) overflows (RuntimeWarning) at z = -1000; results must be warning-free",
        (_e("activations",
            "    e = np.exp(-np.abs(z))  # never overflows: the exponent is <= 0\n"
            "    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
            "    return 1.0 / (1.0 + np.exp(-z))"),),
    ),
    Mistake(
        "sigmoid_where_both_branches_overflow", "activations", "sigmoid",
        "np.where evaluates both branches: exp(-z) and exp(z) overflow (RuntimeWarnings) at |z| = 1000 even though the right branch is kept",
        (_e("activations",
            "    e = np.exp(-np.abs(z))  # never overflows: the exponent is <= 0\n"
            "    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
            "    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z)))"),),
    ),
    Mistake(
        "sigmoid_grad_on_output", "activations", "sigmoid_grad",
        "sigmoid_grad takes z, not sigma(z): z * (1 - z) is the derivative only if z were the output",
        (_e("activations", "    s = sigmoid(z)\n    return s * (1.0 - s)",
            "    z = np.asarray(z, dtype=float)\n    return z * (1.0 - z)"),),
    ),
    Mistake(
        "sigmoid_grad_sigmoid_twice", "activations", "sigmoid_grad",
        "sigmoid applied twice: sigma(s) (1 - sigma(s)) with s = sigma(z)",
        (_e("activations", "return s * (1.0 - s)", "return sigmoid(s) * (1.0 - sigmoid(s))"),),
    ),
    Mistake(
        "tanh_grad_eq16", "activations", "tanh_grad",
        "the slide's eq. (16), phi'(z) = 2 phi(2z) - 1, read with phi = sigma: 2 sigma(2z) - 1 is tanh itself, not its derivative",
        (_e("activations", "    t = np.tanh(np.asarray(z, dtype=float))\n    return 1.0 - t * t",
            "    return 2.0 * sigmoid(2.0 * np.asarray(z, dtype=float)) - 1.0"),),
    ),
    Mistake(
        "tanh_grad_no_square", "activations", "tanh_grad",
        "tanh'(z) is 1 - tanh(z)**2; the square is missing",
        (_e("activations", "return 1.0 - t * t", "return 1.0 - t"),),
    ),
    Mistake(
        "tanh_grad_on_output", "activations", "tanh_grad",
        "tanh_grad computes 1 - z**2, treating z as if it were the output tanh(z)",
        (_e("activations", "    t = np.tanh(np.asarray(z, dtype=float))\n    return 1.0 - t * t",
            "    t = np.asarray(z, dtype=float)\n    return 1.0 - t * t"),),
    ),
    Mistake(
        "relu_grad_one_at_zero", "activations", "relu_grad",
        "relu'(0) must be 0 (eq. (18): 0 for z <= 0); z >= 0 makes it 1",
        (_e("activations", "np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0)",
            "np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)"),),
    ),
    Mistake(
        "relu_grad_bool_dtype", "activations", "relu_grad",
        "relu_grad returns the boolean mask z > 0 instead of a float64 array",
        (_e("activations", "return np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0)",
            "return np.asarray(z) > 0"),),
    ),
    Mistake(
        "relu_int_dtype", "activations", "relu",
        "np.maximum(0, z) without a float cast returns ints for int input; results must be float64",
        (_e("activations", "return np.maximum(0.0, np.asarray(z, dtype=float))", "return np.maximum(0, np.asarray(z))"),),
    ),
    Mistake(
        "relu_abs", "activations", "relu",
        "relu written as abs(z): negative inputs must give 0",
        (_e("activations", "return np.maximum(0.0, np.asarray(z, dtype=float))", "return np.abs(np.asarray(z, dtype=float))"),),
    ),
    Mistake(
        "leaky_relu_grad_hardcoded_alpha", "activations", "leaky_relu_grad",
        "leaky_relu_grad hard-codes 0.01 and ignores the alpha it is given",
        (_e("activations", "np.where(z > 0, 1.0, alpha)", "np.where(z > 0, 1.0, 0.01)"),),
    ),
    Mistake(
        "leaky_relu_grad_zero_below", "activations", "leaky_relu_grad",
        "leaky_relu_grad is alpha (not 0) for z <= 0: this is the ReLU derivative",
        (_e("activations", "np.where(z > 0, 1.0, alpha)", "np.where(z > 0, 1.0, 0.0)"),),
    ),
    Mistake(
        "leaky_relu_alpha_zero", "activations", "leaky_relu",
        "leaky_relu gives 0 below zero: that is plain ReLU, the alpha * z leak is missing",
        (_e("activations", "np.where(z > 0, z, alpha * z)", "np.where(z > 0, z, 0.0)"),),
    ),
    Mistake(
        "softmax_no_max_shift", "activations", "softmax",
        "softmax without subtracting the row max overflows at z = 1000 (nan and RuntimeWarning)",
        (_e("activations", "e = np.exp(Z - Z.max(axis=-1, keepdims=True))", "e = np.exp(Z)"),),
    ),
    Mistake(
        "softmax_axis0", "activations", "softmax",
        "softmax normalised over axis 0 (the batch) instead of the last axis: rows do not sum to 1",
        (_e("activations", "return e / e.sum(axis=-1, keepdims=True)", "return e / e.sum(axis=0, keepdims=True)"),),
    ),
    Mistake(
        "softmax_linear", "activations", "softmax",
        "softmax as z / sum(z) (the handwritten [1/6, 2/6, 3/6]); the exponentials must be normalised",
        (_e("activations",
            "    e = np.exp(Z - Z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
            "    return Z / Z.sum(axis=-1, keepdims=True)"),),
    ),
    Mistake(
        "softmax_no_keepdims", "activations", "softmax",
        "e / e.sum(axis=-1) without keepdims broadcasts the row sums along the wrong axis for a batch",
        (_e("activations", "return e / e.sum(axis=-1, keepdims=True)", "return e / e.sum(axis=-1)"),),
    ),
    Mistake(
        "softmax_jacobian_no_diagonal", "activations", "softmax_jacobian",
        "the Jacobian is diag(s) - s s^T; the diag(s) term is missing",
        (_e("activations", "return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]",
            "return -s[..., :, None] * s[..., None, :]"),),
    ),
    Mistake(
        "softmax_jacobian_sign_flipped", "activations", "softmax_jacobian",
        "the Jacobian has the wrong sign: s s^T - diag(s) instead of diag(s) - s s^T",
        (_e("activations", "return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]",
            "return s[..., :, None] * s[..., None, :] - s[..., :, None] * eye"),),
    ),
    Mistake(
        "softmax_jacobian_identity_diagonal", "activations", "softmax_jacobian",
        "I - s s^T: the diagonal term is delta_ij, but it must be s_i delta_ij",
        (_e("activations", "return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]",
            "return eye - s[..., :, None] * s[..., None, :]"),),
    ),
    Mistake(
        "softmax_jacobian_no_batch", "activations", "softmax_jacobian",
        "np.diag(s) - np.outer(s, s) only works for one vector; a batch (N, K) must give (N, K, K)",
        (_e("activations", "    eye = np.eye(s.shape[-1])\n    return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]",
            "    return np.diag(s) - np.outer(s, s)"),),
    ),
)

_FORWARD_MISTAKES = (
    Mistake(
        "dense_forward_no_transpose", "forward", "dense_forward",
        "dense_forward uses X @ W; W is (n_out, n_in), so it must be X @ W.T",
        (_e("mlp", "np.asarray(W, dtype=float).T + b", "np.asarray(W, dtype=float) + b"),),
    ),
    Mistake(
        "dense_forward_w_at_xt", "forward", "dense_forward",
        "W @ X.T + b is (n_out, N): the result is not transposed back to (N, n_out)",
        (_e("mlp", "return np.asarray(X, dtype=float) @ np.asarray(W, dtype=float).T + b",
            "return np.asarray(W, dtype=float) @ np.asarray(X, dtype=float).T + b"),),
    ),
    Mistake(
        "dense_forward_no_bias", "forward", "dense_forward",
        "dense_forward forgets the bias b",
        (_e("mlp", "np.asarray(W, dtype=float).T + b", "np.asarray(W, dtype=float).T"),),
    ),
    Mistake(
        "mlp_forward_cache_swapped", "forward", "mlp_forward",
        "cache entries are (Z, A_prev); the contract fixes the order (A_prev, Z)",
        (_e("mlp", "cache.append((A, Z))", "cache.append((Z, A))"),),
    ),
    Mistake(
        "mlp_forward_cache_activation_not_z", "forward", "mlp_forward",
        "cache stores (A_prev, A) - the activation - instead of the pre-activation Z",
        (_e("mlp", "        cache.append((A, Z))\n        A = activate(Z, name)\n",
            "        A_new = activate(Z, name)\n        cache.append((A, A_new))\n        A = A_new\n"),),
    ),
    Mistake(
        "mlp_forward_cache_after_activation", "forward", "mlp_forward",
        "the cache is appended after A is overwritten: A_prev is this layer's output, not its input",
        (_e("mlp", "        cache.append((A, Z))\n        A = activate(Z, name)\n",
            "        A = activate(Z, name)\n        cache.append((A, Z))\n"),),
    ),
    Mistake(
        "mlp_forward_last_layer_not_activated", "forward", "mlp_forward",
        "the output layer's activation (e.g. softmax) is skipped: out is Z_L",
        (
            _e("mlp", "    for (W, b), name in zip(params, activations):",
               "    for l, ((W, b), name) in enumerate(zip(params, activations)):"),
            _e("mlp", "        A = activate(Z, name)\n", "        A = activate(Z, name) if l < len(params) - 1 else Z\n"),
        ),
    ),
    Mistake(
        "mlp_forward_first_activation_everywhere", "forward", "mlp_forward",
        "every layer uses activations[0]; each layer has its own activation",
        (_e("mlp", "A = activate(Z, name)", "A = activate(Z, activations[0])"),),
    ),
    Mistake(
        "mlp_forward_returns_z", "forward", "mlp_forward",
        "mlp_forward returns the last pre-activation Z instead of the output A^L",
        (_e("mlp", "    return A, cache", "    return Z, cache"),),
    ),
    Mistake(
        "predict_argmax_axis0", "forward", "predict",
        "argmax over axis 0 picks a sample per class, not a class per sample",
        (_e("mlp", "np.argmax(out, axis=1)", "np.argmax(out, axis=0)"),),
    ),
    Mistake(
        "predict_float_dtype", "forward", "predict",
        "labels from a single output unit come back as floats; the contract asks for an integer dtype",
        (_e("mlp", "(out[:, 0] >= 0.5).astype(int)", "(out[:, 0] >= 0.5).astype(float)"),),
    ),
    Mistake(
        "predict_threshold_strict", "forward", "predict",
        "out >= 0.5 is class 1; using > 0.5 labels an output of exactly 0.5 as 0",
        (_e("mlp", "(out[:, 0] >= 0.5)", "(out[:, 0] > 0.5)"),),
    ),
    Mistake(
        "predict_argmax_single_unit", "forward", "predict",
        "argmax of a single output unit is always 0; one unit needs the 0.5 threshold",
        (_e("mlp", "    if out.shape[1] == 1:\n        return (out[:, 0] >= 0.5).astype(int)\n", ""),),
    ),
)

_BACKPROP_MISTAKES = (
    Mistake(
        "one_hot_off_by_one", "backprop", "one_hot",
        "labels are 0-based: column y - 1 puts class 0 in the last column",
        (_e("backprop", "out[np.arange(y.shape[0]), y] = 1.0", "out[np.arange(y.shape[0]), y - 1] = 1.0"),),
    ),
    Mistake(
        "one_hot_int_dtype", "backprop", "one_hot",
        "one_hot must be a float array; np.zeros(..., dtype=int) gives ints",
        (_e("backprop", "out = np.zeros((y.shape[0], num_classes))", "out = np.zeros((y.shape[0], num_classes), dtype=int)"),),
    ),
    Mistake(
        "one_hot_width_from_labels", "backprop", "one_hot",
        "the width comes from the labels seen (y.max() + 1), not num_classes: wrong whenever the largest class is absent from y",
        (_e("backprop", "out = np.zeros((y.shape[0], num_classes))", "out = np.zeros((y.shape[0], int(y.max()) + 1))"),),
    ),
    Mistake(
        "cross_entropy_no_clip", "backprop", "cross_entropy",
        "without clipping P to [1e-12, 1], log(0) gives inf and a RuntimeWarning",
        (_e("backprop", "picked = np.clip(P[np.arange(P.shape[0]), y], 1e-12, 1.0)",
            "picked = P[np.arange(P.shape[0]), y]"),),
    ),
    Mistake(
        "cross_entropy_sum", "backprop", "cross_entropy",
        "the loss is the mean over the batch, not the sum",
        (_e("backprop", "-np.mean(np.log(picked))", "-np.sum(np.log(picked))"),),
    ),
    Mistake(
        "cross_entropy_all_classes", "backprop", "cross_entropy",
        "takes -log of every class probability instead of only the true class P[i, y_i]",
        (_e("backprop", "picked = np.clip(P[np.arange(P.shape[0]), y], 1e-12, 1.0)",
            "picked = np.clip(P, 1e-12, 1.0)"),),
    ),
    Mistake(
        "cross_entropy_log10", "backprop", "cross_entropy",
        "cross-entropy uses the natural log, not log10",
        (_e("backprop", "-np.mean(np.log(picked))", "-np.mean(np.log10(picked))"),),
    ),
    Mistake(
        "mse_no_half", "backprop", "mse",
        "mse is (1/2N) sum ||y_hat - y||^2; the 1/2 is missing",
        (_e("backprop", "/ (2.0 * diff.shape[0])", "/ diff.shape[0]"),),
    ),
    Mistake(
        "mse_no_mean", "backprop", "mse",
        "mse is divided by 2 but not by N: it is a sum over the batch, not a mean",
        (_e("backprop", "/ (2.0 * diff.shape[0])", "/ 2.0"),),
    ),
    Mistake(
        "mse_mean_over_all_entries", "backprop", "mse",
        "np.mean over all N*K entries also divides by K; the contract divides by 2N only",
        (_e("backprop", "return float(np.sum(diff * diff) / (2.0 * diff.shape[0]))",
            "return float(np.mean(diff * diff) / 2.0)"),),
    ),
    Mistake(
        "dense_backward_dw_transposed", "backprop", "dense_backward",
        "dW = A_prev.T @ dZ is (n_in, n_out); W is (n_out, n_in), so dW = dZ.T @ A_prev",
        (_e("backprop", "dW = dZ.T @ np.asarray(A_prev, dtype=float)", "dW = np.asarray(A_prev, dtype=float).T @ dZ"),),
    ),
    Mistake(
        "dense_backward_db_mean", "backprop", "dense_backward",
        "db is the sum of dZ over the batch (the 1/N is already in dZ), not the mean",
        (_e("backprop", "db = dZ.sum(axis=0)", "db = dZ.mean(axis=0)"),),
    ),
    Mistake(
        "dense_backward_db_wrong_axis", "backprop", "dense_backward",
        "db summed over axis 1 (the units) instead of axis 0 (the batch)",
        (_e("backprop", "db = dZ.sum(axis=0)", "db = dZ.sum(axis=1)"),),
    ),
    Mistake(
        "dense_backward_da_uses_w_transpose", "backprop", "dense_backward",
        "dA_prev = dZ @ W.T: with W (n_out, n_in) it is dZ @ W",
        (_e("backprop", "dA_prev = dZ @ np.asarray(W, dtype=float)", "dA_prev = dZ @ np.asarray(W, dtype=float).T"),),
    ),
    Mistake(
        "dense_backward_dw_divided_by_n", "backprop", "dense_backward",
        "dW divided by N again: the 1/N of the mean loss is already in dZ",
        (_e("backprop", "dW = dZ.T @ np.asarray(A_prev, dtype=float)",
            "dW = dZ.T @ np.asarray(A_prev, dtype=float) / dZ.shape[0]"),),
    ),
    Mistake(
        "mlp_backward_missing_1_over_n", "backprop", "mlp_backward",
        "the output dZ for cross-entropy lacks the 1/N of the mean loss",
        (_e("backprop", "dZ = (softmax(Z_L) - one_hot(Y, Z_L.shape[1])) / N",
            "dZ = softmax(Z_L) - one_hot(Y, Z_L.shape[1])"),),
    ),
    Mistake(
        "mlp_backward_through_the_clip", "backprop", "mlp_backward",
        "dZ_L by the chain rule through the loss's clip (-1 / (N clip(P[i, y_i]))): right until a probability falls below 1e-12",
        (_e("backprop", "        dZ = (softmax(Z_L) - one_hot(Y, Z_L.shape[1])) / N\n",
            "        P = softmax(Z_L)\n        rows = np.arange(N)\n        labels = np.asarray(Y).astype(int)\n"
            "        dP = np.zeros_like(P)\n        dP[rows, labels] = -1.0 / (N * np.clip(P[rows, labels], 1e-12, 1.0))\n"
            "        dZ = P * (dP - np.sum(dP * P, axis=1, keepdims=True))\n"),),
    ),
    Mistake(
        "mlp_backward_sign_flipped", "backprop", "mlp_backward",
        "dZ_L = one_hot - softmax has the wrong sign: it is softmax - one_hot",
        (_e("backprop", "(softmax(Z_L) - one_hot(Y, Z_L.shape[1]))", "(one_hot(Y, Z_L.shape[1]) - softmax(Z_L))"),),
    ),
    Mistake(
        "mlp_backward_mse_missing_phi_grad", "backprop", "mlp_backward",
        "for mse the output dZ needs the factor phi'(Z_L)",
        (_e("backprop", "dZ = (phi(Z_L) - np.asarray(Y, dtype=float)) / N * phi_grad(Z_L)",
            "dZ = (phi(Z_L) - np.asarray(Y, dtype=float)) / N"),),
    ),
    Mistake(
        "mlp_backward_wrong_layer_activation", "backprop", "mlp_backward",
        "the hidden dZ uses the derivative of layer l's activation instead of layer l-1's",
        (_e("backprop", "ACTIVATIONS[activations[l - 1]][1]", "ACTIVATIONS[activations[l]][1]"),),
    ),
    Mistake(
        "mlp_backward_derivative_at_a", "backprop", "mlp_backward",
        "phi' is taken at the activation A^{l-1} instead of the pre-activation Z^{l-1}",
        (_e("backprop", "[1](cache[l - 1][1])", "[1](cache[l][0])"),),
    ),
    Mistake(
        "mlp_backward_derivative_at_own_z", "backprop", "mlp_backward",
        "phi' is taken at this layer's Z^l instead of the previous layer's Z^{l-1}",
        (_e("backprop", "[1](cache[l - 1][1])", "[1](cache[l][1])"),),
    ),
    Mistake(
        "mlp_backward_grads_reversed", "backprop", "mlp_backward",
        "grads are appended while walking backwards and never reversed: last layer first",
        (
            _e("backprop", "grads = [None] * len(params)", "grads = []"),
            _e("backprop", "grads[l] = (dW, db)", "grads.append((dW, db))"),
        ),
    ),
    Mistake(
        "numerical_gradient_forward_difference", "backprop", "numerical_gradient",
        "forward differences (f(x + h) - f(x)) / h; the contract asks for central differences",
        (_e("backprop",
            "        x[i] = old - h\n"
            "        f_minus = f(x.copy())\n"
            "        x[i] = old\n"
            "        g[i] = (f_plus - f_minus) / (2.0 * h)\n",
            "        x[i] = old\n"
            "        f_minus = f(x.copy())\n"
            "        g[i] = (f_plus - f_minus) / h\n"),),
    ),
    Mistake(
        "numerical_gradient_denominator_h", "backprop", "numerical_gradient",
        "central differences divide by 2h, not h: the gradient is doubled",
        (_e("backprop", "/ (2.0 * h)", "/ h"),),
    ),
    Mistake(
        "numerical_gradient_no_restore", "backprop", "numerical_gradient",
        "entry i is left at x_i - h, so every later partial is taken at a shifted point",
        (_e("backprop", "        x[i] = old\n", ""),),
    ),
    Mistake(
        "numerical_gradient_modifies_caller_x", "backprop", "numerical_gradient",
        "np.asarray does not copy and the entries are never put back: the caller's x is changed",
        (
            _e("backprop", "x = np.array(x, dtype=float)", "x = np.asarray(x, dtype=float)"),
            _e("backprop", "        x[i] = old\n", ""),
        ),
    ),
    Mistake(
        "numerical_gradient_keeps_int_dtype", "backprop", "numerical_gradient",
        "x is copied without dtype=float: for an int x, x + h is truncated and the gradient is 0",
        (_e("backprop", "x = np.array(x, dtype=float)", "x = np.array(x)"),),
    ),
)

_TRAINING_MISTAKES = (
    Mistake(
        "gradient_descent_step_ascent", "training", "gradient_descent_step",
        "W + lr dW climbs the loss: gradient descent subtracts",
        (_e("backprop", "(W - lr * dW, b - lr * db)", "(W + lr * dW, b + lr * db)"),),
    ),
    Mistake(
        "gradient_descent_step_in_place", "training", "gradient_descent_step",
        "W -= lr * dW changes the caller's arrays; the step must build new ones",
        (_e("backprop",
            "    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]",
            "    for (W, b), (dW, db) in zip(params, grads):\n"
            "        W -= lr * dW\n"
            "        b -= lr * db\n"
            "    return params"),),
    ),
    Mistake(
        "gradient_descent_step_ignores_lr", "training", "gradient_descent_step",
        "the learning rate is never used: W - dW",
        (_e("backprop", "(W - lr * dW, b - lr * db)", "(W - dW, b - db)"),),
    ),
    Mistake(
        "gradient_descent_step_bias_not_updated", "training", "gradient_descent_step",
        "only W is updated; b - lr db is missing",
        (_e("backprop", "(W - lr * dW, b - lr * db)", "(W - lr * dW, b)"),),
    ),
    Mistake(
        "train_loss_after_update", "training", "train",
        "the loss is recorded after the update; the contract records the loss of the forward pass before it",
        (_e("backprop",
            "        losses.append(LOSSES[loss](out, Y))\n"
            "        grads = mlp_backward(Y, params, cache, activations, loss)\n"
            "        params = gradient_descent_step(params, grads, lr)\n",
            "        grads = mlp_backward(Y, params, cache, activations, loss)\n"
            "        params = gradient_descent_step(params, grads, lr)\n"
            "        losses.append(LOSSES[loss](mlp_forward(X, params, activations)[0], Y))\n"),),
    ),
    Mistake(
        "train_seed_ignored", "training", "train",
        "init_params is called without the seed, so every seed trains the same network",
        (_e("backprop", "params = init_params(layer_sizes, seed)", "params = init_params(layer_sizes)"),),
    ),
    Mistake(
        "train_lr_ignored", "training", "train",
        "the step uses a hard-coded 0.5 instead of the lr argument",
        (_e("backprop", "params = gradient_descent_step(params, grads, lr)", "params = gradient_descent_step(params, grads, 0.5)"),),
    ),
    Mistake(
        "train_loss_always_cross_entropy", "training", "train",
        "the recorded loss is always cross_entropy, even with loss='mse'",
        (_e("backprop", "losses.append(LOSSES[loss](out, Y))", "losses.append(cross_entropy(out, Y))"),),
    ),
    Mistake(
        "train_backward_ignores_loss", "training", "train",
        "mlp_backward is called without loss=..., so an mse network is differentiated as cross-entropy",
        (_e("backprop", "grads = mlp_backward(Y, params, cache, activations, loss)",
            "grads = mlp_backward(Y, params, cache, activations)"),),
    ),
)

MISTAKES = _TLU_MISTAKES + _ACTIVATION_MISTAKES + _FORWARD_MISTAKES + _BACKPROP_MISTAKES + _TRAINING_MISTAKES


# ---------------------------------------------------------------------------------------------
# Variants: correct alternatives that must earn every point
# ---------------------------------------------------------------------------------------------

VARIANTS = (
    Variant(
        "heaviside_np_heaviside", "heaviside via np.heaviside(z, 1.0)",
        (_e("tlu", "return np.where(z >= 0, 1.0, 0.0)", "return np.heaviside(z, 1.0)"),),
    ),
    Variant(
        "sign_where_chain", "sign via a chain of np.where",
        (_e("tlu", "return np.sign(z).astype(float)",
            "return np.where(z > 0, 1.0, np.where(z < 0, -1.0, 0.0))"),),
    ),
    Variant(
        "perceptron_layer_w_at_xt", "perceptron_layer as step((W @ X.T).T + b)",
        (_e("tlu", "step_fn(np.asarray(X) @ np.asarray(W).T + b)", "step_fn((np.asarray(W) @ np.asarray(X).T).T + b)"),),
    ),
    Variant(
        "perceptron_train_vectorised_count", "perceptron_train storing the epoch's y_hat and counting with np.sum(y_hats != y)",
        (_e("tlu",
            "    for _ in range(epochs):\n"
            "        wrong = 0\n"
            "        for x_i, y_i in zip(X, y):\n"
            "            y_hat = heaviside(x_i @ w + b)\n"
            "            if y_hat != y_i:\n"
            "                wrong += 1\n"
            "            w = w + lr * (y_i - y_hat) * x_i\n"
            "            b = b + lr * (y_i - y_hat)\n"
            "        errors.append(wrong)\n",
            "    for _ in range(epochs):\n"
            "        y_hats = np.empty(len(y))\n"
            "        for k, (x_i, y_i) in enumerate(zip(X, y)):\n"
            "            y_hats[k] = heaviside(x_i @ w + b)\n"
            "            w = w + lr * (y_i - y_hats[k]) * x_i\n"
            "            b = b + lr * (y_i - y_hats[k])\n"
            "        errors.append(int(np.sum(y_hats != y)))\n"),),
    ),
    Variant(
        "perceptron_train_update_on_mistakes", "perceptron_train updating only on mistakes (the update is 0 otherwise)",
        (_e("tlu",
            "            if y_hat != y_i:\n"
            "                wrong += 1\n"
            "            w = w + lr * (y_i - y_hat) * x_i\n"
            "            b = b + lr * (y_i - y_hat)\n",
            "            if y_hat != y_i:\n"
            "                wrong += 1\n"
            "                w = w + lr * (y_i - y_hat) * x_i\n"
            "                b = b + lr * (y_i - y_hat)\n"),),
    ),
    Variant(
        "sigmoid_logaddexp", "sigmoid as exp(-log(1 + e^-z)) with np.logaddexp",
        (_e("activations",
            "    e = np.exp(-np.abs(z))  # never overflows: the exponent is <= 0\n"
            "    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
            "    return np.exp(-np.logaddexp(0.0, -z))"),),
    ),
    Variant(
        "sigmoid_masks", "sigmoid with boolean masks and an output array filled branch by branch",
        (_e("activations",
            "    e = np.exp(-np.abs(z))  # never overflows: the exponent is <= 0\n"
            "    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
            "    out = np.empty_like(z)\n"
            "    pos = z >= 0\n"
            "    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))\n"
            "    ez = np.exp(z[~pos])\n"
            "    out[~pos] = ez / (1.0 + ez)\n"
            "    return out"),),
    ),
    Variant(
        "sigmoid_grad_closed_form", "sigmoid_grad as e^-|z| / (1 + e^-|z|)^2 (symmetric, no overflow)",
        (_e("activations", "    s = sigmoid(z)\n    return s * (1.0 - s)",
            "    e = np.exp(-np.abs(np.asarray(z, dtype=float)))\n    return e / (1.0 + e) ** 2"),),
    ),
    Variant(
        "tanh_via_sigmoid", "tanh through the identity tanh(z) = 2 sigma(2z) - 1",
        (_e("activations", "return np.tanh(np.asarray(z, dtype=float))",
            "return 2.0 * sigmoid(2.0 * np.asarray(z, dtype=float)) - 1.0"),),
    ),
    Variant(
        "relu_mask_product", "relu as z * (z > 0) on a float array",
        (_e("activations", "    return np.maximum(0.0, np.asarray(z, dtype=float))",
            "    z = np.asarray(z, dtype=float)\n    return z * (z > 0)"),),
    ),
    Variant(
        "relu_grad_astype", "relu_grad as (z > 0).astype(float)",
        (_e("activations", "return np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0)",
            "return (np.asarray(z, dtype=float) > 0).astype(float)"),),
    ),
    Variant(
        "softmax_logsumexp", "softmax as exp(z - max - log(sum(exp(z - max))))",
        (_e("activations",
            "    e = np.exp(Z - Z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
            "    shifted = Z - Z.max(axis=-1, keepdims=True)\n"
            "    return np.exp(shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True)))"),),
    ),
    Variant(
        "softmax_jacobian_einsum", "softmax_jacobian with np.einsum for diag(s) and s s^T",
        (_e("activations", "return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]",
            "return np.einsum('...i,ij->...ij', s, eye) - np.einsum('...i,...j->...ij', s, s)"),),
    ),
    Variant(
        "softmax_jacobian_loops", "softmax_jacobian with explicit loops over rows, i and j",
        (_e("activations",
            "    eye = np.eye(s.shape[-1])\n    return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]",
            "    K = s.shape[-1]\n"
            "    rows = s.reshape(-1, K)\n"
            "    J = np.zeros((rows.shape[0], K, K))\n"
            "    for n in range(rows.shape[0]):\n"
            "        for i in range(K):\n"
            "            for j in range(K):\n"
            "                J[n, i, j] = rows[n, i] * ((1.0 if i == j else 0.0) - rows[n, j])\n"
            "    return J.reshape(s.shape + (K,))"),),
    ),
    Variant(
        "dense_forward_einsum", "dense_forward with np.einsum('ni,oi->no', X, W) + b",
        (_e("mlp", "return np.asarray(X, dtype=float) @ np.asarray(W, dtype=float).T + b",
            "return np.einsum('ni,oi->no', np.asarray(X, dtype=float), np.asarray(W, dtype=float)) + b"),),
    ),
    Variant(
        "dense_forward_w_at_xt_transposed", "dense_forward as (W @ X.T).T + b",
        (_e("mlp", "return np.asarray(X, dtype=float) @ np.asarray(W, dtype=float).T + b",
            "return (np.asarray(W, dtype=float) @ np.asarray(X, dtype=float).T).T + b"),),
    ),
    Variant(
        "predict_argmax_keepdims", "predict with argmax(axis=-1, keepdims=True) then ravel",
        (_e("mlp", "return np.argmax(out, axis=1)", "return np.argmax(out, axis=-1, keepdims=True).ravel()"),),
    ),
    Variant(
        "predict_where_threshold", "predict with np.where(out[:, 0] >= 0.5, 1, 0) for one unit",
        (_e("mlp", "return (out[:, 0] >= 0.5).astype(int)", "return np.where(out[:, 0] >= 0.5, 1, 0)"),),
    ),
    Variant(
        "one_hot_eye", "one_hot as np.eye(K)[y]",
        (_e("backprop",
            "    out = np.zeros((y.shape[0], num_classes))\n    out[np.arange(y.shape[0]), y] = 1.0\n    return out",
            "    return np.eye(num_classes)[y]"),),
    ),
    Variant(
        "cross_entropy_loop", "cross_entropy with an explicit loop over the samples",
        (_e("backprop",
            "    picked = np.clip(P[np.arange(P.shape[0]), y], 1e-12, 1.0)\n"
            "    return float(-np.mean(np.log(picked)))",
            "    total = 0.0\n"
            "    for i in range(len(y)):\n"
            "        total -= np.log(min(max(P[i, y[i]], 1e-12), 1.0))\n"
            "    return float(total / len(y))"),),
    ),
    Variant(
        "mse_row_norms", "mse from the squared row norms, sum / (2N)",
        (_e("backprop", "return float(np.sum(diff * diff) / (2.0 * diff.shape[0]))",
            "return float(np.sum(np.linalg.norm(diff, axis=1) ** 2) / (2.0 * len(diff)))"),),
    ),
    Variant(
        "dense_backward_einsum", "dense_backward with np.einsum for all three products",
        (_e("backprop",
            "    dA_prev = dZ @ np.asarray(W, dtype=float)\n"
            "    dW = dZ.T @ np.asarray(A_prev, dtype=float)\n"
            "    db = dZ.sum(axis=0)\n",
            "    dA_prev = np.einsum('no,oi->ni', dZ, np.asarray(W, dtype=float))\n"
            "    dW = np.einsum('no,ni->oi', dZ, np.asarray(A_prev, dtype=float))\n"
            "    db = np.einsum('no->o', dZ)\n"),),
    ),
    Variant(
        "mlp_backward_reversed_list", "mlp_backward looping over reversed(range(L)), appending, then reversing the list",
        (_e("backprop",
            "    grads = [None] * len(params)\n"
            "    for l in range(len(params) - 1, -1, -1):\n"
            "        A_prev, _ = cache[l]\n"
            "        dA_prev, dW, db = dense_backward(dZ, A_prev, params[l][0])\n"
            "        grads[l] = (dW, db)\n"
            "        if l > 0:\n"
            "            dZ = dA_prev * ACTIVATIONS[activations[l - 1]][1](cache[l - 1][1])\n"
            "    return grads",
            "    grads = []\n"
            "    for l in reversed(range(len(params))):\n"
            "        A_prev, Z = cache[l]\n"
            "        if l < len(params) - 1:\n"
            "            dZ = dA * ACTIVATIONS[activations[l]][1](Z)\n"
            "        dA, dW, db = dense_backward(dZ, A_prev, params[l][0])\n"
            "        grads.append((dW, db))\n"
            "    grads.reverse()\n"
            "    return grads"),),
    ),
    Variant(
        "numerical_gradient_flat_view", "numerical_gradient over a flat view of a float copy of x",
        (_e("backprop",
            "    x = np.array(x, dtype=float)\n"
            "    g = np.zeros_like(x)\n"
            "    for i in np.ndindex(x.shape):\n"
            "        old = x[i]\n"
            "        x[i] = old + h\n"
            "        f_plus = f(x.copy())\n"
            "        x[i] = old - h\n"
            "        f_minus = f(x.copy())\n"
            "        x[i] = old\n"
            "        g[i] = (f_plus - f_minus) / (2.0 * h)\n"
            "    return g",
            "    x = np.array(x, dtype=float)\n"
            "    flat = x.reshape(-1)  # a view on the copy\n"
            "    g = np.zeros(flat.size)\n"
            "    for k in range(flat.size):\n"
            "        old = flat[k]\n"
            "        flat[k] = old + h\n"
            "        f_plus = f(x.copy())\n"
            "        flat[k] = old - h\n"
            "        f_minus = f(x.copy())\n"
            "        flat[k] = old\n"
            "        g[k] = (f_plus - f_minus) / (2.0 * h)\n"
            "    return g.reshape(x.shape)"),),
    ),
    Variant(
        "numerical_gradient_nditer", "numerical_gradient with np.nditer(multi_index) on a float copy",
        (_e("backprop",
            "    for i in np.ndindex(x.shape):\n"
            "        old = x[i]\n",
            "    it = np.nditer(x, flags=['multi_index'])\n"
            "    for _ in it:\n"
            "        i = it.multi_index\n"
            "        old = x[i]\n"),),
    ),
    Variant(
        "gradient_descent_step_tuple", "gradient_descent_step returning a tuple of new (W, b) pairs",
        (_e("backprop",
            "return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]",
            "return tuple((W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads))"),),
    ),
    Variant(
        "gradient_descent_step_copy_then_update", "gradient_descent_step copying W and b, then -= on the copies",
        (_e("backprop",
            "    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]",
            "    new = []\n"
            "    for (W, b), (dW, db) in zip(params, grads):\n"
            "        W2, b2 = np.array(W, dtype=float), np.array(b, dtype=float)\n"
            "        W2 -= lr * dW\n"
            "        b2 -= lr * db\n"
            "        new.append((W2, b2))\n"
            "    return new"),),
    ),
    Variant(
        "train_loss_function_lookup", "train looking the loss function up once and using LOSSES[loss] before the loop",
        (_e("backprop",
            "    for _ in range(epochs):\n"
            "        out, cache = mlp_forward(X, params, activations)\n"
            "        losses.append(LOSSES[loss](out, Y))\n",
            "    loss_fn = LOSSES[loss]\n"
            "    for _ in range(epochs):\n"
            "        out, cache = mlp_forward(X, params, activations)\n"
            "        losses.append(loss_fn(out, Y))\n"),),
    ),
)


# The diagnosis the feedback should name on each mistake's own function, where one is right: its
# key (a lab's known mistake by its wording, a factor by its name). Reviewed by reading each
# description; a diagnosis named on an entry that is not listed here, or elsewhere, is counted
# wrong by `python -m autograder mutants --precision` (autograder/precision.py).
DIAGNOSES = {
    'heaviside_zero_at_zero': 'known:heaviside(0) = 0; the tie z = 0 must give 1',
    'sign_one_at_zero': 'known:sign(0) = 1; sign(0) must be 0',
    'perceptron_layer_no_transpose': 'matmul',
    'sigmoid_grad_on_output': "known:sigma'(z) computed on the output: z (1 - z) treats z as sigma(z)",
    'sigmoid_grad_sigmoid_twice': "known:sigma' applied to sigma(z) (the output) instead of z",
    'tanh_grad_eq16': "known:the slide's eq. (16), phi'(z) = 2 phi(2z) - 1, read with phi = sigma: 2 sigma(2z) - 1 is tanh(z) itself (an identity), not its derivative",
    'tanh_grad_no_square': 'known:1 - tanh(z) without the square',
    'relu_grad_one_at_zero': "known:relu'(0) = 1; eq. (18) says 0 where z <= 0",
    'leaky_relu_grad_hardcoded_alpha': 'known:alpha ignored (0.01 hard-coded)',
    'leaky_relu_grad_zero_below': 'known:0 instead of alpha where z <= 0',
    'softmax_linear': 'known:z / sum(z) (the handwritten example) instead of normalised exponentials',
    'softmax_no_keepdims': 'keepdims',
    'softmax_jacobian_no_diagonal': 'known:the diagonal term s_i delta_ij is missing',
    'softmax_jacobian_sign_flipped': 'sign_flipped',
    'dense_forward_no_transpose': 'matmul',
    'dense_forward_no_bias': 'known:the bias b is missing',
    'cross_entropy_sum': 'known:the sum over samples instead of the mean',
    'mse_no_half': 'factor:2',
    'mse_no_mean': 'factor:N',
    'dense_backward_dw_transposed': 'transposed',
    'dense_backward_db_mean': 'factor:1/N',
    'dense_backward_da_uses_w_transpose': 'matmul',
    'dense_backward_dw_divided_by_n': 'factor:1/N',
    'mlp_backward_missing_1_over_n': 'factor:N',
    'mlp_backward_sign_flipped': 'sign_flipped',
    'numerical_gradient_forward_difference': 'forward_differences',
    'numerical_gradient_denominator_h': 'factor:2',
    'numerical_gradient_no_restore': 'not_restored',
    'numerical_gradient_modifies_caller_x': 'not_restored',
    'train_loss_after_update': "known:the loss recorded after the update; record it before each step, from the forward pass that the step's gradients come from",
}
