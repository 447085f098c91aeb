"""The public self-checks (assignments/lab17_backprop/checks.py on checklib/ and public_cases.json).

- checks.py is thin (under 500 lines) and ships with the standard library and NumPy only.
- With the reference modules every question passes; with the untouched skeleton every question
  fails with "not written yet" lines, exit status 1 and no traceback.
- Every check can fail: every mistake of the lab's bank (solutions/lab17_backprop/mistakes.py)
  makes a check of its part FAIL that names its function, with no traceback, and every variant
  of the bank passes; for a few of them the words are pinned. EXTRA_WRONG and EXTRA_CORRECT are
  the edits of this file's old private bank that the lab's bank does not hold (yet).
- grader.check runs the checks through Otter's OK-format tests and shows the FAIL text.

Everything runs in subprocesses on copies of the assignment folder in tmp_path, so the student
modules (activations, mlp, ...) never enter this process's sys.modules.
"""
import ast
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder import mutants
from autograder.labs import load_file

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = ROOT / "assignments" / "lab17_backprop"
SOLUTIONS = ROOT / "solutions" / "lab17_backprop"
CONTRACT = load_file(SOLUTIONS / "contract.py", "_contract_for_tests")
MODULES = [f"{m}.py" for m in CONTRACT.MODULES]
TIMEOUT = 120  # seconds for one subprocess


