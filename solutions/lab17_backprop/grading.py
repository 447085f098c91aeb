"""Lab 17 grading: questions, points and every case (public and hidden).

Read by the engine in the trusted parent only (autograder.labs.load_lab). Cases are built
from fixed seeds, so every batch grades the same inputs; each is judged against the
reference (solutions/lab17_backprop/*.py) or, for derivatives and mlp_backward, against the
engine's own central differences as well.

ACTIVATIONS, identity and init_params are given complete in the skeleton: they earn no
points of their own (ACTIVATIONS is exercised by every mlp case).

Isolation: a case of a composite function is "given" the reference versions of the
functions it calls (a correct sigmoid while mlp_forward is tested, a correct mlp_forward
while train is tested, ...), so each mistake costs points in one function only. The engine
refuses an order in which a function is given before its own cases have run.

Tolerances (|got - expected| <= atol + rtol |expected|):
- rtol 1e-7, atol 1e-12 for elementwise functions: correct formulations differ by a few ulps
  (np.tanh against 2 sigmoid(2z) - 1, logsumexp against the max shift); the atol absorbs the
  cancellation of 2 sigmoid(2z) - 1 near z = 0, where tanh(z) itself is tiny.
- rtol 1e-7, atol 1e-10 for matrix products and gradients: a sum of n products rounds by about
  n eps relative to its terms, and einsum, @ and loops sum in different orders.
- rtol 1e-6 for short training runs: rounding grows through the epochs; only settings that
  stay stable (small lr, few epochs) are compared number by number. The chaotic setting
  (lr 0.5, 1000 epochs) is judged by its outcome.
- gradient checks: see autograder/gradcheck.py (relative error below 1e-6).
"""
from pathlib import Path

import numpy as np

from autograder.cases import (Case, Matches, MatchesCallableGradient, MatchesDerivative,
                              MatchesGradient, Satisfies)
from autograder.compare import (ARRAY0, FLOAT_ARRAY, INT_ARRAY, PAIRS, SCALAR, SEQUENCE,
                                tuple_of)
from autograder.findings import Kind, finding
from autograder.labs import Question, load_file
from autograder.values import Callable

CONTRACT = load_file(Path(__file__).with_name("contract.py"), "_contract_lab17_backprop")
MODULES = list(CONTRACT.MODULES)
QUESTIONS = [Question(name, q["points"], dict(q["functions"])) for name, q in CONTRACT.QUESTIONS.items()]

ELEMENTWISE = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
STEP_GIVEN = ("tlu.heaviside", "tlu.sign", "tlu.STEPS", "tlu.get_step")
ACTIVATION_GIVEN = ("activations.ACTIVATIONS", "activations.softmax", "activations.sigmoid",
                    "activations.sigmoid_grad", "activations.tanh", "activations.tanh_grad",
                    "activations.relu", "activations.relu_grad", "activations.leaky_relu",
                    "activations.leaky_relu_grad", "activations.identity", "activations.identity_grad")
FORWARD_GIVEN = ACTIVATION_GIVEN + ("mlp.dense_forward", "mlp.activate")
BACKWARD_GIVEN = ACTIVATION_GIVEN + ("backprop.one_hot", "backprop.dense_backward")
TRAIN_GIVEN = FORWARD_GIVEN + BACKWARD_GIVEN + (
    "mlp.init_params", "mlp.mlp_forward", "backprop.mlp_backward", "backprop.cross_entropy",
    "backprop.mse", "backprop.LOSSES", "backprop.gradient_descent_step")

# What a case's feedback says to reread, by topic: the contract's words (REREAD) of a function
# of that topic.
EQ = {topic: CONTRACT.REREAD[function] for topic, function in {
    "step": "tlu.heaviside", "tlu": "tlu.tlu", "forward": "mlp.mlp_forward",
    "sigmoid": "activations.sigmoid", "sigmoid_grad": "activations.sigmoid_grad",
    "tanh": "activations.tanh", "tanh_grad": "activations.tanh_grad",
    "relu": "activations.relu", "relu_grad": "activations.relu_grad", "leaky": "activations.leaky_relu",
    "softmax": "activations.softmax", "jacobian": "activations.softmax_jacobian",
    "loss": "backprop.cross_entropy", "backward": "backprop.dense_backward",
    "numgrad": "backprop.numerical_gradient", "gd": "backprop.gradient_descent_step", "train": "backprop.train"}.items()}


def rng(seed):
    return np.random.default_rng(1700 + seed)


def away_from(values, points, margin):
    """Move entries closer than `margin` to any of `points` out to that distance."""
    values = values.copy()
    for p in points:
        near = np.abs(values - p) < margin
        values[near] = p + np.where(values[near] >= p, margin, -margin) * 2
    return values


# ------------------------------------------------------------------------------ Part A
def sign_at_zero_is_one(z):
    return np.where(np.asarray(z) >= 0, 1.0, -1.0)


ZS_LABELS = {1: "z with exact zeros", 2: "z with exact zeros", 3: "z with exact zeros", 5: "an integer z"}


