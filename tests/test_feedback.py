"""feedback.txt and results.json grouped by function, on real grading of bank mistakes:
every failing function appears with at most about 6 lines, the likely mistake once, one
example (a public one with values, a hidden one by its shapes only), results and arguments by
their names in the docstrings, one line for an import problem, and no pointer to files
students do not have."""
import json
import re
from collections import Counter

import numpy as np
import pytest

from autograder import batch, compare, mutants, report
from autograder.cases import Case, Matches
from autograder.compare import FLOAT_ARRAY, PAIRS, SCALAR, SEQUENCE, tuple_of
from autograder.grading import CaseResult, SubmissionResult
from autograder.labs import prepare

MISTAKES = ["dense_backward_dw_transposed", "mlp_backward_missing_1_over_n", "gradient_descent_step_in_place",
            "softmax_no_keepdims", "numerical_gradient_no_restore", "numerical_gradient_forward_difference",
            "sigmoid_grad_on_output", "train_loss_after_update"]
JARGON = [r"public case \d", r"hidden case \d", r"\bresult\[", r"argument \d", "ASSIGNMENT", r"\bcontract\b"]


@pytest.fixture(scope="module")
def prepared(lab, settings, tmp_path_factory):
    import inspect
    if len(inspect.signature(prepare).parameters) == 2:  # the engine keeps case inputs in memory
        return prepare(lab, settings)
    return prepare(lab, settings, tmp_path_factory.mktemp("cases"))


@pytest.fixture(scope="module")
def graded(lab, settings, tmp_path_factory):
    """Feedback of a few bank mistakes, a module with a syntax error and the bare skeleton."""
    root = tmp_path_factory.mktemp("feedback")
    bank = mutants.load_bank(lab)
    reference = lab.reference_sources()
    entries = {m.name: m for m in bank.MISTAKES}
    folders = []
    for name in MISTAKES:
        folder = root / "in" / name
        folder.mkdir(parents=True)
        for module, text in bank.apply(entries[name].edits, reference).items():
            (folder / f"{module}.py").write_text(text)
        folders.append(folder)
    broken = root / "in" / "syntax_error"
    broken.mkdir()
    for module, text in reference.items():
        (broken / f"{module}.py").write_text(text if module != "backprop" else "def one_hot(y, k)\n    pass\n")
    skeleton = root / "in" / "skeleton"
    skeleton.mkdir()
    for module in lab.modules:
        (skeleton / f"{module}.py").write_text((lab.assignment_dir / f"{module}.py").read_text())
    batch.grade_batch(lab, folders + [broken, skeleton], root / "out", settings, jobs=2, log=lambda *a: None,
                      progress=False, report_png=False)
    out = root / "out" / "submissions"
    return {p.name: ((p / "feedback.txt").read_text(), json.loads((p / "results.json").read_text()))
            for p in out.iterdir()}


def blocks(text):
    """{function: lines of its block} of a feedback.txt."""
    out, current = {}, None
    for line in text.splitlines():
        match = re.match(r"^  (\w+): lost ", line)
        if match:
            current = match.group(1)
            out[current] = [line]
        elif line.startswith("    ") and current:
            out[current].append(line)
        else:
            current = None
    return out


def test_each_failing_function_is_one_short_block_with_its_mistake_once(graded):
    text, _ = graded["sigmoid_grad_on_output"]
    found = blocks(text)
    assert list(found) == ["sigmoid_grad"]
    lines = found["sigmoid_grad"]
    assert len(lines) <= 6
    assert lines[0] == "  sigmoid_grad: lost 3 of 3 points; 11 of 11 cases failed"
    assert sum("Likely mistake: sigma'(z) computed on the output" in line for line in lines) == 1
    assert sum("Example" in line for line in lines) == 1
    assert "eq. (14)" in text and "Reproduce: `python checks.py activations`" in text
    assert "the notebook's Part B" in text and "the docstring of sigmoid_grad" in text


