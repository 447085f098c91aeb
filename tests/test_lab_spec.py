"""The lab's grading spec: points, coverage of the contract, isolation order, hidden cases."""
import ast
import json

import numpy as np
import pytest

from autograder.cases import Case, Matches
from autograder.labs import prepare


@pytest.fixture(scope="module")
def prepared(lab, settings):
    return prepare(lab, settings)


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


WIDE_MARGIN = 0.035  # wider than the raw points' distance from the kink (0.0059) and than networks 2 and 3 at their first draw (0.031, 0.033)


def test_gradient_check_points_keep_away_from_the_kinks(lab, settings):
    """The lab's raw gradient-check points already lie 0.0059 or more from the kink, so the
    default margin (1e-3) moves none: prepared with a margin wider than that, every relu and
    leaky_relu gradient-check point and every relu-type pre-activation of the networks must
    lie at least that far from 0 (so the margin is really applied, not merely never needed)."""
    raw = np.concatenate([z.ravel() for z in lab.spec.gradcheck_inputs(False, 0.0)])
    assert np.min(np.abs(raw)) < WIDE_MARGIN    # the margin has work to do
    wide = prepare(lab, settings.with_overrides(kink_margin=WIDE_MARGIN))
    checks = [c for c in wide.cases if c.name in ("relu_grad", "leaky_relu_grad") and c.label == "gradient check"]
    assert len(checks) >= 12
    for case in checks:
        assert np.min(np.abs(case.args[0])) >= WIDE_MARGIN, case.number
    mlp = lab.reference()["mlp"]
    networks = [c for c in wide.cases if c.name == "mlp_forward" and any("relu" in a for a in c.args[2])]
    assert len(networks) >= 2
    for case in networks:
        X, params, activations = case.args
        _, cache = mlp.mlp_forward(X, params, activations)
        for (_, Z), name in zip(cache, activations):
            if "relu" in name:
                assert np.min(np.abs(Z)) > WIDE_MARGIN, case.number


def test_a_case_given_a_function_graded_later_is_refused(lab, settings, tmp_path, monkeypatch):
    original = lab.make_cases

    def reordered(settings, reference):
        cases = original(settings, reference)
        late = Case("activations.sigmoid", (np.zeros(2),), Matches())
        return [c for c in cases] + [late]
    monkeypatch.setattr(lab, "make_cases", reordered)
    with pytest.raises(ValueError, match="which a later case grades"):
        prepare(lab, settings)


def test_a_plan_sends_no_reference_code_into_the_sandbox(lab):
    """Given helpers are the skeleton's public text, the student's own passing function, or a
    call back to the parent: no definition with a solution in it is ever sent as text."""
    from autograder.given import Planner
    from autograder.skeleton import strip_solutions
    planner = Planner(lab.reference_dir, lab.modules)
    passed = {"activations.sigmoid", "mlp.dense_forward"}
    plan = planner.plan(("mlp.mlp_forward",) + tuple(f"activations.{n}" for n in ("ACTIVATIONS", "sigmoid", "tanh")),
                        "mlp.predict", own=lambda name: name in passed)
    assert plan["names"]["activations.sigmoid"] == "own" and plan["names"]["activations.tanh"] == "call"
    assert plan["names"]["mlp.dense_forward"] == "own" and plan["names"]["mlp.mlp_forward"] == "call"
    assert plan["names"]["activations.ACTIVATIONS"] == "public" and plan["names"]["mlp.activate"] == "public"
    assert "mlp.predict" not in plan["names"]
    skeleton = "".join(strip_solutions((lab.reference_dir / f"{m}.py").read_text()) for m in lab.modules)
    reference = "".join(lab.reference_sources().values())
    for module, public in plan["public"].items():
        in_skeleton = {node.name if hasattr(node, "name") else ast.unparse(node.targets[0]): ast.dump(node)
                       for node in ast.parse(strip_solutions((lab.reference_dir / f"{module}.py").read_text())).body
                       if isinstance(node, (ast.FunctionDef, ast.Assign))}
        for node in ast.parse(public["text"]).body:
            if isinstance(node, (ast.FunctionDef, ast.Assign)):
                name = node.name if hasattr(node, "name") else ast.unparse(node.targets[0])
                assert ast.dump(node) == in_skeleton[name], name   # the skeleton's text, word for word
        assert "raise NotImplementedError" not in public["text"]
    solution_lines = {line.strip() for line in reference.splitlines()} - {line.strip() for line in skeleton.splitlines()}
    sent = json.dumps(plan)
    assert not [line for line in solution_lines if len(line) > 12 and line in sent]