def part_a():
    cases = []
    zs = [np.array([-2.0, -0.5, 0.0, 0.5, 2.0]), np.array([0.0]), np.array([[0.0, -1e-300, 1e-300]]),
          np.where(rng(1).random((3, 5)) < 0.3, 0.0, rng(2).normal(size=(3, 5))), rng(3).normal(size=(2, 3, 4)),
          np.array([-3, 0, 2])]  # integers in, float64 out
    for i, z in enumerate(zs):
        cases.append(Case("tlu.heaviside", (z,), Matches(known={"heaviside(0) = 0; the tie z = 0 must give 1": lambda z: (z > 0).astype(float)}, zero_mask=True),
                          hidden=i > 0, label=ZS_LABELS.get(i, ""), equation=EQ["step"]))
    for i, z in enumerate(zs):
        cases.append(Case("tlu.sign", (z,), Matches(known={"sign(0) = 1; sign(0) must be 0": sign_at_zero_is_one}, zero_mask=True),
                          hidden=i > 0, label=ZS_LABELS.get(i, ""), equation=EQ["step"]))
    X = rng(4).integers(-3, 4, size=(6, 3)).astype(float)
    w = np.array([1.0, -2.0, 0.5])
    near = np.array([[0.1, 0.2], [-0.3, 0.1], [0.2, -0.4], [-0.1, -0.05]])   # |w . x| < 0.5: the bias decides
    tlu_args = [((X, w), {"b": 0.5}), ((X, w, 1.0, "sign"), {}), ((X[:1], w), {"b": -0.5}),
                ((np.array([1.0, 1.0]), np.array([0.5, -0.5])), {}),  # z exactly 0 for a single x
                ((X[0], w, 0.25), {"step": "sign"}), ((rng(5).normal(size=(4, 1)), np.array([2.0])), {"b": 1.5}),
                ((near, np.array([1.0, 1.0]), 0.25), {}),
                ((near, np.array([1.0, 1.0]), -0.35, "sign"), {}), ((near, np.array([-1.0, 2.0])), {"b": 0.45, "step": "sign"}),
                ((near[0], np.array([1.0, 1.0]), -0.4), {"step": "sign"})]
    for i, (args, kwargs) in enumerate(tlu_args):
        single = args[0].ndim == 1
        cases.append(Case("tlu.tlu", args, Matches(form=ARRAY0 if single else FLOAT_ARRAY), kwargs=kwargs,
                          hidden=i > 0, given=STEP_GIVEN, equation=EQ["tlu"],
                          label="a single x of shape (D,)" if single else ""))
    X2 = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
    W32 = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 2.0]])
    layer_args = [(X2, W32, np.array([-1.5, 0.0, -0.5])), (X2, W32, np.array([-1.5, 0.0, -0.5]), "sign"),
                  (rng(6).normal(size=(4, 3)), rng(7).normal(size=(2, 3)), rng(8).normal(size=2)),
                  (rng(9).normal(size=(1, 5)), rng(10).normal(size=(1, 5)), np.array([0.3])),
                  (rng(6).normal(size=(4, 3)), rng(7).normal(size=(2, 3)), rng(8).normal(size=2), "sign"),
                  (rng(12).normal(size=(3, 2)), rng(13).normal(size=(4, 2)), rng(14).normal(size=4), "sign")]
    for i, args in enumerate(layer_args):
        cases.append(Case("tlu.perceptron_layer", args, Matches(), hidden=i > 0, given=STEP_GIVEN,
                          equation="the 3-output perceptron layer: step(W x + b) for each unit"))
    gates = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    separable = rng(11).normal(size=(12, 3))
    labels = (separable @ np.array([1.0, -1.0, 0.5]) + 0.2 > 0).astype(float)
    train_args = [((gates, np.array([0.0, 0.0, 0.0, 1.0])), {}),
                  ((gates, np.array([0.0, 1.0, 1.0, 1.0])), {"epochs": 6}),
                  ((gates, np.array([0.0, 1.0, 1.0, 0.0])), {"epochs": 8}),
                  ((gates, np.array([0.0, 0.0, 0.0, 1.0])), {"lr": 0.3, "epochs": 12}),
                  ((separable, labels), {"lr": 0.5, "epochs": 5})]
    for i, (args, kwargs) in enumerate(train_args):
        cases.append(Case("tlu.perceptron_train", args, Matches(form=tuple_of(FLOAT_ARRAY, SCALAR, SEQUENCE), rtol=1e-9),
                          kwargs=kwargs, hidden=i > 0, given=("tlu.heaviside",),
                          equation="Rosenblatt's rule: w += lr (y - y_hat) x; errors counted before each update"))
    return cases


# ------------------------------------------------------------------------------ Part B
def elementwise_inputs(kink=False):
    r = rng(20)
    zs = [np.array([-2.0, -0.5, 0.0, 0.5, 2.0]), r.normal(0, 3, size=(3, 4)), np.array([0.0]),
          r.normal(size=(2, 3, 2)), np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]]), r.normal(size=(1, 1)),
          np.array([-2, 0, 3]),  # integers in, float64 out
          np.array([[-3.5, -0.25, 0.0], [0.75, 2.5, 40.0]], dtype=np.float32)]  # float32 in, float64 out
    return zs


