"""The judging pieces, each shown failing on a wrong input."""
import numpy as np
import pytest

from autograder import compare, gradcheck
from autograder.cases import Case, Matches, MatchesCallableGradient, MatchesDerivative
from autograder.compare import FLOAT_ARRAY, Mismatch, PAIRS, SCALAR, SEQUENCE
from autograder.config import DEFAULTS
from autograder.findings import Finding, Kind, Mistake, known, mistake
from autograder.values import Callable, Value

from words import english


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
    """The judge's Finding (a Mismatch's own one), or None when the value is right."""
    expected = check.expect(case, reference, settings)
    try:
        found = check.judge(case, node, expected, settings)
    except Mismatch as exc:
        found = exc.finding
    assert found is None or isinstance(found, Finding)
    return found


def test_matches_accepts_rounding_and_rejects_a_wrong_value(reference):
    z = np.array([-1.0, 0.0, 2.0])
    case = Case("activations.tanh", (z,), Matches())
    right = 2.0 / (1.0 + np.exp(-2 * z)) - 1.0  # the identity tanh = 2 sigma(2z) - 1: a few ulps off
    assert judge(case.check, case, nd(right), reference) is None
    found = judge(case.check, case, nd(right * (1 + 1e-5)), reference)
    assert found.kind == Kind.VALUES and found.where == "result"
    assert (found.param("wrong"), found.param("size")) == (2, 3)   # tanh(0) = 0 stays right
    assert "2 of 3 values differ" in english(found)


def test_the_form_is_part_of_the_contract(reference):
    z = np.array([-1.0, 0.0, 2.0])
    case = Case("activations.relu", (z,), Matches())
    listed = judge(case.check, case, Value("list", items=[Value("float", np.asarray(0.0))] * 3), reference)
    assert (listed.kind, listed.param("got"), listed.param("wanted")) == (Kind.TYPE, "list", "ndarray")
    assert "expected an ndarray" in english(listed)
    ints = judge(case.check, case, nd(np.array([0, 0, 2])), reference)
    assert (ints.kind, ints.param("got"), ints.param("wanted")) == (Kind.DTYPE, "int64", "float")
    assert "dtype int64" in english(ints)
    assert judge(case.check, case, Value("object"), reference).kind == Kind.OBJECT
    assert judge(case.check, case, Value("missing"), reference).kind == Kind.MISSING
    shaped = judge(case.check, case, nd(np.array([[0.0, 0.0, 2.0]])), reference)
    assert (shaped.kind, shaped.param("got"), shaped.param("expected")) == (Kind.SHAPE, (1, 3), (3,))
    assert "shape (1, 3), expected (3,)" in english(shaped)
    nan = judge(case.check, case, nd(np.array([0.0, np.nan, 2.0])), reference)
    assert (nan.kind, nan.param("count"), nan.param("index")) == (Kind.NOT_FINITE, 1, (1,))
    assert "not finite" in english(nan)


def test_likely_mistakes_are_named(reference):
    z = np.array([-1.0, 0.0, 2.0])
    relu_grad = Case("activations.relu_grad", (z,), Matches(zero_mask=True))
    tie = judge(relu_grad.check, relu_grad, nd([0.0, 1.0, 1.0]), reference)
    assert tie.kind == Kind.VALUES and tie.mistake == Mistake("only_at_zero")
    assert "wrong only where z = 0" in english(tie)
    X, W, b = np.ones((4, 3)), np.arange(6.0).reshape(2, 3), np.zeros(2)
    dense = Case("mlp.dense_forward", (X, W, b), Matches())
    expected = X @ W.T
    transposed = judge(dense.check, dense, nd(expected.T), reference)
    assert transposed.kind == Kind.SHAPE and transposed.param("hint") == "transposed"
    assert transposed.mistake == Mistake("transposed") and "transpose" in english(transposed)
    assert judge(dense.check, dense, nd(-expected), reference).mistake == Mistake("sign_flipped")
    scaled = Case("mlp.dense_forward", (X, W, b), Matches(factors=(("N", 4),)))
    times = judge(scaled.check, scaled, nd(expected * 4), reference)
    assert times.mistake == mistake("factor", name="N") and times.mistake.named
    assert "factor of N" in english(times)
    assert judge(scaled.check, scaled, nd(expected / 4), reference).mistake == mistake("factor", name="1/N")
    # a factor the case does not name measures the result: said, but not named (a hidden case drops it)
    other = judge(dense.check, dense, nd(expected * 3), reference).mistake
    assert other.key == "constant_factor" and other.param("value") == pytest.approx(3) and not other.named


def test_scalar_pairs_and_sequence_forms(reference):
    P, y = np.array([[0.7, 0.3], [0.2, 0.8]]), np.array([0, 1])
    ce = Case("backprop.cross_entropy", (P, y), Matches(form=SCALAR, rtol=1e-9))
    value = -np.mean(np.log([0.7, 0.8]))
    assert judge(ce.check, ce, Value("float", np.asarray(value)), reference) is None
    assert judge(ce.check, ce, Value("npscalar", np.asarray(value)), reference) is None
    vector = judge(ce.check, ce, nd([value, value]), reference)
    assert (vector.kind, vector.param("wanted")) == (Kind.TYPE, "number")
    assert "single number" in english(vector)
    params = [(np.ones((2, 3)), np.zeros(2))]
    grads = [(np.ones((2, 3)), np.ones(2))]
    gd = Case("backprop.gradient_descent_step", (params, grads, 0.5), Matches(form=PAIRS))
    good = Value("list", items=[Value("tuple", items=[nd(np.full((2, 3), 0.5)), nd(np.full(2, -0.5))])])
    assert judge(gd.check, gd, good, reference) is None
    unpaired = judge(gd.check, gd, Value("list", items=[nd(np.zeros(2))]), reference)
    assert (unpaired.kind, unpaired.where) == (Kind.PAIR, "result[0]")
    assert "expected a pair" in english(unpaired)
    assert compare.plain(Value("list", items=[Value("int", np.asarray(3))]), SEQUENCE, "x").tolist() == [3.0]