def copy_assignment(dest, reference=True, sources=None):
    work = dest / "lab17_backprop"
    shutil.copytree(ASSIGNMENT, work, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    if reference:
        for name in MODULES:
            shutil.copy(SOLUTIONS / name, work / name)
    for module, text in (sources or {}).items():
        (work / f"{module}.py").write_text(text, encoding="utf-8")
    return work


def run(work, *args):
    proc = subprocess.run([sys.executable, *args], cwd=work, capture_output=True, text=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout + proc.stderr


def checks(work, *questions):
    return run(work, "checks.py", *questions)


def blocks(output):
    """The PASS/FAIL entries of a checks.py run: each a header line and its indented detail."""
    found = []
    for line in output.splitlines():
        if line.startswith(("PASS", "FAIL")):
            found.append(line)
        elif line.startswith("      ") and found:
            found[-1] += "\n" + line.strip()
    return found


def naming(output, function):
    """The FAIL blocks that name `function` (in the title or as the function that failed)."""
    return [b for b in blocks(output) if b.startswith("FAIL") and (
        f"\n{function}: " in b or b.startswith(f"FAIL  {function}:") or f": {function}(" in b.splitlines()[0])]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return copy_assignment(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def skeleton(tmp_path_factory):
    return copy_assignment(tmp_path_factory.mktemp("skeleton"), reference=False)


@pytest.fixture(scope="module")
def bank(lab):
    return mutants.load_bank(lab)


# --- the file itself ------------------------------------------------------------------------
def test_checks_is_thin_and_uses_only_stdlib_numpy_and_checklib():
    assert len((ASSIGNMENT / "checks.py").read_text(encoding="utf-8").splitlines()) < 500
    for path in [ASSIGNMENT / "checks.py", *sorted((ASSIGNMENT / "checklib").glob("*.py"))]:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
        allowed = set(sys.stdlib_module_names) | {"numpy", "checklib"}
        assert imported <= allowed, f"{path.name} imports {sorted(imported - allowed)}; the handout has stdlib + numpy only"


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
    code = "import checks; print({q: sorted({c.function for c in cs}) for q, cs in checks.CHECKS.items()})"
    rc, out = run(reference, "-c", code)
    assert rc == 0, out
    targets = ast.literal_eval(out.strip().splitlines()[-1])
    assert list(targets) == list(CONTRACT.QUESTIONS)
    for question, spec in CONTRACT.QUESTIONS.items():
        assert set(spec["functions"]) <= set(targets[question]), f"{question}: checks grade {targets[question]}"


@pytest.mark.parametrize("question", list(CONTRACT.QUESTIONS))
def test_ok_format_test_files(question):
    spec = {}
    exec((ASSIGNMENT / "tests" / f"{question}.py").read_text(encoding="utf-8"), spec)
    assert spec["OK_FORMAT"] is True
    test = spec["test"]
    assert test["name"] == question and test["points"] == CONTRACT.QUESTIONS[question]["points"]
    (case,) = test["suites"][0]["cases"]
    assert case["hidden"] is False
    assert f"checks.run('{question}', quiet=True)" in case["code"]


# --- reference and skeleton -------------------------------------------------------------------
def test_reference_passes_every_question(reference):
    rc, out = checks(reference)
    assert rc == 0, out
    assert "FAIL" not in out and "Traceback" not in out, out
    assert re.search(r"Summary: all \d+ checks passed", out), out
    for question in CONTRACT.QUESTIONS:
        assert re.search(rf"^{question} \(.*\): all \d+ checks passed$", out, re.M), out


def test_skeleton_fails_every_question_with_not_written_lines(skeleton):
    rc, out = checks(skeleton)
    assert rc == 1, out
    assert "Traceback" not in out, out
    for spec in CONTRACT.QUESTIONS.values():
        for function in spec["functions"]:
            name = function.split(".")[1]
            assert out.count(f"FAIL  {name}: not written yet (raises NotImplementedError)") >= 1, f"{name}:\n{out}"
    for question in CONTRACT.QUESTIONS:
        assert re.search(rf"^{question} \(.*\): \d+ of \d+ checks passed, \d+ FAILED$", out, re.M), out
    sections = ("\n" + out).split("\n== ")[1:]   # the first section (tlu) starts the output: no newline before it
    assert [s.split()[0] for s in sections] == list(CONTRACT.QUESTIONS), out
    for section in sections:   # one line per unwritten function in a question, however many checks need it
        fails = [line for line in section.splitlines() if line.startswith("FAIL")]
        assert fails and len(fails) == len(set(fails)), section


def test_one_question_one_case_and_bad_names(skeleton, reference):
    rc, out = checks(reference, "backprop")
    assert rc == 0 and "== backprop" in out and "== tlu" not in out, out
    rc, out = checks(skeleton, "training")
    assert rc == 1 and "train: not written yet" in out, out
    rc, out = checks(reference, "nope")
    assert rc == 2 and "unknown question" in out and "Traceback" not in out, out
    rc, out = checks(reference, "--case", "0")
    assert rc == 0 and "== public case 0 ==" in out and len(re.findall("^PASS", out, re.M)) == 1, out
    rc, out = checks(skeleton, "--case", "0")
    assert rc == 1 and "FAIL  heaviside: not written yet" in out and "Summary: 0 of 1 checks passed" in out, out
    rc, out = checks(reference, "--case", "1")   # case 1 is hidden: it is not in the handout
    assert rc == 2 and "no public case 1: the public cases are 0, " in out and "Traceback" not in out, out


def test_run_returns_true_or_raises_assertion_error(skeleton, reference):
    rc, out = run(reference, "-c", "import checks; print('result', checks.run('tlu', quiet=True))")
    assert rc == 0 and out.strip() == "result True", out
    rc, out = run(reference, "-c", "import checks; checks.run('forward')")
    assert rc == 0 and "PASS  public case" in out and "dense_forward" in out, out  # the command line's lines
    code = ("import checks\ntry:\n    checks.run('tlu', quiet=True)\nexcept AssertionError as exc:\n"
            "    print('AssertionError:', exc)\n")
    rc, out = run(skeleton, "-c", code)
    assert rc == 0, out
    assert out.startswith("AssertionError: tlu (") and "FAIL  heaviside: not written yet (raises NotImplementedError)" in out, out


# --- every kind of check can fail: the lab's bank -------------------------------------------
def test_every_bank_mistake_fails_a_check_naming_its_function_and_every_variant_passes(tmp_path, lab, bank):
    reference = lab.reference_sources()
    entries = [(m, True) for m in bank.MISTAKES] + [(v, False) for v in bank.VARIANTS]

    def outcome(entry, wrong):
        work = copy_assignment(tmp_path / entry.name, reference=False, sources=bank.apply(entry.edits, reference))
        rc, out = checks(work, entry.part) if wrong else checks(work)
        return entry, wrong, rc, out

    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 1)) as pool:
        results = list(pool.map(lambda pair: outcome(*pair), entries))
    problems = []
    for entry, wrong, rc, out in results:
        if "Traceback" in out:
            problems.append(f"{entry.name}: a traceback\n{out}")
        elif wrong and (rc != 1 or not naming(out, entry.function)):
            problems.append(f"{entry.name}: no FAIL names {entry.function}\n{out}")
        elif not wrong and rc != 0:
            problems.append(f"variant {entry.name} fails\n{out}")
    assert not problems, "\n\n".join(problems[:5])


# (bank mistake, function named, fragments of its FAIL block): the words, pinned
WORDS = [
    ("heaviside_zero_at_zero", "heaviside", ["heaviside(0) = 0; the tie z = 0 must give 1", "Reproduce: python checks.py --case 0",
                                             "the docstring of heaviside and the notebook's Part A"]),
    ("sigmoid_grad_on_output", "sigmoid_grad", ["computed on the output", "eq. (14)"]),
    ("tanh_grad_eq16", "tanh_grad", ["the slide's eq. (16), phi'(z) = 2 phi(2z) - 1, read literally as 2 sigma(2z) - 1",
                                     "tanh'(z) = 1 - tanh(z)^2"]),
    ("relu_grad_one_at_zero", "relu_grad", ["relu'(0) = 1", "eq. (18)", "first at index (2,): expected 0, got 1"]),
    ("sigmoid_naive_overflow", "sigmoid", ["gave the warning RuntimeWarning", "it must stay warning-free", "eq. (13)"]),
    ("dense_backward_dw_transposed", "dense_backward", ["dW: shape (3, 4), expected (4, 3)", "the result is transposed"]),
    ("mlp_backward_missing_1_over_n", "mlp_backward", ["off by a factor of N"]),
    ("mlp_backward_derivative_at_a", "mlp_backward", ["phi'(Z) at the pre-activation Z"]),
    ("train_loss_after_update", "train", ["losses[0] is the loss of init_params(layer_sizes, seed) before any update"]),
]


@pytest.mark.parametrize("name, function, fragments", WORDS, ids=[w[0] for w in WORDS])
def test_a_bank_mistake_is_named_in_the_graders_words(tmp_path, lab, bank, name, function, fragments):
    entry = next(m for m in bank.MISTAKES if m.name == name)
    work = copy_assignment(tmp_path, reference=False, sources=bank.apply(entry.edits, lab.reference_sources()))
    rc, out = checks(work, entry.part)
    text = "\n".join(naming(out, function))
    assert rc == 1 and "Reread: " in text, out
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} missing from:\n{text}"
    first_fail = next(line for line in out.splitlines() if line.startswith("FAIL"))
    assert f" {function}(" in first_fail or f" {function}:" in first_fail, out   # the first failure is that function's