def gradcheck_inputs(kink, margin):
    r = rng(21)
    zs = [np.clip(r.normal(0, 2, size=(4, 5)), -6, 6), np.clip(r.normal(0, 1, size=(7,)), -6, 6),
          np.clip(r.normal(0, 3, size=(2, 2, 3)), -6, 6)]
    return [away_from(z, [0.0], margin) for z in zs] if kink else zs


def part_b(settings):
    cases = []

    def elementwise(function, equation, known=None, kwargs=None, warning_free=False, given=()):
        for i, z in enumerate(elementwise_inputs()):
            cases.append(Case(f"activations.{function}", (z,), Matches(known=known or {}, zero_mask=True),
                              kwargs=dict(kwargs or {}), hidden=i not in (0, 4, 7), equation=equation, given=given,
                              warning_free=warning_free, label={4: "|z| up to 1e3", 6: "an integer z", 7: "a float32 z"}.get(i, "")))

    def derivative(function, forward, equation, known=None, kink=False, kwargs=None, given=()):
        elementwise(function, equation, known, kwargs, given=given)
        for z in gradcheck_inputs(kink, settings.kink_margin):
            cases.append(Case(f"activations.{function}", (z,), MatchesDerivative(
                forward=f"activations.{forward}", forward_kwargs=dict(kwargs or {}), known=known or {}),
                kwargs=dict(kwargs or {}), equation=equation, given=given, label="gradient check"))

    sig = lambda z: 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))
    elementwise("sigmoid", EQ["sigmoid"], warning_free=True)
    derivative("sigmoid_grad", "sigmoid", EQ["sigmoid_grad"], given=("activations.sigmoid",), known={
        "sigma'(z) computed on the output: z (1 - z) treats z as sigma(z)": lambda z: z * (1 - z),
        "sigma' applied to sigma(z) (the output) instead of z": lambda z: sig(sig(z)) * (1 - sig(sig(z)))})
    elementwise("tanh", EQ["tanh"], warning_free=True)
    derivative("tanh_grad", "tanh", EQ["tanh_grad"], given=("activations.tanh",), known={
        "the slide's eq. (16), phi'(z) = 2 phi(2z) - 1, read with phi = sigma: 2 sigma(2z) - 1 is tanh(z) "
        "itself (an identity), not its derivative": lambda z: 2 * sig(2 * z) - 1,
        "the slide's eq. (16), phi'(z) = 2 phi(2z) - 1, read with phi = tanh: 2 tanh(2z) - 1 is not the "
        "derivative of tanh": lambda z: 2 * np.tanh(2 * z) - 1,
        "1 - tanh(z) without the square": lambda z: 1 - np.tanh(z)})
    elementwise("relu", EQ["relu"])
    derivative("relu_grad", "relu", EQ["relu_grad"], kink=True, known={
        "relu'(0) = 1; eq. (18) says 0 where z <= 0": lambda z: (z >= 0).astype(float)})
    for alpha in (0.01, 0.2, 0.5):
        kwargs = {} if alpha == 0.01 else {"alpha": alpha}
        elementwise("leaky_relu", EQ["leaky"], kwargs=kwargs)
        derivative("leaky_relu_grad", "leaky_relu", EQ["leaky"], kink=True, kwargs=kwargs, known={
            "alpha ignored (0.01 hard-coded)": lambda z, alpha=0.01: np.where(z > 0, 1.0, 0.01),
            "0 instead of alpha where z <= 0": lambda z, alpha=0.01: (z > 0).astype(float),
            "leaky_relu'(0) = 1; it is alpha where z <= 0": lambda z, alpha=0.01: np.where(z >= 0, 1.0, alpha)})

    softmax_known = {
        "z / sum(z) (the handwritten example) instead of normalised exponentials":
            lambda Z: Z / Z.sum(axis=-1, keepdims=True),
        "normalised over the wrong axis (axis 0 instead of the last)":
            lambda Z: np.exp(Z - Z.max(axis=0, keepdims=True)) / np.exp(Z - Z.max(axis=0, keepdims=True)).sum(axis=0, keepdims=True)}
    r = rng(22)
    for i, Z in enumerate([np.array([1.0, 2.0, 3.0]), r.normal(size=(4, 3)), r.normal(size=(1, 5)),
                           np.array([[1000.0, 1000.0], [-1000.0, 1000.0], [0.0, 0.0]]),
                           np.array([-1000.0, 0.0, 1000.0]), r.normal(0, 5, size=(3, 7)), np.array([[2.5]]),
                           rng(23).normal(size=(5, 4))]):
        cases.append(Case("activations.softmax", (Z,), Matches(known=softmax_known), hidden=i > 0,
                          equation=EQ["softmax"], warning_free=True,
                          label="|z| up to 1e3" if i in (3, 4) else ""))
    for i, z in enumerate([np.array([1.0, 2.0, 3.0]), r.normal(size=(4,)), r.normal(size=(3, 4)),
                           r.normal(size=(1, 2)), np.array([[1000.0, -1000.0, 0.0]])]):
        cases.append(Case("activations.softmax_jacobian", (z,), Matches(known={
            "the diagonal term s_i delta_ij is missing": lambda z: -np.einsum("...i,...j->...ij", _softmax(z), _softmax(z))}),
            hidden=i > 0, equation=EQ["jacobian"], given=("activations.softmax",), warning_free=True))
    return cases


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------------------ Part C
NETWORKS = [  # (layer sizes, activations, N): depth 1 to 4, every activation, odd sizes
    ([3, 4, 2], ["tanh", "softmax"], 5),
    ([2, 3], ["sigmoid"], 4),
    ([4, 5, 3, 2], ["relu", "leaky_relu", "softmax"], 6),
    ([3, 2, 4, 5, 3], ["sigmoid", "tanh", "relu", "softmax"], 3),
    ([1, 3, 1], ["leaky_relu", "identity"], 1),
    ([5, 1, 2], ["relu", "sigmoid"], 2),
    ([2, 7, 4], ["identity", "softmax"], 7),
]


