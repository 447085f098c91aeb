"""The reference keeps the promises of ASSIGNMENT.md (the rest of the kit is judged against it)."""
import warnings

import numpy as np
import pytest

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


@pytest.fixture(scope="module")
def ref(lab):
    return lab.reference()


def test_stable_functions_are_finite_and_warning_free_at_1e3(ref):
    act, bp = ref["activations"], ref["backprop"]
    z = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            assert act.sigmoid(np.array([-1000.0]))[0] == 0.0
            assert np.all(np.isfinite(act.sigmoid(z))) and np.all(np.isfinite(act.sigmoid_grad(z)))
            assert np.array_equal(act.softmax(np.array([1000.0, 1000.0])), [0.5, 0.5])
            assert np.all(np.isfinite(act.softmax_jacobian(z)))
            assert bp.cross_entropy(np.array([[0.0, 1.0]]), np.array([0])) == pytest.approx(-np.log(1e-12))


def test_softmax_of_the_handwritten_example(ref):
    assert np.allclose(ref["activations"].softmax(np.array([1.0, 2.0, 3.0])), [0.090, 0.245, 0.665], atol=5e-4)


def test_tanh_identity_of_eq16_is_not_the_derivative(ref):
    act = ref["activations"]
    z = np.linspace(-2, 2, 9)
    assert np.allclose(2 * act.sigmoid(2 * z) - 1, act.tanh(z))
    assert not np.allclose(2 * act.sigmoid(2 * z) - 1, act.tanh_grad(z))


def test_perceptron_converges_on_and_or_and_never_on_xor(ref):
    tlu = ref["tlu"]
    for y in ([0, 0, 0, 1], [0, 1, 1, 1]):
        _, _, errors = tlu.perceptron_train(XOR_X, np.array(y, dtype=float), epochs=10)
        assert errors[-1] == 0 and len(errors) == 10
    _, _, errors = tlu.perceptron_train(XOR_X, np.array([0.0, 1.0, 1.0, 0.0]), epochs=50)
    assert min(errors) > 0


@pytest.mark.parametrize("seed", range(5))
def test_mlp_learns_xor(ref, seed):
    params, losses = ref["backprop"].train(XOR_X, np.array([0, 1, 1, 0]), [2, 4, 2], ["tanh", "softmax"], seed=seed)
    assert len(losses) == 1000 and losses[-1] < 0.01
    assert ref["mlp"].predict(XOR_X, params, ["tanh", "softmax"]).tolist() == [0, 1, 1, 0]


def test_inputs_are_never_modified(ref):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 3))
    params = ref["mlp"].init_params([3, 4, 2], seed=1)
    grads = [(np.ones_like(W), np.ones_like(b)) for W, b in params]
    copies = [(W.copy(), b.copy()) for W, b in params]
    ref["backprop"].gradient_descent_step(params, grads, 0.1)
    out, cache = ref["mlp"].mlp_forward(X, params, ["relu", "softmax"])
    ref["backprop"].mlp_backward(np.array([0, 1, 0, 1, 1]), params, cache, ["relu", "softmax"])
    assert all(np.array_equal(W, W0) and np.array_equal(b, b0) for (W, b), (W0, b0) in zip(params, copies))
