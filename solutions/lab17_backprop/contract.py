"""Lab 17's contract, written once: plain data (no imports, no code).

Read by grading.py (MODULES, QUESTIONS, EQ), by the handout generator (autograder.selfcheck:
the Otter test files tests/<question>.py and the self-check's data file), through that data
file by checks.py, by the report (which part of the notebook a question is) and by the tests.
Everything here is public: students are told the points, the modules and what to reread.

QUESTIONS: question -> part of the notebook, points, and {"module.function": weight}; a
question's points are shared among its functions in proportion to their weights, and a
function's share is split equally among its cases.
REREAD: "module.function" -> what to reread besides the function's docstring and its
question's part of the notebook: the lecture's equation (numbered as in the slides; eq. (16)
quoted as the slide writes it) or the notebook's words.
TOLERANCES: the lab's own (rtol, atol) pairs, |got - expected| <= atol + rtol |expected|.
Gradient checks use the engine's settings (gradcheck_h, gradcheck_tol: autograder/config.py).
"""

LAB = "lab17_backprop"
LANGUAGE = "ko"   # feedback, results.json, the status and checks.py speak Korean unless told otherwise (--lang)

MODULES = ["tlu", "activations", "mlp", "backprop"]   # in import order

QUESTIONS = {
    "tlu": {"part": "Part A", "points": 15, "functions": {
        "tlu.heaviside": 3, "tlu.sign": 3, "tlu.tlu": 3, "tlu.perceptron_layer": 3, "tlu.perceptron_train": 3}},
    "activations": {"part": "Part B", "points": 25, "functions": {
        "activations.sigmoid": 2, "activations.sigmoid_grad": 3, "activations.tanh": 2,
        "activations.tanh_grad": 3, "activations.relu": 2, "activations.relu_grad": 3,
        "activations.leaky_relu": 2, "activations.leaky_relu_grad": 2,
        "activations.softmax": 3, "activations.softmax_jacobian": 3}},
    "forward": {"part": "Part C", "points": 20, "functions": {
        "mlp.dense_forward": 5, "mlp.mlp_forward": 10, "mlp.predict": 5}},
    "backprop": {"part": "Part D", "points": 30, "functions": {
        "backprop.one_hot": 3, "backprop.cross_entropy": 4, "backprop.mse": 3,
        "backprop.dense_backward": 6, "backprop.mlp_backward": 10, "backprop.numerical_gradient": 4}},
    "training": {"part": "Part E", "points": 10, "functions": {
        "backprop.gradient_descent_step": 4, "backprop.train": 6}},
}

STEP = "the slide 'Common step functions used in Perceptrons' (heaviside, sgn)"
LOSS = "the notebook's Part D definitions of the losses (a mean over the N samples)"
LEAKY = "Fig. 11-2 (leaky ReLU) and its alpha"
REREAD = {
    "tlu.heaviside": STEP,
    "tlu.sign": STEP,
    "tlu.tlu": "eq. (1): z = w^T x, plus the bias b",
    "tlu.perceptron_layer": "eq. (1) for each unit of the layer: step(W x + b), one row of W per unit",
    "tlu.perceptron_train": "Rosenblatt's rule: w += lr (y - y_hat) x; errors counted before each update",
    "activations.sigmoid": "eq. (13)",
    "activations.sigmoid_grad": "eq. (14), at z (not at the output)",
    "activations.tanh": "eq. (15)",
    "activations.tanh_grad": ("eq. (15) and its derivative tanh'(z) = 1 - tanh(z)^2; the slide's eq. (16), "
                              "phi'(z) = 2 phi(2z) - 1, is not the derivative of tanh"),
    "activations.relu": "eq. (17)",
    "activations.relu_grad": "eq. (18): 0 where z <= 0",
    "activations.leaky_relu": LEAKY,
    "activations.leaky_relu_grad": LEAKY,
    "activations.softmax": "Fig. 10-9: exponentials normalised over the last axis",
    "activations.softmax_jacobian": "J[i, j] = s_i (delta_ij - s_j)",
    "mlp.dense_forward": "eqs. (6)-(12) for one layer: z = W x + b per sample",
    "mlp.mlp_forward": "eqs. (6)-(12): y^l = phi^l(W^l y^(l-1)), with biases",
    "mlp.predict": "Fig. 10-9: the label is the largest output (one output unit: out >= 0.5)",
    "backprop.one_hot": "the notebook's Part D: one row per sample, a 1.0 at column y_i",
    "backprop.cross_entropy": LOSS,
    "backprop.mse": LOSS,
    "backprop.dense_backward": "the chain rule through z = W x + b, for a batch",
    "backprop.mlp_backward": "the notebook's Part D derivation of delta^L, then the chain rule layer by layer",
    "backprop.numerical_gradient": "central differences (f(x + h e_i) - f(x - h e_i)) / 2h",
    "backprop.gradient_descent_step": "gradient descent: W - lr dW",
    "backprop.train": "the notebook's Part E training loop (loss recorded before each update)",
}

TOLERANCES = {
    # correct formulations differ by a few ulps (np.tanh against 2 sigmoid(2z) - 1, logsumexp
    # against the max shift); the atol absorbs the cancellation of 2 sigmoid(2z) - 1 near z = 0
    "elementwise": (1e-7, 1e-12),
    # a sum of n products rounds by about n eps relative to its terms; einsum, @ and loops sum
    # in different orders
    "products": (1e-7, 1e-10),
    # losses: one number, a mean of logs or squares
    "losses": (1e-9, 1e-12),
    # Rosenblatt's rule: integer-valued steps, exact up to rounding
    "perceptron": (1e-9, 1e-12),
    # one gradient step: a single multiply-add per entry
    "step": (1e-12, 1e-14),
    # short training runs: rounding grows through the epochs (only stable settings are
    # compared number by number; the chaotic XOR setting is judged by its outcome)
    "training": (1e-6, 1e-9),
    # numerical_gradient against the exact gradient: central differences with h = 1e-5 reach
    # about 1e-10; forward differences err by about h |f''| / 2, far above 1e-6
    "numerical_gradient": (1e-6, 1e-7),
    # labels: exact
    "labels": (0.0, 0.0),
}

# Functions whose known-mistake wording (the descriptions of their `known` mistakes in
# grading.py) is safe to ship in the handout's self-check: it names the mistake and the idea,
# never the code of a solution. The wording of any other function stays with the grader
SHIP_MISTAKE_WORDING = [
    "tlu.heaviside", "tlu.sign",
    "activations.sigmoid_grad", "activations.tanh_grad", "activations.relu_grad", "activations.leaky_relu_grad",
    "activations.softmax", "activations.softmax_jacobian",
    "mlp.dense_forward", "backprop.cross_entropy", "backprop.train",
]