PREDICT_NETWORKS = [([3, 5, 4], ["tanh", "softmax"], 6), ([4, 6, 3], ["sigmoid", "softmax"], 5),
                    ([2, 5, 3], ["relu", "softmax"], 8), ([3, 4, 5], ["sigmoid", "softmax"], 7)]
# several outputs; with ONE_UNIT_NETWORKS and the output of exactly 0.5, as many cases of one
# output unit as of several: a mistake in one branch of predict costs half of its points
ONE_UNIT_NETWORKS = [  # predict with one output unit, for every output activation
    ([3, 4, 1], ["tanh", "sigmoid"], 6), ([2, 3, 1], ["relu", "tanh"], 5), ([4, 1], ["leaky_relu"], 7),
    ([3, 2, 1], ["sigmoid", "relu"], 6), ([2, 1], ["identity"], 6), ([3, 4, 1], ["tanh", "sigmoid"], 8),
]


def network(reference, index, margin):
    """(X, params, activations) of NETWORKS[index], drawn until no relu-type pre-activation
    lies within `margin` of the kink (so gradient checks never straddle it)."""
    sizes, activations, n = NETWORKS[index]
    for attempt in range(50):
        r = rng(40 + 10 * index + attempt)
        params = [(r.normal(0, 1.0, size=(o, i)), r.normal(0, 0.5, size=o)) for i, o in zip(sizes[:-1], sizes[1:])]
        X = r.normal(size=(n, sizes[0]))
        _, cache = reference["mlp"].mlp_forward(X, params, activations)
        if all(np.abs(Z).min() > margin for (A, Z), name in zip(cache, activations) if "relu" in name):
            return X, params, activations
    raise RuntimeError(f"no network {index} away from the kinks")