def test_no_failing_function_is_ever_cut(lab, prepared):
    """A submission failing every case of every function, each case differently: every
    function has its block (the old feedback kept 12 cases a question)."""
    cases = [CaseResult(c, False, compare.Finding("result", f"{c.number} of 999 values differ")) for c in prepared.cases]
    result = SubmissionResult("all_wrong", {q.name: 0.0 for q in lab.questions}, lab.points, cases)
    text = report.feedback_text(result, prepared)
    found = blocks(text)
    every = [f.split(".")[1] for q in lab.questions for f in q.functions]
    assert list(found) == every
    assert all(len(lines) <= 6 for lines in found.values())
    assert "more failed cases" not in text


def test_results_and_arguments_are_called_by_their_names(graded):
    text, _ = graded["dense_backward_dw_transposed"]
    assert "dW: shape (3, 4), expected (4, 3)" in text
    text, _ = graded["mlp_backward_missing_1_over_n"]
    assert "grads[0][0]: " in text
    text, _ = graded["gradient_descent_step_in_place"]
    assert "modified its input params[0][0] in place" in text
    text, _ = graded["train_loss_after_update"]
    assert "losses: " in text
    for name, (text, results) in graded.items():
        outputs = "\n".join(t["output"] for t in results["tests"])
        for pattern in JARGON:
            assert not re.search(pattern, text), (name, pattern)
            assert not re.search(pattern, outputs), (name, pattern)


def test_an_import_problem_is_one_line_per_question(graded):
    text, _ = graded["syntax_error"]
    syntax = [line for line in text.splitlines() if "could not be imported" in line]
    assert len(syntax) == 2  # backprop and training, both in backprop.py
    assert syntax[0].startswith("  one_hot, cross_entropy, mse, dense_backward, mlp_backward, numerical_gradient: module backprop.py")
    assert syntax[0].endswith("30 points lost") and syntax[1].endswith("10 points lost")
    text, _ = graded["skeleton"]
    assert len(text.splitlines()) <= 4 + 2 * 5
    assert text.count("not written yet") == 5


