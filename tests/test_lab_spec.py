"""The lab's grading spec: points, coverage of the contract, isolation order, hidden cases."""
import numpy as np
import pytest

from autograder.cases import Case, Matches
from autograder.labs import prepare


@pytest.fixture(scope="module")
def prepared(lab, settings, tmp_path_factory):
    return prepare(lab, settings, tmp_path_factory.mktemp("cases"))


def test_points_follow_the_contract(lab, prepared):
    assert lab.points == {"tlu": 15, "activations": 25, "forward": 20, "backprop": 30, "training": 10}
    assert sum(prepared.shares.values()) == pytest.approx(100)


def test_every_graded_function_has_public_and_hidden_cases(prepared):
    for function in prepared.shares:
        kinds = {c.hidden for c in prepared.cases if c.function == function}
        assert kinds == {True, False}, f"{function} needs both public and hidden cases"


def test_weights_are_never_square(prepared):
    for case in prepared.cases:
        if case.name in ("dense_forward", "perceptron_layer", "dense_backward"):
            W = case.args[1] if case.name != "dense_backward" else case.args[2]
            assert W.ndim == 2 and W.shape[0] != W.shape[1], case.number


def test_edge_values_are_covered(prepared):
    def any_case(name, predicate):
        return any(predicate(c) for c in prepared.cases if c.name == name)
    for name in ("heaviside", "sign", "relu_grad", "leaky_relu_grad"):
        assert any_case(name, lambda c: np.any(c.args[0] == 0)), name
    for name in ("sigmoid", "softmax"):
        assert any_case(name, lambda c: np.max(np.abs(c.args[0])) >= 1e3), name
    assert any_case("cross_entropy", lambda c: np.any(c.args[0][np.arange(len(c.args[1])), c.args[1]] == 0))
    assert any_case("train", lambda c: c.kwargs.get("loss") == "mse")
    assert any_case("train", lambda c: c.kwargs.get("seed", 0) != 0 and c.kwargs.get("lr") != 0.5)
    assert any_case("tlu", lambda c: c.kwargs.get("step") == "sign" or any(a == "sign" for a in c.args if isinstance(a, str)))
    assert any_case("leaky_relu_grad", lambda c: c.kwargs.get("alpha", 0.01) != 0.01)
    assert any_case("perceptron_train", lambda c: "epochs" in c.kwargs and "lr" in c.kwargs)
    assert any_case("mlp_backward", lambda c: len(c.args[1]) == 4) and any_case("mlp_backward", lambda c: len(c.args[1]) == 1)


def test_gradient_check_points_keep_away_from_the_kinks(prepared, settings):
    for case in prepared.cases:
        if case.name in ("relu_grad", "leaky_relu_grad") and case.label == "gradient check":
            assert np.min(np.abs(case.args[0])) >= settings.kink_margin


def test_a_case_given_a_function_graded_later_is_refused(lab, settings, tmp_path, monkeypatch):
    original = lab.make_cases

    def reordered(settings, reference):
        cases = original(settings, reference)
        late = Case("activations.sigmoid", (np.zeros(2),), Matches())
        return [c for c in cases] + [late]
    monkeypatch.setattr(lab, "make_cases", reordered)
    with pytest.raises(ValueError, match="which a later case grades"):
        prepare(lab, settings, tmp_path)


def test_given_sources_hold_only_what_was_asked(lab):
    from autograder.labs import given_sources
    sources = given_sources(lab.reference_sources(), ["mlp.dense_forward"])
    assert list(sources) == ["mlp"]
    assert "def dense_forward" in sources["mlp"] and "def mlp_forward" not in sources["mlp"]