def test_derivative_check_fails_a_derivative_off_by_a_thousandth(reference):
    z = np.linspace(-3, 3, 13)
    case = Case("activations.sigmoid_grad", (z,), MatchesDerivative(forward="activations.sigmoid"))
    s = 1 / (1 + np.exp(-z))
    assert judge(case.check, case, nd(s * (1 - s)), reference) is None
    found = judge(case.check, case, nd(s * (1 - s) * 1.001), reference)
    assert found.kind == Kind.GRADCHECK and found.param("of") == "function"
    assert found.param("error") > found.param("tol") == DEFAULTS.gradcheck_tol
    message = english(found)
    assert "does not match the slope of the function" in message and "relative error" in message


def test_numerical_gradient_check_tells_forward_differences_apart(reference):
    f = Callable("coupled", (np.array([1.0, 2.0]), np.array([0.5, -1.0])))
    x = np.array([0.3, -0.7])
    case = Case("backprop.numerical_gradient", (f, x), MatchesCallableGradient(rtol=1e-6, atol=1e-7))
    central = gradcheck.central_difference(f, x, 1e-5)
    forward = np.array([(f(x + 1e-5 * e) - f(x)) / 1e-5 for e in np.eye(2)])
    assert judge(case.check, case, nd(central), reference) is None
    found = judge(case.check, case, nd(forward), reference)
    assert found.kind == Kind.VALUES and found.mistake == Mistake("forward_differences")
    assert "forward differences" in english(found)


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
    assert on_shifted.mistake == Mistake("not_restored") and "not put back" in english(on_shifted)
    on_forward = judge(case.check, case, nd(forward), reference)
    assert on_forward.mistake == Mistake("forward_differences") and "not put back" not in english(on_forward)
    assert judge(case.check, case, nd(backward), reference).mistake == Mistake("backward_differences")
    # an error of order h that none of the three explains is not named after any of them
    other = f.gradient(x) + 1e-4 * np.array([1.0, -3.0, 2.0])
    found = judge(case.check, case, nd(other), reference)
    assert found.kind == Kind.VALUES and found.mistake is None
    assert "differ" in english(found) and "Likely mistake" not in english(found)


def test_numerical_gradient_names_a_doubled_result_and_an_all_zero_one(reference):
    case, f, x = numgrad_case()
    central = gradcheck.central_difference(f, x, 1e-5)
    assert judge(case.check, case, nd(central), reference) is None
    doubled = judge(case.check, case, nd(2 * central), reference)
    assert doubled.mistake == mistake("factor", name="2") and "factor of 2" in english(doubled)
    zeros = judge(case.check, case, nd(np.zeros(3)), reference)
    assert zeros.mistake == Mistake("rounded_back") and "integer x" in english(zeros)


def test_a_known_mistake_is_named_on_a_tuple_result(reference):
    from autograder.compare import tuple_of
    dZ, A, W = np.ones((2, 3)), np.arange(8.0).reshape(2, 4), np.arange(12.0).reshape(3, 4)
    right = (dZ @ W, dZ.T @ A, dZ.sum(axis=0))
    wrong_db = lambda dZ, A, W: (dZ @ W, dZ.T @ A, dZ.mean(axis=0))
    check = Matches(form=tuple_of(FLOAT_ARRAY, FLOAT_ARRAY, FLOAT_ARRAY), known={"db is a mean, not a sum": wrong_db})
    case = Case("backprop.dense_backward", (dZ, A, W), check)
    tup = lambda values: Value("tuple", items=[nd(v) for v in values])
    assert judge(check, case, tup(right), reference) is None
    found = judge(check, case, tup(wrong_db(dZ, A, W)), reference)
    assert found.where == "result[2]" and found.mistake == known("db is a mean, not a sum") and found.mistake.named
    message = english(found)
    assert message.startswith("result[2]: ") and "Likely mistake: db is a mean, not a sum" in message
    # the same db with another item wrong as well is not that mistake
    other = judge(check, case, tup((dZ @ W + 1.0, dZ.T @ A, dZ.mean(axis=0))), reference)
    assert other.where == "result[0]" and other.mistake != known("db is a mean, not a sum")
    assert "db is a mean" not in english(other)


def test_a_finding_keeps_its_parts_and_can_drop_its_values(reference):
    import pickle
    z = np.array([-1.0, 0.5, 2.0])
    case = Case("activations.tanh", (z,), Matches())
    found = judge(case.check, case, nd(np.tanh(z) + 0.123456), reference)
    assert found.kind == Kind.VALUES and found.param("got") - found.param("expected") == pytest.approx(0.123456)
    assert "expected" in english(found) and "0.123" in english(found)
    assert pickle.loads(pickle.dumps(found)) == found
    brief = found.hidden()
    assert (brief.kind, brief.where, brief.params, brief.mistake) == (Kind.VALUES, "result", (), None)
    said = english(found, hidden=True)
    assert said == "result: values differ from the correct ones"
    assert not any(ch.isdigit() for ch in said) and "expected" not in said