def test_a_hidden_example_shows_no_input_and_no_value(graded, prepared):
    text, results = graded["numerical_gradient_no_restore"]  # fails hidden cases only
    (lines,) = blocks(text).values()
    example = [line for line in lines if "Example" in line][0]
    assert "a hidden case, inputs not shown" in example and "numerical_gradient(f, x) (" in example
    assert "of shape" not in example      # not even shapes: a hidden message carries no number (autograder.hidden)
    assert "expected" not in example and not re.search(r"\d\.\d{3}", example)
    hidden_values = {f"{v:.6g}" for case, want in zip(prepared.cases, prepared.expected)
                     if case.hidden and case.name == "numerical_gradient" for v in np.ravel(want)}
    hidden_values |= {f"{v:.6g}" for case in prepared.cases if case.hidden and case.name == "numerical_gradient"
                      for v in np.ravel(case.args[1])}
    shown = set(re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", text + json.dumps(results)))
    assert not shown & hidden_values


def test_a_public_example_shows_its_values(graded):
    text, _ = graded["sigmoid_grad_on_output"]
    assert "Example (a public case): sigmoid_grad(z) with z = [-2, -0.5, 0, 0.5, 2]" in text
    assert "expected 0.104994, got -6" in text


def test_diagnoses_match_the_function(graded):
    text, _ = graded["softmax_no_keepdims"]
    assert "keepdims=True" in text and "W.T" not in text and "transpose" not in text
    text, _ = graded["numerical_gradient_no_restore"]
    assert "not put back" in text and "forward differences" not in text
    text, _ = graded["numerical_gradient_forward_difference"]
    assert "forward differences" in text and "not put back" not in text


def test_results_json_has_one_test_per_function_and_visibility_with_the_block_text(graded, lab):
    text, results = graded["mlp_backward_missing_1_over_n"]
    names = Counter(t["name"] for t in results["tests"])
    assert all(n == 1 for n in names.values())
    expected = {f"{q.name}: {f.split('.')[1]} ({v} cases)" for q in lab.questions for f in q.functions for v in ("public", "hidden")}
    assert set(names) == expected | {f"backprop: {report.HIDDEN_SUMMARY}"}
    summary = next(t for t in results["tests"] if t["name"] == f"backprop: {report.HIDDEN_SUMMARY}")
    assert summary["visibility"] == "visible" and summary["status"] == "failed" and summary["max_score"] == 0
    assert summary["output"].split("\n")[1].startswith("mlp_backward: lost ") and "hidden cases failed" in summary["output"]
    results = {**results, "tests": [t for t in results["tests"] if t is not summary]}
    failed = {t["name"]: t for t in results["tests"] if t["score"] < t["max_score"]}
    assert set(failed) == {"backprop: mlp_backward (public cases)", "backprop: mlp_backward (hidden cases)"}
    public, hidden = failed["backprop: mlp_backward (public cases)"], failed["backprop: mlp_backward (hidden cases)"]
    assert public["output"].startswith("mlp_backward: lost 0.5 of 0.5 points; 2 of 2 public cases failed")
    assert "hidden" not in public["output"]
    assert "Likely mistake: off by a factor of N" in hidden["output"] and "inputs not shown" in hidden["output"]
    assert all(t["output"] == f"all {t['output'].split()[1]} {'public' if t['visibility'] == 'visible' else 'hidden'} cases passed"
               for t in results["tests"] if t["score"] >= t["max_score"])
    functions = results["extra_data"]["functions"]
    assert functions["backprop.mlp_backward"]["points"] == 10.0
    assert functions["backprop.mlp_backward"]["earned"] == pytest.approx(sum(t["score"] for t in failed.values()))


def test_student_words_point_to_what_students_have():
    said = report.student_words("dZ_L as in ASSIGNMENT.md; modified its input x in place; the contract says inputs stay unchanged")
    assert said == "dZ_L as in the docstring; modified its input x in place; inputs must stay unchanged: work on a copy"
    assert report.student_words("work on a copy (contract: no function modifies its inputs)") == \
        "work on a copy (no function modifies its inputs)"


def test_hidden_text_loses_values_but_keeps_shapes_and_counts():
    finding = compare.Finding("result", "3 of 4 values differ", "max abs error 0.5; expected 0.123456, got 1", "off by a factor of N")
    assert report.what_failed(finding, hidden=True) == "result: 3 of 4 values differ"
    assert "0.123456" in report.what_failed(finding, hidden=False)
    plain = "the final loss is 0.693; a correct loop reaches below 0.01 (reference: 0.00421) for shapes (4, 2)"
    assert report.what_failed(plain, hidden=True) == \
        "the final loss is (value hidden); a correct loop reaches below 0.01 (reference: (value hidden)) for shapes (4, 2)"


def test_result_names_come_from_the_docstrings(prepared):
    namer = report.Namer(prepared)
    by_function = {c.function: c for c in prepared.cases}
    assert namer.result_names(by_function["backprop.dense_backward"]) == ("dA_prev", "dW", "db")
    assert namer.result_names(by_function["tlu.perceptron_train"]) == ("w", "b", "errors")
    assert namer.result_names(by_function["mlp.mlp_forward"]) == ("out", "cache")
    assert namer.result_names(by_function["backprop.train"]) == ("params", "losses")
    assert namer.result_names(by_function["backprop.mlp_backward"]) == ("grads",)
    assert namer.result_names(by_function["activations.sigmoid"]) == ()
    case = by_function["backprop.gradient_descent_step"]
    assert namer.words(case, "result[1][0]: shape (2,)") == "W of layer 2 in the result: shape (2,)"
    assert namer.words(case, "modified its input argument 2[0][1] in place") == "modified its input grads[0][1] in place"
    named = Case("backprop.gradient_descent_step", (), Matches(form=PAIRS), result_names=("new_params",))
    assert namer.words(named, "result[1][0]: x") == "new_params[1][0]: x"


def test_leaf_names_in_every_form():
    assert compare.leaf_names("result[2]: 1 of 3 values differ", ("w", "b", "errors"), tuple_of(FLOAT_ARRAY, SCALAR, SEQUENCE)) \
        == "errors: 1 of 3 values differ"
    assert compare.leaf_names("result[1][0][1]: shape", ("out", "cache"), tuple_of(FLOAT_ARRAY, PAIRS)) == "cache[0][1]: shape"
    assert compare.leaf_names("result: shape (3,)", ("Z",), FLOAT_ARRAY) == "Z: shape (3,)"
    # no names, or names that do not fit the tuple: positions, said in words
    assert compare.leaf_names("result[2]: shape", (), tuple_of(FLOAT_ARRAY, SCALAR, SEQUENCE)) == "item 2 of the result: shape"
    assert compare.leaf_names("result[2]: shape", ("a", "b"), tuple_of(FLOAT_ARRAY, SCALAR, SEQUENCE)) == "item 2 of the result: shape"
    assert compare.leaf_names("the result is transposed", ("Z",), FLOAT_ARRAY) == "the result is transposed"
    assert compare.result_names_from_doc("Returns (w, b, errors): w (D,)") == ("w", "b", "errors")
    assert compare.result_names_from_doc("Returns Z of shape (N, n_out).") == ("Z",)
    assert compare.result_names_from_doc("Returns a float64 array of the same shape as z.") == ()
    assert compare.result_names_from_doc("Returns step(X @ w + b): shape (N,)") == ()


def test_error_advice_follows_the_error_not_a_fixed_hint():
    assert "keepdims=True" in compare.error_advice("ValueError: operands could not be broadcast together with shapes (4,3) (4,)")
    matmul = compare.error_advice("ValueError: matmul: Input operand 1 has a mismatch in its core dimension 0")
    assert "matrix product" in matmul and "keepdims" not in matmul
    other = compare.error_advice("ValueError: operands could not be broadcast together with shapes (4,3) (2,5)")
    assert "keepdims" not in other and "shapes" in other
    assert compare.error_advice("TypeError: unsupported operand") == ""


def as_value(value):
    """A Python result as the engine reads it back from the sandbox."""
    from autograder.values import Value
    if isinstance(value, (list, tuple)):
        return Value("list" if isinstance(value, list) else "tuple", items=[as_value(v) for v in value])
    if isinstance(value, np.ndarray):
        return Value("nd", data=value)
    return Value("float" if isinstance(value, float) else "int", data=np.asarray(value))


def test_a_known_mistake_on_one_item_of_train_is_named(lab, prepared, settings):
    """"Loss recorded after the update" changes only `losses`: a known-mistake entry is named
    although train returns (params, losses) (only single results were matched before)."""
    try:
        from autograder.labs import exec_modules
    except ImportError:
        from autograder.sandbox.runner import exec_modules
    bank = mutants.load_bank(lab)
    mistake = [m for m in bank.MISTAKES if m.name == "train_loss_after_update"][0]
    wrong = exec_modules(bank.apply(mistake.edits, lab.reference_sources()), "wrong_train")["backprop"].train
    k, case = [(k, c) for k, c in enumerate(prepared.cases) if c.name == "train" and not c.hidden][0]
    check = Matches(form=case.check.form, rtol=case.check.rtol, atol=case.check.atol,
                    known={"the loss is recorded after the update": wrong})
    got = wrong(*case.args, **case.kwargs)
    message = check.judge(case, as_value(got), prepared.expected[k], settings)
    assert message.where == "result[1]" and message.mistake == "the loss is recorded after the update"
    # without the entry nothing is named (the lab's own check has one); a value that is wrong in
    # another way is not that mistake
    bare = Matches(form=case.check.form, rtol=case.check.rtol, atol=case.check.atol)
    assert bare.judge(case, as_value(got), prepared.expected[k], settings).mistake == ""
    assert case.check.judge(case, as_value(got), prepared.expected[k], settings).mistake.startswith(
        "the loss recorded after the update")
    other = (got[0], [2 * loss for loss in got[1]])
    assert check.judge(case, as_value(other), prepared.expected[k], settings).mistake != "the loss is recorded after the update"


def test_a_mistake_named_in_one_case_of_many_is_not_the_headline():
    case = Case("activations.tanh", (np.zeros(2),), Matches())
    finding = lambda mistake: CaseResult(case, False, compare.Finding("result", "2 of 2 values differ", "", mistake))
    rare = [finding("off by a constant factor of 0.9823")] + [finding("") for _ in range(8)]
    assert report.headline(rare) == ("", 0)
    common = [finding("the sign is flipped")] * 3 + [finding("")] * 6
    assert report.headline(common) == ("the sign is flipped", 3)
