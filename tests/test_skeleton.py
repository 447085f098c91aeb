"""The student skeletons are generated from the reference and never drift from it."""
import importlib.util
import json
import re
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


# ---------------------------------------------------------------------------- the hints
# A hint names the idea, the equation and the trap; it never writes the code. Code looks like
# this: a NumPy call, a matrix product, a transpose attribute, an axis argument, an in-place
# operator, indexing, a method call or an assignment from a call.
CODE = re.compile(r"\bnp\.\w+\(|@|\.T\b|\baxis\s*=|keepdims|[-+*/]=|\w\[|\.\w+\(|\w\s*=\s*[A-Za-z_]\w*\(|\*\*")
WRAPPER = re.compile(r"np\.(?:asarray|array)\((\w+)(?:,dtype=float)?\)")


def hints_and_solutions(lab):
    """[(module, function, hint, [solution lines])] of every solution block of the reference."""
    from autograder.skeleton import BEGIN, DEF, END
    blocks = []
    for module in lab.modules:
        function, block = None, None
        for line in (lab.reference_dir / f"{module}.py").read_text().splitlines():
            if block is None and (m := DEF.match(line)):
                function = m.group("name")
            if m := BEGIN.match(line):
                block = (module, function, m.group("hint"), [])
            elif END.match(line):
                blocks.append(block)
                block = None
            elif block is not None:
                block[3].append(line.strip())
    return blocks


def squeeze(text):
    """Code without spaces and without the float conversions that do not change its meaning."""
    return WRAPPER.sub(r"\1", re.sub(r"\s+", "", text))


def giveaways(hint, solution):
    """Why `hint` gives the code away (empty when it does not)."""
    found = [f"code {m.group(0)!r}" for m in CODE.finditer(hint)]
    short = squeeze(hint)
    for line in solution:
        code = squeeze(line.split("#")[0])
        rhs = code.split("=", 1)[1] if re.match(r"^[\w,]+=[^=]", code) else code
        if len(re.sub(r"\W", "", rhs)) >= 6 and rhs in short:
            found.append(f"the solution line {line!r}")
    return found


def test_no_hint_gives_the_code_away(lab):
    blocks = hints_and_solutions(lab)
    assert len(blocks) == 26
    problems = {f"{m}.{f}": giveaways(hint, solution) for m, f, hint, solution in blocks}
    assert not {k: v for k, v in problems.items() if v}


@pytest.mark.parametrize("hint, solution", [
    ("dW = dZ.T @ A_prev, db = dZ summed over axis 0 (not averaged), dA_prev = dZ @ W",
     ["dW = dZ.T @ np.asarray(A_prev, dtype=float)", "db = dZ.sum(axis=0)"]),
    ("build new arrays (W - lr * dW, b - lr * db); do not use -= on the old ones",
     ["return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]"]),
    ("for each epoch: out, cache = mlp_forward(...); append LOSSES[loss](out, Y)", ["out, cache = mlp_forward(X, params, activations)"]),
    ("subtract the max of each row (axis=-1, keepdims=True), exponentiate, divide by the row sum", ["e = np.exp(Z)"]),
    ("out, _ = mlp_forward(...); one output unit: (out[:, 0] >= 0.5) as int; else argmax over axis 1",
     ["return (out[:, 0] >= 0.5).astype(int)"]),
    ("z = X @ w + b (eq. (1) plus the bias), then the named step", ["return step_fn(np.asarray(X) @ np.asarray(w) + b)"]),
    ("with s = sigmoid(z), return s times one minus s", ["s = sigmoid(z)"]),
])
def test_the_giveaway_check_catches_code_in_a_hint(hint, solution):
    """The hints this kit had before: each one gives the code away."""
    assert giveaways(hint, solution)


def test_sigmoid_hint_uses_the_stable_form(lab):
    hints = {f: hint for _, f, hint, _ in hints_and_solutions(lab)}
    assert "e^-|z|" in hints["sigmoid"] and "np.where computes both branches" in hints["sigmoid"]
    assert "e^z / (1 + e^z)" not in hints["sigmoid"]


EQ16_ASCII = "phi'(z) = 2 phi(2z) - 1"
EQ16_LATEX = r"\varphi'(z) = 2\varphi(2z) - 1"
FORMULA = re.compile(r"\(2z\)")


def student_texts(lab):
    """{where: text} of everything students read about the lab."""
    texts = {f"{m}.py (reference)": (lab.reference_dir / f"{m}.py").read_text() for m in lab.modules}
    texts["checks.py"] = (lab.assignment_dir / "checks.py").read_text()
    nb = json.loads(next(lab.assignment_dir.glob("*.ipynb")).read_text())
    texts["notebook"] = "\n".join("".join(c["source"]) for c in nb["cells"])
    return texts


def test_eq16_is_quoted_as_the_slide_writes_it(lab):
    """Where a text gives a formula beside eq. (16), it is the slide's: phi'(z) = 2 phi(2z) - 1."""
    # the slides' own wording of eq. (16): tests/test_contract.py::test_the_slides_write_eq_16_as_the_contract_quotes_it
    quoted = 0
    for where, text in student_texts(lab).items():
        paragraphs = re.split(r"\n\s*\n|\n(?=\s*\"\w+\":)|\n(?=\s*# BEGIN)", text)
        for paragraph in paragraphs:
            if "(16)" in paragraph and FORMULA.search(paragraph):
                assert EQ16_ASCII in paragraph or EQ16_LATEX in paragraph, f"{where}: {paragraph}"
                quoted += 1
    assert quoted >= 4