# Edits of this file's old private bank that the lab's bank does not hold: (id, module, [(old, new)],
# question, function named). The others were the bank's own entries and are tested above.
EXTRA_WRONG = [
    ("sigmoid_grad_sigmoid_twice", "activations.py",
     [("    s = sigmoid(z)\n    return s * (1.0 - s)", "    s = sigmoid(sigmoid(z))\n    return s * (1.0 - s)")],
     "activations", "sigmoid_grad"),
    ("tanh_grad_eq16_literal", "activations.py",
     [("    t = np.tanh(np.asarray(z, dtype=float))\n    return 1.0 - t * t",
       "    return 2.0 * np.tanh(2.0 * np.asarray(z, dtype=float)) - 1.0")], "activations", "tanh_grad"),
    ("softmax_axis0", "activations.py",
     [("e = np.exp(Z - Z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)",
       "e = np.exp(Z - Z.max(axis=0, keepdims=True))\n    return e / e.sum(axis=0, keepdims=True)")], "activations", "softmax"),
    ("jacobian_sign", "activations.py",
     [("return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]",
       "return s[..., :, None] * eye + s[..., :, None] * s[..., None, :]")], "activations", "softmax_jacobian"),
    ("cache_holds_activation", "mlp.py",
     [("        cache.append((A, Z))\n        A = activate(Z, name)",
       "        A_next = activate(Z, name)\n        cache.append((A, A_next))\n        A = A_next")], "forward", "mlp_forward"),
    ("predict_float", "mlp.py", [("return np.argmax(out, axis=1)", "return np.argmax(out, axis=1).astype(float)")],
     "forward", "predict"),
    ("numerical_gradient_forward", "backprop.py",
     [("        x[i] = old - h\n        f_minus = f(x.copy())", "        x[i] = old\n        f_minus = f(x.copy())"),
      ("g[i] = (f_plus - f_minus) / (2.0 * h)", "g[i] = (f_plus - f_minus) / h")], "backprop", "numerical_gradient"),
    ("registry_wrong_pair", "activations.py", [('"tanh": (tanh, tanh_grad),', '"tanh": (tanh, sigmoid_grad),')],
     "activations", "ACTIVATIONS"),
    ("one_hot_width", "backprop.py",
     [("out = np.zeros((y.shape[0], num_classes))", "out = np.zeros((y.shape[0], y.max() + 1))")], "backprop", "one_hot"),
    ("step_in_place", "backprop.py",
     [("    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]",
       "    for (W, b), (dW, db) in zip(params, grads):\n        W -= lr * dW\n        b -= lr * db\n    return list(params)")],
     "training", "gradient_descent_step"),
]
EXTRA_CORRECT = [  # other correct forms the lab's bank does not hold
    ("tlu.py", "    return w, float(b), errors", "    return w, np.float64(b), np.array(errors)"),
    ("mlp.py", "    return np.asarray(X, dtype=float) @ np.asarray(W, dtype=float).T + b",
     "    return np.einsum('nd,od->no', np.asarray(X, dtype=float), np.asarray(W, dtype=float)) + b"),
    ("backprop.py", "    dW = dZ.T @ np.asarray(A_prev, dtype=float)",
     "    dW = np.einsum('no,ni->oi', dZ, np.asarray(A_prev, dtype=float))"),
    ("backprop.py", "    return float(-np.mean(np.log(picked)))", "    return -np.mean(np.log(picked))"),
    ("backprop.py", "    return grads", "    return tuple(grads)"),
    ("backprop.py", "    return params, losses", "    return tuple(params), np.array(losses)"),
]


