"""The public self-checks (assignments/lab17_backprop/checks.py and tests/<question>.py).

- With the reference modules every question passes; with the untouched skeleton every question
  fails with "not written yet" lines, exit status 1 and no traceback.
- Every kind of check is shown able to fail: a deliberately wrong module (one line of the
  reference replaced) must make the right check FAIL, and its message must name the function
  and the equation to reread (the way autograd tests its checker on a wrong derivative).
- grader.check runs the checks through Otter's OK-format tests and shows the FAIL text.

Everything runs in subprocesses on copies of the assignment folder in tmp_path, so the student
modules (activations, mlp, ...) never enter this process's sys.modules.
"""
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = ROOT / "assignments" / "lab17_backprop"
SOLUTIONS = ROOT / "solutions" / "lab17_backprop"
MODULES = ["tlu.py", "activations.py", "mlp.py", "backprop.py"]
POINTS = {"tlu": 15, "activations": 25, "forward": 20, "backprop": 30, "training": 10}
CONTRACT = {  # question: the contract's functions, each graded by at least one check
    "tlu": ["heaviside", "sign", "tlu", "perceptron_layer", "perceptron_train"],
    "activations": ["sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu",
                    "leaky_relu_grad", "softmax", "softmax_jacobian", "ACTIVATIONS"],
    "forward": ["dense_forward", "mlp_forward", "predict"],
    "backprop": ["one_hot", "cross_entropy", "mse", "dense_backward", "mlp_backward", "numerical_gradient"],
    "training": ["gradient_descent_step", "train"],
}
TIMEOUT = 60  # seconds for one subprocess; the whole file takes well under 40 s


