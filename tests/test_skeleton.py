"""The student skeletons are generated from the reference and never drift from it."""
import importlib.util
import subprocess
import sys

import pytest

from autograder.skeleton import MarkerError, skeleton_files, strip_markers, strip_solutions

CONTRACT = {
    "tlu": ["heaviside", "sign", "tlu", "perceptron_layer", "perceptron_train"],
    "activations": ["sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu",
                    "leaky_relu_grad", "softmax", "softmax_jacobian"],
    "mlp": ["dense_forward", "mlp_forward", "predict"],
    "backprop": ["one_hot", "cross_entropy", "mse", "dense_backward", "mlp_backward", "numerical_gradient",
                 "gradient_descent_step", "train"],
}


def test_committed_skeletons_match_the_reference(lab):
    for name, text in skeleton_files(lab.reference_dir, lab.modules).items():
        assert (lab.assignment_dir / name).read_text() == text, \
            f"{name} drifted from the reference: run `python -m autograder skeleton`"


def test_skeleton_check_command_reports_drift(lab, tmp_path, monkeypatch):
    from autograder import cli
    assert cli.main(["skeleton", "--check"]) == 0
    path = lab.assignment_dir / "tlu.py"
    original = path.read_text()
    try:
        path.write_text(original + "\n# an edit by hand\n")
        assert cli.main(["skeleton", "--check"]) == 1
    finally:
        path.write_text(original)


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_skeleton_imports_and_every_function_raises_with_a_hint(lab):
    code = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[1])\n"
        "import tlu, activations, mlp, backprop\n"
        "import json; contract = json.loads(sys.argv[2]); out = {}\n"
        "for module, names in contract.items():\n"
        "    for name in names:\n"
        "        try:\n"
        "            f = getattr(sys.modules[module], name)\n"
        "            required = f.__code__.co_argcount - len(f.__defaults__ or ())\n"
        "            args = [np.zeros((2, 2))] * required if name != 'train' else [np.zeros((2, 2)), np.zeros(2), [2, 2], ['softmax']]\n"
        "            f(*args)\n"
        "            out[name] = 'returned'\n"
        "        except NotImplementedError as e:\n"
        "            out[name] = str(e)\n"
        "        except Exception as e:\n"
        "            out[name] = 'other ' + type(e).__name__\n"
        "print(json.dumps(out))\n")
    import json
    result = subprocess.run([sys.executable, "-c", code, str(lab.assignment_dir), json.dumps(CONTRACT)],
                            capture_output=True, text=True, check=True)
    out = json.loads(result.stdout)
    for names in CONTRACT.values():
        for name in names:
            assert out[name].startswith(f"{name}: "), f"{name}: {out[name]}"
            assert len(out[name]) > len(name) + 10, f"{name} has no hint"


def test_given_helpers_are_complete_in_the_skeleton(lab):
    import numpy as np
    sys.path.insert(0, str(lab.assignment_dir))
    try:
        activations = load(lab.assignment_dir / "activations.py", "activations")
        sys.modules["activations"] = activations
        mlp = load(lab.assignment_dir / "mlp.py", "skeleton_mlp")
        z = np.array([-1.0, 0.0, 2.0])
        assert np.array_equal(activations.identity(z), z)
        assert np.array_equal(activations.identity_grad(z), np.ones(3))
        params = mlp.init_params([3, 4, 2], seed=1)
        rng = np.random.default_rng(1)
        W1 = rng.normal(0.0, np.sqrt(2.0 / 3), size=(4, 3))
        assert np.array_equal(params[0][0], W1) and params[1][0].shape == (2, 4)
    finally:
        sys.path.remove(str(lab.assignment_dir))
        sys.modules.pop("activations", None)


def test_reference_functions_all_have_markers_and_docstrings(lab):
    for module, names in CONTRACT.items():
        text = (lab.reference_dir / f"{module}.py").read_text()
        for name in names:
            body = text.split(f"def {name}(", 1)[1].split("\ndef ", 1)[0]
            assert "# BEGIN SOLUTION hint: " in body, f"{module}.{name} has no solution block"
            assert '"""' in body, f"{module}.{name} has no docstring"


@pytest.mark.parametrize("source, problem", [
    ("def f():\n    # BEGIN SOLUTION hint: x\n    return 1\n", "never ends"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "without BEGIN"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", "needs 'hint"),
])
def test_unpaired_markers_are_refused(source, problem):
    with pytest.raises(MarkerError, match=problem):
        strip_solutions(source)


def test_strip_solutions_and_strip_markers_on_a_small_module():
    source = "def f(x):\n    \"\"\"doc\"\"\"\n    # BEGIN SOLUTION hint: double it\n    return 2 * x\n    # END SOLUTION\n"
    assert strip_solutions(source) == "def f(x):\n    \"\"\"doc\"\"\"\n    raise NotImplementedError('f: double it')\n"
    assert strip_markers(source) == "def f(x):\n    \"\"\"doc\"\"\"\n    return 2 * x\n"