def edited(work, module, replacements):
    source = (work / module).read_text(encoding="utf-8")
    for old, new in replacements:
        assert source.count(old) == 1, f"the reference {module} no longer contains {old!r}; update this test"
        source = source.replace(old, new)
    (work / module).write_text(source, encoding="utf-8")


@pytest.mark.parametrize("case", EXTRA_WRONG, ids=[w[0] for w in EXTRA_WRONG])
def test_an_extra_wrong_module_fails_the_right_check(tmp_path, case):
    _, module, replacements, question, function = case
    work = copy_assignment(tmp_path)
    edited(work, module, replacements)
    rc, out = checks(work, question)
    assert rc == 1 and "Traceback" not in out, out
    assert naming(out, function) and "Reread: " in naming(out, function)[0], out


def test_extra_correct_implementations_pass(tmp_path):
    work = copy_assignment(tmp_path)
    for module, old, new in EXTRA_CORRECT:
        edited(work, module, [(old, new)])
    rc, out = checks(work)
    assert rc == 0, out


def test_a_module_that_does_not_import_gives_one_line(tmp_path):
    work = copy_assignment(tmp_path)
    path = work / "activations.py"
    path.write_text(path.read_text(encoding="utf-8") + "\ndef broken(:\n", encoding="utf-8")
    rc, out = checks(work, "activations", "forward")
    assert rc == 1, out
    assert "Traceback" not in out, out
    assert out.count("FAIL  activations.py could not be imported: SyntaxError") == 1, out
    assert "FAIL  mlp.py could not be imported: SyntaxError" in out and "(activations.py, line" in out, out


def test_a_crash_is_one_line_that_points_into_the_student_file(tmp_path):
    work = copy_assignment(tmp_path)
    edited(work, "backprop.py", [("    return dA_prev, dW, db\n", "    return dA_prev, dW, db[None, :] + np.ones((2, 2))\n")])
    rc, out = checks(work, "backprop")
    assert rc == 1 and "Traceback" not in out, out
    assert re.search(r"dense_backward: raised ValueError: .*\n.*\n\s*Raised at backprop\.py, line \d+, in dense_backward", out), out


# --- through Otter ------------------------------------------------------------------------------
OTTER_CHECK = "import otter; g = otter.Notebook(tests_dir='tests'); r = g.check({!r}); print(r)"


def test_grader_check_passes_with_the_reference(reference):
    pytest.importorskip("otter")
    rc, out = run(reference, "-c", OTTER_CHECK.format("tlu"))
    assert rc == 0, out
    assert "tlu results: All test cases passed!" in out, out


def test_grader_check_shows_the_fail_lines(tmp_path):
    pytest.importorskip("otter")
    work = copy_assignment(tmp_path)
    edited(work, "activations.py", [("    s = sigmoid(z)\n    return s * (1.0 - s)",
                                     "    z = np.asarray(z, dtype=float)\n    return z * (1.0 - z)")])
    rc, out = run(work, "-c", OTTER_CHECK.format("activations"))
    assert rc == 0, out
    assert "Test case failed" in out, out
    assert "FAIL  public case" in out and "sigmoid_grad(z)" in out, out
    assert "Reread: eq. (14)" in out, out
    assert "All test cases passed" not in out, out