def part_c(reference, settings):
    cases = []
    r = rng(30)
    dense_args = [(r.normal(size=(5, 3)), r.normal(size=(4, 3)), r.normal(size=4)),
                  (r.normal(size=(1, 3)), r.normal(size=(2, 3)), r.normal(size=2)),
                  (r.normal(size=(6, 2)), r.normal(size=(1, 2)), r.normal(size=1)),
                  (r.normal(size=(7, 1)), r.normal(size=(3, 1)), np.zeros(3)),
                  (r.normal(size=(3, 5)), r.normal(size=(7, 5)), r.normal(size=7))]
    for i, args in enumerate(dense_args):
        cases.append(Case("mlp.dense_forward", args, Matches(rtol=1e-7, atol=1e-10, known={
            "the bias b is missing": lambda X, W, b: X @ W.T}), hidden=i > 0, equation="Z = X W^T + b (z = W x + b per sample)"))
    form = tuple_of(FLOAT_ARRAY, PAIRS)
    for i in range(len(NETWORKS)):
        X, params, activations = network(reference, i, settings.kink_margin)
        cases.append(Case("mlp.mlp_forward", (X, params, activations), Matches(form=form, rtol=1e-7, atol=1e-10),
                          hidden=i > 0, given=FORWARD_GIVEN, equation=EQ["forward"] + "; cache[l] = (A_prev, Z)",
                          label=f"{len(params)} layers: {', '.join(activations)}"))
    threshold = ([np.zeros((1, 2)), np.array([0.5])], )
    for i in range(len(NETWORKS)):
        if NETWORKS[i][2] == NETWORKS[i][0][-1] > 1:
            continue  # as many samples as outputs: an argmax over the wrong axis may pass
        X, params, activations = network(reference, i, settings.kink_margin)
        cases.append(Case("mlp.predict", (X, params, activations), Matches(form=INT_ARRAY, rtol=0, atol=0),
                          hidden=i > 0, given=FORWARD_GIVEN + ("mlp.mlp_forward",),
                          equation="argmax over the outputs, or out[:, 0] >= 0.5 for one output unit",
                          label=f"{NETWORKS[i][2]} samples, {NETWORKS[i][0][-1]} output(s)"))
    for i, (sizes, activations, n) in enumerate(PREDICT_NETWORKS):
        r2 = rng(140 + i)
        params = [(r2.normal(size=(o, j)), r2.normal(0, 0.5, size=o)) for j, o in zip(sizes[:-1], sizes[1:])]
        cases.append(Case("mlp.predict", (r2.normal(size=(n, sizes[0])), params, activations),
                          Matches(form=INT_ARRAY, rtol=0, atol=0), given=FORWARD_GIVEN + ("mlp.mlp_forward",),
                          equation="argmax over the outputs", label=f"{n} samples, {sizes[-1]} outputs"))
    for i, (sizes, activations, n) in enumerate(ONE_UNIT_NETWORKS):
        for attempt in range(50):  # outputs on both sides of 0.5: both labels occur
            r2 = rng(150 + 10 * i + attempt)
            params = [(r2.normal(size=(o, j)), r2.normal(0, 0.5, size=o)) for j, o in zip(sizes[:-1], sizes[1:])]
            X = r2.normal(size=(n, sizes[0]))
            out, _ = reference["mlp"].mlp_forward(X, params, activations)
            if 0 < np.sum(out[:, 0] >= 0.5) < n:
                break
        cases.append(Case("mlp.predict", (X, params, activations),
                          Matches(form=INT_ARRAY, rtol=0, atol=0), given=FORWARD_GIVEN + ("mlp.mlp_forward",),
                          equation="out[:, 0] >= 0.5 for one output unit",
                          label=f"{n} samples, one output unit ({activations[-1]})"))
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0]])
    cases.append(Case("mlp.predict", (X, [(np.zeros((1, 2)), np.array([0.5]))], ["identity"]),
                      Matches(form=INT_ARRAY, rtol=0, atol=0), given=FORWARD_GIVEN + ("mlp.mlp_forward",),
                      equation="out[:, 0] >= 0.5 (0.5 itself gives 1)", label="an output of exactly 0.5"))
    return cases


# ------------------------------------------------------------------------------ Part D
BACKWARD_NETWORKS = [  # (layer sizes, activations, N, loss): sigmoid and tanh hidden layers
    ([3, 4, 3], ["sigmoid", "softmax"], 5, "cross_entropy"),
    ([2, 5, 4, 3], ["tanh", "sigmoid", "softmax"], 6, "cross_entropy"),
    ([4, 3, 2], ["tanh", "softmax"], 4, "cross_entropy"),
    ([3, 4, 4, 2], ["sigmoid", "tanh", "softmax"], 5, "cross_entropy"),
    ([3, 4, 2], ["sigmoid", "tanh"], 5, "mse"),
    ([2, 4, 3, 2], ["tanh", "sigmoid", "sigmoid"], 6, "mse"),
    ([4, 3, 1], ["sigmoid", "tanh"], 4, "mse"),
    ([3, 5, 2], ["tanh", "sigmoid"], 3, "mse"),
    # as many mse cases as cross-entropy ones: a mistake in one loss's output layer costs half
    ([2, 4, 3], ["sigmoid", "tanh"], 5, "mse"),
    ([3, 3, 2, 2], ["tanh", "tanh", "sigmoid"], 4, "mse"),
]


def mlp_loss(reference):
    """The loss that mlp_backward's gradient checks differentiate: the reference's forward pass
    and loss (the case's kwarg "loss") at other params, for the case's X, Y and activations."""
    def loss(case, params):
        Y, _, cache, activations = case.args[:4]
        out, _ = reference["mlp"].mlp_forward(cache[0][0], params, activations)
        return reference["backprop"].LOSSES[case.kwargs.get("loss", "cross_entropy")](out, Y)
    return loss