def _copy_assignment(dest, reference=True):
    work = dest / "lab17_backprop"
    shutil.copytree(ASSIGNMENT, work, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    if reference:
        for name in MODULES:
            shutil.copy(SOLUTIONS / name, work / name)
    return work


def _run(work, *args):
    proc = subprocess.run([sys.executable, *args], cwd=work, capture_output=True, text=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout + proc.stderr


def _checks(work, *questions):
    return _run(work, "checks.py", *questions)


def _blocks(output):
    """The PASS/FAIL entries of a checks.py run: each a header line and its indented detail."""
    blocks = []
    for line in output.splitlines():
        if line.startswith(("PASS", "FAIL")):
            blocks.append(line)
        elif line.startswith("      ") and blocks:
            blocks[-1] += "\n" + line.strip()
    return blocks


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _copy_assignment(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def skeleton(tmp_path_factory):
    return _copy_assignment(tmp_path_factory.mktemp("skeleton"), reference=False)


# --- the file itself ------------------------------------------------------------------------
def test_checks_use_only_stdlib_and_numpy():
    tree = ast.parse((ASSIGNMENT / "checks.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"numpy"}
    assert imported <= allowed, f"checks.py imports {sorted(imported - allowed)}; it ships with stdlib + numpy only"


def test_checks_do_not_contain_the_reference_solution():
    """No line of a reference # BEGIN SOLUTION region appears in checks.py."""
    checks_lines = {line.strip() for line in (ASSIGNMENT / "checks.py").read_text(encoding="utf-8").splitlines()}
    leaked = []
    for name in MODULES:
        inside = False
        for line in (SOLUTIONS / name).read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("# BEGIN SOLUTION"):
                inside = True
            elif stripped.startswith("# END SOLUTION"):
                inside = False
            elif inside and len(stripped) >= 20 and not stripped.startswith("#") and stripped in checks_lines:
                leaked.append(f"{name}: {stripped}")
    assert not leaked, "reference code copied into checks.py:\n" + "\n".join(leaked)


def test_registry_covers_every_contract_function(reference):
    code = "import checks; print({q: sorted({c.target for c in cs}) for q, cs in checks.CHECKS.items()})"
    rc, out = _run(reference, "-c", code)
    assert rc == 0, out
    targets = ast.literal_eval(out.strip().splitlines()[-1])
    assert set(targets) == set(CONTRACT)
    for question, functions in CONTRACT.items():
        assert sorted(functions) == targets[question], f"{question}: checks grade {targets[question]}"


@pytest.mark.parametrize("question", list(POINTS))
def test_ok_format_test_files(question):
    spec = {}
    exec((ASSIGNMENT / "tests" / f"{question}.py").read_text(encoding="utf-8"), spec)
    assert spec["OK_FORMAT"] is True
    test = spec["test"]
    assert test["name"] == question and test["points"] == POINTS[question]
    (case,) = test["suites"][0]["cases"]
    assert case["hidden"] is False
    assert f"checks.run('{question}', quiet=True)" in case["code"]


# --- reference and skeleton -------------------------------------------------------------------
def test_reference_passes_every_question(reference):
    rc, out = _checks(reference)
    assert rc == 0, out
    assert "FAIL" not in out
    assert "Traceback" not in out
    assert re.search(r"Summary: all \d+ checks passed", out), out
    for question in POINTS:
        assert re.search(rf"^{question} \(.*\): all \d+ checks passed$", out, re.M), out


def test_skeleton_fails_every_question_with_not_written_lines(skeleton):
    rc, out = _checks(skeleton)
    assert rc == 1, out
    assert "Traceback" not in out, out
    for functions in CONTRACT.values():
        for fn in functions:
            if fn != "ACTIVATIONS":  # a given dict: it already holds the right pairs
                assert out.count(f"FAIL  {fn}: not written yet (NotImplementedError)") >= 1, f"{fn}:\n{out}"
    for question in POINTS:
        assert re.search(rf"^{question} \(.*\): \d+ of \d+ checks passed, \d+ FAILED$", out, re.M), out
    # one line per unwritten function, however many checks wait for it
    assert out.count("FAIL  sigmoid: not written yet") == 1


def test_one_question_and_bad_name(skeleton, reference):
    rc, out = _checks(reference, "backprop")
    assert rc == 0 and "== backprop" in out and "== tlu" not in out, out
    rc, out = _checks(skeleton, "training")
    assert rc == 1 and "train: not written yet" in out, out
    rc, out = _checks(reference, "nope")
    assert rc == 2 and "unknown question" in out and "Traceback" not in out, out


def test_run_returns_true_or_raises_assertion_error(skeleton, reference):
    rc, out = _run(reference, "-c", "import checks; print('result', checks.run('tlu', quiet=True))")
    assert rc == 0 and out.strip() == "result True", out
    rc, out = _run(reference, "-c", "import checks; checks.run('forward')")
    assert rc == 0 and "PASS  dense_forward" in out, out  # not quiet: the same lines as the command line
    code = ("import checks\ntry:\n    checks.run('tlu', quiet=True)\nexcept AssertionError as exc:\n"
            "    print('AssertionError:', exc)\n")
    rc, out = _run(skeleton, "-c", code)
    assert rc == 0, out
    assert out.startswith("AssertionError: tlu (") and "FAIL  heaviside: not written yet (NotImplementedError)" in out, out


# Other correct ways to write the functions, in every form the contract allows (einsum, tanh
# through the sigmoid, arrays instead of lists, tuples instead of lists, 0-d NumPy losses).
OTHER_CORRECT = [
    ("activations.py", "    return np.tanh(np.asarray(z, dtype=float))",
     "    return 2.0 * sigmoid(2.0 * np.asarray(z, dtype=float)) - 1.0"),
    ("activations.py", "    s = sigmoid(z)\n    return s * (1.0 - s)",
     "    e = np.exp(-np.abs(np.asarray(z, dtype=float)))\n    return e / (1.0 + e) ** 2"),
    ("activations.py", "    return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]",
     "    return np.einsum('...i,ij->...ij', s, eye) - np.einsum('...i,...j->...ij', s, s)"),
    ("tlu.py", "    return w, float(b), errors", "    return w, np.float64(b), np.array(errors)"),
    ("mlp.py", "    return np.asarray(X, dtype=float) @ np.asarray(W, dtype=float).T + b",
     "    return np.einsum('nd,od->no', np.asarray(X, dtype=float), np.asarray(W, dtype=float)) + b"),
    ("backprop.py", "    dW = dZ.T @ np.asarray(A_prev, dtype=float)",
     "    dW = np.einsum('no,ni->oi', dZ, np.asarray(A_prev, dtype=float))"),
    ("backprop.py", "    return float(-np.mean(np.log(picked)))", "    return -np.mean(np.log(picked))"),
    ("backprop.py", "    return grads", "    return tuple(grads)"),
    ("backprop.py", "    return params, losses", "    return tuple(params), np.array(losses)"),
]


def test_other_correct_implementations_pass(tmp_path):
    work = _copy_assignment(tmp_path)
    for module, old, new in OTHER_CORRECT:
        source = (work / module).read_text(encoding="utf-8")
        assert source.count(old) == 1, f"the reference {module} no longer contains {old!r}; update this test"
        (work / module).write_text(source.replace(old, new), encoding="utf-8")
    rc, out = _checks(work)
    assert rc == 0, out


# --- every kind of check can fail -------------------------------------------------------------
# (id, module, [(reference text, wrong text)], question, function named, fragments of the message)
WRONG = [
    ("heaviside_tie", "tlu.py", [("np.where(z >= 0, 1.0, 0.0)", "np.where(z > 0, 1.0, 0.0)")],
     "tlu", "heaviside", ["heaviside(0) = 1", "Common step functions"]),
    ("layer_no_transpose", "tlu.py", [("np.asarray(X) @ np.asarray(W).T + b", "np.asarray(X) @ np.asarray(W) + b")],
     "tlu", "perceptron_layer", ["raised ValueError", "tlu.py, line", "eq. (1)"]),
    ("sigmoid_overflows", "activations.py",
     [("    e = np.exp(-np.abs(z))  # never overflows: the exponent is <= 0\n"
       "    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))", "    return 1.0 / (1.0 + np.exp(-z))")],
     "activations", "sigmoid", ["RuntimeWarning", "overflow", "eq. (13)"]),
    ("sigmoid_grad_at_output", "activations.py",
     [("    s = sigmoid(z)\n    return s * (1.0 - s)", "    z = np.asarray(z, dtype=float)\n    return z * (1.0 - z)")],
     "activations", "sigmoid_grad", ["as if z were the output", "eq. (14)", "expected 0.25, got 0"]),
    ("sigmoid_grad_sigmoid_twice", "activations.py",
     [("    s = sigmoid(z)\n    return s * (1.0 - s)", "    s = sigmoid(sigmoid(z))\n    return s * (1.0 - s)")],
     "activations", "sigmoid_grad", ["sigmoid applied twice", "eq. (14)", "expected 0.25, got 0.235"]),
    ("tanh_grad_eq16", "activations.py",
     [("    t = np.tanh(np.asarray(z, dtype=float))\n    return 1.0 - t * t",
       "    return 2.0 * sigmoid(2.0 * np.asarray(z, dtype=float)) - 1.0")],
     "activations", "tanh_grad", ["returns tanh(z) itself", "eq. (16), phi'(z) = 2 phi(2z) - 1", "1 - tanh(z)^2"]),
    ("tanh_grad_eq16_literal", "activations.py",
     [("    t = np.tanh(np.asarray(z, dtype=float))\n    return 1.0 - t * t",
       "    return 2.0 * np.tanh(2.0 * np.asarray(z, dtype=float)) - 1.0")],
     "activations", "tanh_grad", ["coded the slide's eq. (16)", "phi'(z) = 2 phi(2z) - 1", "1 - tanh(z)^2"]),
    ("sigmoid_where_both_branches", "activations.py",
     [("    e = np.exp(-np.abs(z))  # never overflows: the exponent is <= 0\n"
       "    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
       "    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z)))")],
     "activations", "sigmoid", ["RuntimeWarning", "e = e^-|z|", "np.where computes both branches"]),
    ("relu_grad_at_0", "activations.py",
     [("np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0)", "np.where(np.asarray(z, dtype=float) >= 0, 1.0, 0.0)")],
     "activations", "relu_grad", ["relu'(0) = 0", "eq. (18)", "index (1,): expected 0, got 1"]),
    ("leaky_relu_grad_zero", "activations.py", [("np.where(z > 0, 1.0, alpha)", "np.where(z > 0, 1.0, 0.0)")],
     "activations", "leaky_relu_grad", ["alpha (not 0)", "Fig. 11-2"]),
    ("softmax_axis0", "activations.py",
     [("e = np.exp(Z - Z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
       "e = np.exp(Z - Z.max(axis=0, keepdims=True))\n    return e / e.sum(axis=0, keepdims=True)")],
     "activations", "softmax", ["rows do not sum to 1", "axis 0", "Fig. 10-9", "shape (4, 3)"]),
    ("jacobian_transposed_sign", "activations.py",
     [("return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]",
       "return s[..., :, None] * eye + s[..., :, None] * s[..., None, :]")],
     "activations", "softmax_jacobian", ["relative error", "delta_ij - s_j"]),
    ("cache_holds_activation", "mlp.py",
     [("        cache.append((A, Z))\n        A = activate(Z, name)",
       "        A_next = activate(Z, name)\n        cache.append((A, A_next))\n        A = A_next")],
     "forward", "mlp_forward", ["cache[0][1] should be Z1", "eqs. (6)-(12)", "cache[l] = (A_prev, Z)"]),
    ("predict_float", "mlp.py", [("return np.argmax(out, axis=1)", "return np.argmax(out, axis=1).astype(float)")],
     "forward", "predict", ["expected an integer dtype", "Fig. 10-9"]),
    ("mse_mean_over_entries", "backprop.py",
     [("np.sum(diff * diff) / (2.0 * diff.shape[0])", "np.mean(diff * diff) / 2.0")],
     "backprop", "mse", ["expected 2.5", "(1 / 2N)"]),
    ("dW_transposed", "backprop.py",
     [("dW = dZ.T @ np.asarray(A_prev, dtype=float)", "dW = np.asarray(A_prev, dtype=float).T @ dZ")],
     "backprop", "dense_backward", ["returned shape (3, 4), expected (4, 3)", "dW = dZ^T A_prev", "checking dW"]),
    ("db_averaged", "backprop.py", [("db = dZ.sum(axis=0)", "db = dZ.mean(axis=0)")],
     "backprop", "dense_backward", ["not averaged", "checking db"]),
    ("mlp_backward_no_1_over_N", "backprop.py",
     [("dZ = (softmax(Z_L) - one_hot(Y, Z_L.shape[1])) / N", "dZ = softmax(Z_L) - one_hot(Y, Z_L.shape[1])")],
     "backprop", "mlp_backward", ["N = 6", "1/N", "dZ_L = (softmax(Z_L) - one_hot(Y)) / N"]),
    ("mlp_backward_grad_at_A", "backprop.py",
     [("dZ = dA_prev * ACTIVATIONS[activations[l - 1]][1](cache[l - 1][1])",
       "dZ = dA_prev * ACTIVATIONS[activations[l - 1]][1](cache[l][0])")],
     "backprop", "mlp_backward", ["phi'(Z) at the pre-activation", "grads[0]"]),
    ("numerical_gradient_forward", "backprop.py",
     [("        x[i] = old - h\n        f_minus = f(x.copy())", "        x[i] = old\n        f_minus = f(x.copy())"),
      ("g[i] = (f_plus - f_minus) / (2.0 * h)", "g[i] = (f_plus - f_minus) / h")],
     "backprop", "numerical_gradient", ["forward differences", "allowed 1e-07", "central differences"]),
    ("registry_wrong_pair", "activations.py", [('"tanh": (tanh, tanh_grad),', '"tanh": (tanh, sigmoid_grad),')],
     "activations", "ACTIVATIONS", ["ACTIVATIONS['tanh'] is (tanh, sigmoid_grad), expected (tanh, tanh_grad)", "Part B"]),
    ("cross_entropy_unclipped", "backprop.py",
     [("picked = np.clip(P[np.arange(P.shape[0]), y], 1e-12, 1.0)", "picked = P[np.arange(P.shape[0]), y]")],
     "backprop", "cross_entropy", ["RuntimeWarning: divide by zero", "clip P to [1e-12, 1]"]),
    ("one_hot_width", "backprop.py",
     [("out = np.zeros((y.shape[0], num_classes))", "out = np.zeros((y.shape[0], y.max() + 1))")],
     "backprop", "one_hot", ["returned shape (2, 2), expected (2, 4)", "num_classes"]),
    ("step_goes_uphill", "backprop.py", [("return [(W - lr * dW, b - lr * db)", "return [(W + lr * dW, b + lr * db)")],
     "training", "gradient_descent_step", ["W - lr * dW", "W <- W - lr dW"]),
    ("step_in_place", "backprop.py",
     [("    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]",
       "    for (W, b), (dW, db) in zip(params, grads):\n        W -= lr * dW\n        b -= lr * db\n    return list(params)")],
     "training", "gradient_descent_step", ["changed its input params in place", "new arrays"]),
    ("train_loss_after_update", "backprop.py",
     [("        losses.append(LOSSES[loss](out, Y))\n        grads = mlp_backward(Y, params, cache, activations, loss)\n"
       "        params = gradient_descent_step(params, grads, lr)",
       "        grads = mlp_backward(Y, params, cache, activations, loss)\n"
       "        params = gradient_descent_step(params, grads, lr)\n"
       "        losses.append(LOSSES[loss](mlp_forward(X, params, activations)[0], Y))")],
     "training", "train", ["losses[0] is not the loss of the network before any update", "Part E"]),
]


@pytest.mark.parametrize("case", WRONG, ids=[w[0] for w in WRONG])
def test_a_wrong_module_fails_the_right_check(tmp_path, case):
    _, module, replacements, question, function, fragments = case
    work = _copy_assignment(tmp_path)
    source = (work / module).read_text(encoding="utf-8")
    for old, new in replacements:
        assert source.count(old) == 1, f"the reference {module} no longer contains {old!r}; update this test"
        source = source.replace(old, new)
    (work / module).write_text(source, encoding="utf-8")

    rc, out = _checks(work, question)
    assert rc == 1, out
    assert "Traceback" not in out, out
    failures = [b for b in _blocks(out) if b.startswith("FAIL")]
    named = [b for b in failures if f"\n{function}: " in b or b.startswith(f"FAIL  {function}:")]
    assert named, f"no FAIL names {function}:\n{out}"
    message = named[0]
    assert "reread" in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


def test_a_module_that_does_not_import_gives_one_line(tmp_path):
    work = _copy_assignment(tmp_path)
    path = work / "activations.py"
    path.write_text(path.read_text(encoding="utf-8") + "\ndef broken(:\n", encoding="utf-8")
    rc, out = _checks(work, "activations", "forward")
    assert rc == 1, out
    assert "Traceback" not in out, out
    assert out.count("FAIL  activations.py could not be imported: SyntaxError") == 1, out
    assert "FAIL  mlp.py could not be imported: SyntaxError" in out and "(activations.py, line" in out, out


def test_a_crash_is_one_line_that_points_into_the_student_file(tmp_path):
    work = _copy_assignment(tmp_path)
    path = work / "backprop.py"
    source = path.read_text(encoding="utf-8")
    old = "    return dA_prev, dW, db\n"
    assert source.count(old) == 1
    path.write_text(source.replace(old, "    return dA_prev, dW, db[None, :] + np.ones((2, 2))\n"), encoding="utf-8")
    rc, out = _checks(work, "backprop")
    assert rc == 1 and "Traceback" not in out, out
    assert re.search(r"dense_backward: raised ValueError: .*\(backprop\.py, line \d+, in dense_backward\)", out), out


# --- through Otter ------------------------------------------------------------------------------
OTTER_CHECK = "import otter; g = otter.Notebook(tests_dir='tests'); r = g.check({!r}); print(r)"


def test_grader_check_passes_with_the_reference(reference):
    rc, out = _run(reference, "-c", OTTER_CHECK.format("tlu"))
    assert rc == 0, out
    assert "tlu results: All test cases passed!" in out, out


def test_grader_check_shows_the_fail_lines(tmp_path):
    work = _copy_assignment(tmp_path)
    path = work / "activations.py"
    source = path.read_text(encoding="utf-8")
    path.write_text(source.replace("    s = sigmoid(z)\n    return s * (1.0 - s)",
                                   "    z = np.asarray(z, dtype=float)\n    return z * (1.0 - z)"), encoding="utf-8")
    rc, out = _run(work, "-c", OTTER_CHECK.format("activations"))
    assert rc == 0, out
    assert "Test case failed" in out, out
    assert "FAIL  sigmoid_grad: eq. (14) at z" in out, out
    assert "reread eq. (14)" in out, out
    assert "All test cases passed" not in out, out
