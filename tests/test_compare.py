"""The judging pieces, each shown failing on a wrong input."""
import numpy as np
import pytest

from autograder import compare, gradcheck
from autograder.cases import Case, Matches, MatchesCallableGradient, MatchesDerivative
from autograder.compare import FLOAT_ARRAY, Mismatch, PAIRS, SCALAR, SEQUENCE
from autograder.config import DEFAULTS
from autograder.values import Callable, Value


def nd(a):
    return Value("nd", data=np.asarray(a))


def test_relative_error_of_a_correct_derivative_is_tiny_and_of_a_slightly_wrong_one_is_not():
    z = np.linspace(-4, 4, 41)
    numeric = gradcheck.elementwise_derivative(np.tanh, z, DEFAULTS.gradcheck_h)
    exact = 1 - np.tanh(z) ** 2
    assert gradcheck.relative_error(exact, numeric) < 1e-9
    assert gradcheck.relative_error(exact * 1.001, numeric) > DEFAULTS.gradcheck_tol  # autograd's x1.001 test


def test_relative_error_is_finite_when_both_are_zero():
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_central_difference_leaves_x_and_matches_an_analytic_gradient():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    before = x.copy()
    g = gradcheck.central_difference(lambda v: float(np.sum(np.sin(v) * v)), x, 1e-5)
    assert np.array_equal(x, before)
    assert np.allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-8)


@pytest.fixture
def reference(lab):
    return lab.reference()


def judge(check, case, node, reference, settings=DEFAULTS):
    expected = check.expect(case, reference, settings)
    try:
        return check.judge(case, node, expected, settings)
    except Mismatch as exc:
        return str(exc)


def test_matches_accepts_rounding_and_rejects_a_wrong_value(reference):
    z = np.array([-1.0, 0.0, 2.0])
    case = Case("activations.tanh", (z,), Matches())
    right = 2.0 / (1.0 + np.exp(-2 * z)) - 1.0  # the identity tanh = 2 sigma(2z) - 1: a few ulps off
    assert judge(case.check, case, nd(right), reference) is None
    assert "differ" in judge(case.check, case, nd(right * (1 + 1e-5)), reference)


def test_the_form_is_part_of_the_contract(reference):
    z = np.array([-1.0, 0.0, 2.0])
    case = Case("activations.relu", (z,), Matches())
    assert "expected an ndarray" in judge(case.check, case, Value("list", items=[Value("float", np.asarray(0.0))] * 3), reference)
    assert "dtype int64" in judge(case.check, case, nd(np.array([0, 0, 2])), reference)
    assert "not a number or an ndarray" in judge(case.check, case, Value("object"), reference)
    assert "nothing came back" in judge(case.check, case, Value("missing"), reference)
    assert "shape (1, 3)" in judge(case.check, case, nd(np.array([[0.0, 0.0, 2.0]])), reference)
    assert "not finite" in judge(case.check, case, nd(np.array([0.0, np.nan, 2.0])), reference)


def test_likely_mistakes_are_named(reference):
    z = np.array([-1.0, 0.0, 2.0])
    relu_grad = Case("activations.relu_grad", (z,), Matches(zero_mask=True))
    assert "wrong only where z = 0" in judge(relu_grad.check, relu_grad, nd([0.0, 1.0, 1.0]), reference)
    X, W, b = np.ones((4, 3)), np.arange(6.0).reshape(2, 3), np.zeros(2)
    dense = Case("mlp.dense_forward", (X, W, b), Matches())
    expected = X @ W.T
    assert "transpose" in judge(dense.check, dense, nd(expected.T), reference)
    assert "sign is flipped" in judge(dense.check, dense, nd(-expected), reference)
    scaled = Case("mlp.dense_forward", (X, W, b), Matches(factors=(("N", 4),)))
    assert "factor of N" in judge(scaled.check, scaled, nd(expected * 4), reference)
    assert "factor of 1/N" in judge(scaled.check, scaled, nd(expected / 4), reference)


def test_scalar_pairs_and_sequence_forms(reference):
    P, y = np.array([[0.7, 0.3], [0.2, 0.8]]), np.array([0, 1])
    ce = Case("backprop.cross_entropy", (P, y), Matches(form=SCALAR, rtol=1e-9))
    value = -np.mean(np.log([0.7, 0.8]))
    assert judge(ce.check, ce, Value("float", np.asarray(value)), reference) is None
    assert judge(ce.check, ce, Value("npscalar", np.asarray(value)), reference) is None
    assert "single number" in judge(ce.check, ce, nd([value, value]), reference)
    params = [(np.ones((2, 3)), np.zeros(2))]
    grads = [(np.ones((2, 3)), np.ones(2))]
    gd = Case("backprop.gradient_descent_step", (params, grads, 0.5), Matches(form=PAIRS))
    good = Value("list", items=[Value("tuple", items=[nd(np.full((2, 3), 0.5)), nd(np.full(2, -0.5))])])
    assert judge(gd.check, gd, good, reference) is None
    assert "expected a pair" in judge(gd.check, gd, Value("list", items=[nd(np.zeros(2))]), reference)
    assert compare.plain(Value("list", items=[Value("int", np.asarray(3))]), SEQUENCE, "x").tolist() == [3.0]