def part_d(reference, settings):
    cases = []
    r = rng(50)
    for i, (y, k) in enumerate([(np.array([0, 2, 1]), 3), (np.array([1]), 2), (r.integers(0, 5, size=9), 5),
                                (np.array([3, 3, 0, 1]), 4), (np.array([0, 2, 0]), 4), (np.array([1, 0, 1, 1]), 6),
                                (np.array([2]), 5)]):
        cases.append(Case("backprop.one_hot", (y, k), Matches(), hidden=i not in (0, 4),
                          equation="one row per sample, a 1.0 at column y_i",
                          label="the largest classes absent from y" if i >= 4 else ""))
    P = _softmax(r.normal(size=(6, 4)))
    P_zero = P.copy()
    P_zero[0] = [0.0, 0.5, 0.5, 0.0]
    y6 = np.array([0, 1, 2, 3, 1, 0])
    ce_known = {"the sum over samples instead of the mean": lambda P, y: -np.sum(np.log(np.clip(P[np.arange(len(y)), y], 1e-12, 1)))}
    confident = _softmax(4.0 * rng(53).normal(size=(6, 3)))   # most true-class probabilities above 0.5
    for i, args in enumerate([(np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]]), np.array([0, 1])), (P, y6),
                              (P_zero, y6), (P[:1], y6[:1]), (np.array([[0.0, 1.0]]), np.array([0])),
                              (confident, np.argmax(confident, axis=1))]):
        cases.append(Case("backprop.cross_entropy", args, Matches(form=SCALAR, rtol=1e-9, atol=1e-12, known=ce_known,
                                                                  factors=(("N", len(args[1])),)),
                          hidden=i > 0, warning_free=True, equation=EQ["loss"],
                          label="a probability of 0 at the true class" if i in (2, 4) else ""))
    for i, (a, b) in enumerate([(r.normal(size=(4, 2)), r.normal(size=(4, 2))), (r.normal(size=(1, 3)), r.normal(size=(1, 3))),
                                (r.normal(size=(5, 1)), r.normal(size=(5, 1))), (r.normal(size=(3, 6)), r.normal(size=(3, 6))),
                                (rng(51).normal(size=(4, 3)), rng(52).normal(size=(4, 3)))]):
        cases.append(Case("backprop.mse", (a, b), Matches(form=SCALAR, rtol=1e-9, atol=1e-12,
                                                          factors=(("N", a.shape[0]), ("2", 2.0), ("2N", 2.0 * a.shape[0]))),
                          hidden=i not in (0, 4), equation=EQ["loss"], label=f"K = {a.shape[1]} outputs" if i == 4 else ""))
    form3 = tuple_of(FLOAT_ARRAY, FLOAT_ARRAY, FLOAT_ARRAY)
    for i, (n, n_in, n_out) in enumerate([(5, 3, 4), (1, 2, 3), (6, 4, 1), (3, 1, 5), (4, 5, 2)]):
        dZ, A, W = r.normal(size=(n, n_out)), r.normal(size=(n, n_in)), r.normal(size=(n_out, n_in))
        cases.append(Case("backprop.dense_backward", (dZ, A, W), Matches(form=form3, rtol=1e-7, atol=1e-10, factors=(("N", n),),
                                                                          partial=True),
                          hidden=i > 0, equation=EQ["backward"]))
    for i in range(len(NETWORKS)):
        if NETWORKS[i][2] == 1:
            continue  # one sample and an identity output hide a missing 1/N or phi'(Z_L): covered below
        X, params, activations = network(reference, i, settings.kink_margin)
        _, cache = reference["mlp"].mlp_forward(X, params, activations)
        n, k = X.shape[0], params[-1][0].shape[0]
        if activations[-1] == "softmax":
            targets = [("cross_entropy", rng(60 + i).integers(0, k, size=n))]
        else:
            targets = []
        targets.append(("mse", rng(70 + i).normal(size=(n, k))) if activations[-1] != "softmax" else None)
        for loss, Y in filter(None, targets):
            args = (Y, params, cache, activations)
            label = f"{len(params)} layers: {', '.join(activations)}; {loss}"
            for check in (Matches(form=PAIRS, rtol=1e-7, atol=1e-10, factors=(("N", n),)),
                          MatchesGradient(loss=mlp_loss(reference), factors=(("N", n),))):
                cases.append(Case("backprop.mlp_backward", args, check, kwargs={"loss": loss},
                                  hidden=not (i == 0 and isinstance(check, Matches)), given=BACKWARD_GIVEN,
                                  equation=CONTRACT.REREAD["backprop.mlp_backward"],
                                  label=label + ("; gradient check" if isinstance(check, MatchesGradient) else "")))
    # mse on a softmax-free copy of the deeper networks, so that "mse" meets every activation
    for i, (sizes, activations, n) in enumerate([([3, 4, 2], ["relu", "tanh"], 4), ([2, 3, 3, 2], ["tanh", "leaky_relu", "sigmoid"], 5)]):
        r2 = rng(80 + i)
        params = [(r2.normal(size=(o, j)), r2.normal(0, 0.5, size=o)) for j, o in zip(sizes[:-1], sizes[1:])]
        X = r2.normal(size=(n, sizes[0]))
        _, cache = reference["mlp"].mlp_forward(X, params, activations)
        Y = r2.normal(size=(n, sizes[-1]))
        for check in (Matches(form=PAIRS, rtol=1e-7, atol=1e-10, factors=(("N", n),)),
                      MatchesGradient(loss=mlp_loss(reference), factors=(("N", n),))):
            cases.append(Case("backprop.mlp_backward", (Y, params, cache, activations), check, kwargs={"loss": "mse"},
                              given=BACKWARD_GIVEN, equation="mse output layer: dZ_L = (phi(Z_L) - Y) / N * phi'(Z_L)",
                              label=f"{len(params)} layers: {', '.join(activations)}; mse"))
    # sigmoid and tanh hidden layers, different from each other and from the output, in both
    # losses: phi'(A) for phi'(Z), or a mistake in one loss's dZ_L, then fails most cases
    for i, (sizes, activations, n, loss) in enumerate(BACKWARD_NETWORKS):
        r2 = rng(120 + i)
        params = [(r2.normal(size=(o, j)), r2.normal(0, 0.5, size=o)) for j, o in zip(sizes[:-1], sizes[1:])]
        X = r2.normal(size=(n, sizes[0]))
        _, cache = reference["mlp"].mlp_forward(X, params, activations)
        Y = r2.integers(0, sizes[-1], size=n) if loss == "cross_entropy" else r2.normal(size=(n, sizes[-1]))
        for check in (Matches(form=PAIRS, rtol=1e-7, atol=1e-10, factors=(("N", n),)),
                      MatchesGradient(loss=mlp_loss(reference), factors=(("N", n),))):
            cases.append(Case("backprop.mlp_backward", (Y, params, cache, activations), check, kwargs={"loss": loss},
                              given=BACKWARD_GIVEN, equation=CONTRACT.REREAD["backprop.mlp_backward"],
                              label=f"{len(params)} layers: {', '.join(activations)}; {loss}"
                                    + ("; gradient check" if isinstance(check, MatchesGradient) else "")))
    # saturated logits (|Z_L| >= 30): the true class's probability falls far below the loss's clip
    # (1e-12); dZ_L = (softmax(Z_L) - one_hot(Y)) / N all the same. Compared with the reference
    # only: central differences of the clipped loss are 0 there
    for i, (sizes, activations, n, shift) in enumerate([([3, 4, 3], ["tanh", "softmax"], 5, 40.0),
                                                        ([2, 3, 4, 3], ["sigmoid", "tanh", "softmax"], 4, 35.0),
                                                        ([3, 4], ["softmax"], 4, 60.0),
                                                        ([2, 3], ["softmax"], 5, 45.0)]):
        r2 = rng(160 + i)
        params = [(r2.normal(0, 0.5, size=(o, j)), r2.normal(0, 0.5, size=o)) for j, o in zip(sizes[:-1], sizes[1:])]
        k = np.arange(sizes[-1])
        b_last = np.where(k % 2 == 0, shift, -shift) * (1 + 0.1 * k)   # every logit at least ~shift from 0
        params[-1] = (params[-1][0], b_last)
        X = r2.normal(size=(n, sizes[0]))
        _, cache = reference["mlp"].mlp_forward(X, params, activations)
        Y = np.array([1, 0, 1, 1, 2][:n])   # class 1's logits are about -shift: P[i, 1] < 1e-12
        cases.append(Case("backprop.mlp_backward", (Y, params, cache, activations),
                          Matches(form=PAIRS, rtol=1e-7, atol=1e-10, factors=(("N", n),)), kwargs={"loss": "cross_entropy"},
                          hidden=i > 0, given=BACKWARD_GIVEN, equation=CONTRACT.REREAD["backprop.mlp_backward"],
                          label=f"{len(params)} layers: {', '.join(activations)}; saturated logits (|Z_L| >= 30)"))
    numgrad = [("sin_cubic", (3,), {}), ("coupled", (2, 3), {}), ("sin_cubic", (1,), {"h": 1e-4}),
               ("coupled", (4, 2), {"h": 1e-4}), ("coupled", (5,), {}), ("int", (3,), {})]
    for i, (kind, shape, kwargs) in enumerate(numgrad):
        r3 = rng(90 + i)
        f = Callable("sin_cubic" if kind == "int" else kind, (r3.uniform(0.5, 2.0, size=shape), r3.uniform(-1, 1, size=shape)))
        x = np.array([1, -2, 3]) if kind == "int" else r3.normal(size=shape)  # an int x must be read as float
        cases.append(Case("backprop.numerical_gradient", (f, x), MatchesCallableGradient(rtol=1e-6, atol=1e-7),
                          kwargs=kwargs, hidden=i > 0, equation=EQ["numgrad"],
                          label={"coupled": "f(x) = sum(sin(a x)) + (sum(c x))^2", "int": "an integer x"}.get(
                              kind, "f(x) = sum(sin(a x) + c x^3)")))
    return cases