def test_derivative_check_fails_a_derivative_off_by_a_thousandth(reference):
    z = np.linspace(-3, 3, 13)
    case = Case("activations.sigmoid_grad", (z,), MatchesDerivative(forward="activations.sigmoid"))
    s = 1 / (1 + np.exp(-z))
    assert judge(case.check, case, nd(s * (1 - s)), reference) is None
    message = judge(case.check, case, nd(s * (1 - s) * 1.001), reference)
    assert "gradient check failed" in message and "relative error" in message


def test_numerical_gradient_check_tells_forward_differences_apart(reference):
    f = Callable("coupled", (np.array([1.0, 2.0]), np.array([0.5, -1.0])))
    x = np.array([0.3, -0.7])
    case = Case("backprop.numerical_gradient", (f, x), MatchesCallableGradient(rtol=1e-6, atol=1e-7))
    central = gradcheck.central_difference(f, x, 1e-5)
    forward = np.array([(f(x + 1e-5 * e) - f(x)) / 1e-5 for e in np.eye(2)])
    assert judge(case.check, case, nd(central), reference) is None
    assert "forward differences" in judge(case.check, case, nd(forward), reference)


def numgrad_case(h=None):
    f = Callable("coupled", (np.array([1.0, 2.0, 0.5]), np.array([0.5, -1.0, 0.3])))
    x = np.array([0.3, -0.7, 1.1])
    kwargs = {} if h is None else {"h": h}
    return Case("backprop.numerical_gradient", (f, x), MatchesCallableGradient(rtol=1e-6, atol=1e-7), kwargs=kwargs), f, x


def test_numerical_gradient_tells_truncation_error_from_a_shifted_x(reference):
    from autograder.cases import numgrad_not_restored, numgrad_one_sided
    case, f, x = numgrad_case(h=1e-4)
    shifted = numgrad_not_restored(f, x, 1e-4)
    forward = numgrad_one_sided(f, x, 1e-4, +1)
    backward = numgrad_one_sided(f, x, 1e-4, -1)
    # both errors are of order h: the size of the error alone cannot tell them apart
    for wrong in (shifted, forward, backward):
        assert 1e-8 < np.max(np.abs(wrong - f.gradient(x))) < 1e-2
    on_shifted = judge(case.check, case, nd(shifted), reference)
    assert "not put back" in on_shifted and "forward differences" not in on_shifted
    on_forward = judge(case.check, case, nd(forward), reference)
    assert "forward differences" in on_forward and "not put back" not in on_forward
    assert "backward differences" in judge(case.check, case, nd(backward), reference)
    # an error of order h that none of the three explains is not named after any of them
    other = f.gradient(x) + 1e-4 * np.array([1.0, -3.0, 2.0])
    message = judge(case.check, case, nd(other), reference)
    assert "differ" in message and "Likely mistake" not in message


def test_numerical_gradient_names_a_doubled_result_and_an_all_zero_one(reference):
    case, f, x = numgrad_case()
    central = gradcheck.central_difference(f, x, 1e-5)
    assert judge(case.check, case, nd(central), reference) is None
    assert "factor of 2" in judge(case.check, case, nd(2 * central), reference)
    assert "integer x" in judge(case.check, case, nd(np.zeros(3)), reference)


def test_a_known_mistake_is_named_on_a_tuple_result(reference):
    from autograder.compare import tuple_of
    dZ, A, W = np.ones((2, 3)), np.arange(8.0).reshape(2, 4), np.arange(12.0).reshape(3, 4)
    right = (dZ @ W, dZ.T @ A, dZ.sum(axis=0))
    wrong_db = lambda dZ, A, W: (dZ @ W, dZ.T @ A, dZ.mean(axis=0))
    check = Matches(form=tuple_of(FLOAT_ARRAY, FLOAT_ARRAY, FLOAT_ARRAY), known={"db is a mean, not a sum": wrong_db})
    case = Case("backprop.dense_backward", (dZ, A, W), check)
    tup = lambda values: Value("tuple", items=[nd(v) for v in values])
    assert judge(check, case, tup(right), reference) is None
    message = judge(check, case, tup(wrong_db(dZ, A, W)), reference)
    assert message.startswith("result[2]: ") and "Likely mistake: db is a mean, not a sum" in message
    # the same db with another item wrong as well is not that mistake
    other = (dZ @ W + 1.0, dZ.T @ A, dZ.mean(axis=0))
    assert "db is a mean" not in judge(check, case, tup(other), reference)


def test_a_finding_keeps_its_parts_and_can_drop_its_values(reference):
    import pickle
    z = np.array([-1.0, 0.5, 2.0])
    case = Case("activations.tanh", (z,), Matches())
    message = judge(case.check, case, nd(np.tanh(z) + 0.123456), reference)
    assert isinstance(message, compare.Finding) and "expected" in message and "0.123" in message
    assert pickle.loads(pickle.dumps(message)) == message
    brief = message.without_values()
    assert brief == "result: 3 of 3 values differ" and "expected" not in brief