# ------------------------------------------------------------------------------ Part E
def loss_after_update(reference):
    """The reference's training loop with the usual slip: the loss of each epoch recorded
    after the step (named in feedback when a student's curve matches it)."""
    mlp, backprop = reference["mlp"], reference["backprop"]

    def train(X, Y, layer_sizes, activations, loss="cross_entropy", lr=0.5, epochs=1000, seed=0):
        params, losses = mlp.init_params(layer_sizes, seed), []
        for _ in range(epochs):
            out, cache = mlp.mlp_forward(X, params, activations)
            params = backprop.gradient_descent_step(params, backprop.mlp_backward(Y, params, cache, activations, loss=loss), lr)
            losses.append(backprop.LOSSES[loss](mlp.mlp_forward(X, params, activations)[0], Y))
        return params, losses
    return train



def part_e(reference, settings):
    cases = []
    for i, sizes in enumerate([[3, 4, 2], [2, 1], [4, 3, 5, 2]]):
        r = rng(100 + i)
        params = [(r.normal(size=(o, j)), r.normal(size=o)) for j, o in zip(sizes[:-1], sizes[1:])]
        grads = [(r.normal(size=W.shape), r.normal(size=b.shape)) for W, b in params]
        for lr in ([0.1] if i else [0.1, 0.0, 2.5]):
            cases.append(Case("backprop.gradient_descent_step", (params, grads, lr),
                              Matches(form=PAIRS, rtol=1e-12, atol=1e-14),
                              hidden=not (i == 0 and lr == 0.1), equation=EQ["gd"], label=f"lr = {lr}"))
    xor_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    xor_y = np.array([0, 1, 1, 0])
    r = rng(110)
    blobs = r.normal(size=(9, 3))
    blob_y = r.integers(0, 3, size=9)
    blob_targets = rng(111).normal(size=(9, 2))
    xor_onehot = np.eye(2)[xor_y]
    form = tuple_of(PAIRS, SEQUENCE)
    stable = [  # small lr and few epochs: stable across correct implementations, compared exactly
        ((xor_X, xor_y, [2, 3, 2], ["tanh", "softmax"]), {"lr": 0.1, "epochs": 20, "seed": 3}),
        ((xor_X, xor_y.reshape(-1, 1).astype(float), [2, 3, 1], ["tanh", "sigmoid"]), {"loss": "mse", "lr": 0.5, "epochs": 15, "seed": 1}),
        ((blobs, blob_y, [3, 4, 3], ["relu", "softmax"]), {"lr": 0.05, "epochs": 10, "seed": 7}),
        ((blobs, blob_y, [3, 2, 3, 3], ["sigmoid", "leaky_relu", "softmax"]), {"lr": 0.2, "epochs": 5}),
        # as many mse runs as cross-entropy ones: a loop that ignores `loss` fails half of train
        ((blobs, blob_targets, [3, 4, 2], ["sigmoid", "tanh"]), {"loss": "mse", "lr": 0.1, "epochs": 8, "seed": 2}),
        ((xor_X, xor_onehot, [2, 3, 2], ["tanh", "sigmoid"]), {"loss": "mse", "lr": 0.3, "epochs": 10, "seed": 5}),
        ((blobs, blob_targets, [3, 2, 2], ["relu", "sigmoid"]), {"loss": "mse", "lr": 0.2, "epochs": 6, "seed": 4}),
        ((xor_X, xor_onehot, [2, 4, 2], ["sigmoid", "tanh"]), {"loss": "mse", "lr": 0.2, "epochs": 12, "seed": 6}),
    ]
    known = {"the loss recorded after the update; record it before each step, from the forward pass "
             "that the step's gradients come from": loss_after_update(reference)}
    for i, (args, kwargs) in enumerate(stable):
        cases.append(Case("backprop.train", args, Matches(form=form, rtol=1e-6, atol=1e-9, known=known), kwargs=kwargs,
                          hidden=i > 0, given=TRAIN_GIVEN, timeout=20, equation=EQ["train"],
                          label=f"{args[2]}, {kwargs.get('epochs')} epochs, seed {kwargs.get('seed', 0)}"))

    def learns_xor(leaves, expected, epochs=1000):
        """Judged in the parent from the returned params alone: the reference's forward pass
        on them must classify XOR with a loss below 0.01 (the reported curve proves nothing)."""
        *weights, losses = leaves
        if len(losses) != epochs:
            return finding(Kind.ITEMS, "result[2]", got=len(losses), expected=epochs, unit="epochs")
        params = list(zip(weights[0::2], weights[1::2]))
        shapes = [(W.shape, b.shape) for W, b in params]
        if shapes != [((4, 2), (4,)), ((2, 4), (2,))]:
            return finding(Kind.OUTCOME, "result[0]", check="xor_shapes")
        with np.errstate(all="ignore"):
            out, _ = reference["mlp"].mlp_forward(xor_X, params, ["tanh", "softmax"])
            loss = reference["backprop"].cross_entropy(out, xor_y)
        if not np.isfinite(loss) or loss >= 0.01 or np.any(np.argmax(out, axis=1) != xor_y):
            return finding(Kind.OUTCOME, "result[0]", check="xor_unsolved", loss=float(loss), epochs=epochs)
        return None

    for seed in (2, 4):
        cases.append(Case("backprop.train", (xor_X, xor_y, [2, 4, 2], ["tanh", "softmax"]),
                          Satisfies(form=form, predicate=learns_xor, bound_items="result[0]"), kwargs={"lr": 0.5, "epochs": 1000, "seed": seed},
                          given=TRAIN_GIVEN, timeout=30, equation=EQ["train"],
                          label=f"XOR, [2, 4, 2], 1000 epochs at lr 0.5, seed {seed}: judged by its outcome"))
    return cases


def cases(settings, reference):
    """Every case, in grading order (a function's own cases before any case it is given in)."""
    return part_a() + part_b(settings) + part_c(reference, settings) + part_d(reference, settings) + part_e(reference, settings)
