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

from autograder import batch, compare, feedback, mutants, report
from autograder.cases import Case, Matches
from autograder.compare import FLOAT_ARRAY, PAIRS, SCALAR, SEQUENCE, tuple_of
from autograder.findings import Kind, Mistake, finding, known, mistake
from autograder.grading import CaseResult, SubmissionResult, argument_name
from autograder.labs import prepare

from words import EN, english

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
    cases = [CaseResult(c, False, finding(Kind.VALUES, "result", wrong=c.number + 1, size=999, max_abs=1.0, max_rel=0.5,
                                          index=(0,), expected=2.0, got=3.0)) for c in prepared.cases]
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
    hidden_summary = EN.say("feedback.hidden_summary")
    assert hidden_summary == "hidden cases (summary)"
    assert set(names) == expected | {f"backprop: {hidden_summary}"}
    summary = next(t for t in results["tests"] if t["name"] == f"backprop: {hidden_summary}")
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


def test_student_words_point_to_what_students_have(lab):
    said = report.student_words("dZ_L as in ASSIGNMENT.md; modified its input x in place; the contract says inputs stay unchanged")
    assert said == "dZ_L as in the docstring; modified its input x in place; the docstring says inputs stay unchanged"
    assert report.student_words("work on a copy (contract: no function modifies its inputs)") == \
        "work on a copy (no function modifies its inputs)"
    # the catalogues themselves (the engine's and the lab's, every language) point to nothing students lack
    for lang in ("en", "ko"):
        for key, sentence in lab.words(lang).words.items():
            assert "ASSIGNMENT" not in sentence and not re.search(r"\bcontract\b", sentence), (lang, key)
    mutated = english(finding(Kind.MUTATED, argument="x", credit=1.0), name="relu")
    assert mutated.startswith("modified its input x in place") and mutated.endswith("inputs must stay unchanged: work on a copy")


def test_hidden_text_loses_values_and_counts_but_keeps_named_mistakes(lab):
    """A hidden case's sentence keeps its kind, the item and a named mistake: no value, no count
    (the counts are chosen by student code that may have read the inputs, autograder.hidden)."""
    values = finding(Kind.VALUES, "result", mistake("factor", name="N"), wrong=3, size=4, max_abs=0.5, max_rel=0.75,
                     index=(2,), expected=0.123456, got=1.0)
    public = english(values)
    assert "3 of 4 values differ" in public and "0.123456" in public and "Likely mistake: off by a factor of N" in public
    assert english(values, hidden=True) == "result: values differ from the correct ones. Likely mistake: off by a factor of N"
    measured = finding(Kind.VALUES, "result", mistake("constant_factor", named=False, value=0.9823), wrong=3, size=4,
                       max_abs=0.5, max_rel=0.75, index=(2,), expected=0.123456, got=1.0)
    assert "0.9823" in english(measured)
    assert english(measured, hidden=True) == "result: values differ from the correct ones"
    # a lab's outcome check: its measured loss and epochs are said for a public case only
    outcome = finding(Kind.OUTCOME, "result[0]", check="xor_unsolved", loss=0.693, epochs=4000)
    words = lab.words("en")
    assert "0.693" in english(outcome, words=words) and "4000" in english(outcome, words=words)
    hidden = english(outcome, hidden=True, words=words)
    assert hidden == "result[0]: the returned params do not solve XOR (a correct loop reaches a loss below 0.01)"
    assert "0.693" not in hidden and "4000" not in hidden


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
    assert namer.where(case, "result[1][0]") == "W of layer 2 in the result"
    shape = finding(Kind.SHAPE, "result[1][0]", got=(2,), expected=(3,), hint="")
    assert namer.finding(case, shape, False) == "W of layer 2 in the result: shape (2,), expected (3,)"
    # an argument changed in place is named by the signature where it is found (grading), as the docstring names it
    argument = argument_name(case, "in_1_0_1")
    assert argument == "grads[0][1]"
    said = namer.finding(case, finding(Kind.MUTATED, argument=argument, credit=1.0), False)
    assert said.startswith("modified its input grads[0][1] in place") and "gradient_descent_step's points" in said
    named = Case("backprop.gradient_descent_step", (), Matches(form=PAIRS), result_names=("new_params",))
    assert namer.where(named, "result[1][0]") == "new_params[1][0]"


def test_leaf_names_in_every_form():
    say = EN.say
    three = tuple_of(FLOAT_ARRAY, SCALAR, SEQUENCE)
    assert compare.leaf_name("[2]", ("w", "b", "errors"), three, say) == "errors"
    assert compare.leaf_name("[1][0][1]", ("out", "cache"), tuple_of(FLOAT_ARRAY, PAIRS), say) == "cache[0][1]"
    assert compare.leaf_name("", ("Z",), FLOAT_ARRAY, say) == "Z"
    assert compare.leaf_name("[3]", ("losses",), SEQUENCE, say) == "losses[3]"
    # no names, or names that do not fit the tuple: positions, said in words
    assert compare.leaf_name("[2]", (), three, say) == "item 2 of the result"
    assert compare.leaf_name("[2]", ("a", "b"), three, say) == "item 2 of the result"
    assert compare.leaf_name("[1][0]", (), PAIRS, say) == "W of layer 2 in the result"
    assert compare.leaf_name("", (), FLOAT_ARRAY, say) == "result"
    assert compare.result_names_from_doc("Returns (w, b, errors): w (D,)") == ("w", "b", "errors")
    assert compare.result_names_from_doc("Returns Z of shape (N, n_out).") == ("Z",)
    assert compare.result_names_from_doc("Returns a float64 array of the same shape as z.") == ()
    assert compare.result_names_from_doc("Returns step(X @ w + b): shape (N,)") == ()


def test_error_advice_follows_the_error_not_a_fixed_hint():
    keepdims = compare.error_advice("ValueError: operands could not be broadcast together with shapes (4,3) (4,)")
    assert keepdims == Mistake("keepdims") and "keepdims=True" in EN.mistake(keepdims)
    matmul = compare.error_advice("ValueError: matmul: Input operand 1 has a mismatch in its core dimension 0")
    assert matmul == Mistake("matmul") and "matrix product" in EN.mistake(matmul) and "keepdims" not in EN.mistake(matmul)
    other = compare.error_advice("ValueError: operands could not be broadcast together with shapes (4,3) (2,5)")
    assert other == Mistake("broadcast") and "keepdims" not in EN.mistake(other) and "shapes" in EN.mistake(other)
    assert compare.error_advice("IndexError: index 5 is out of bounds for axis 0 with size 3") == Mistake("index")
    assert compare.error_advice("TypeError: unsupported operand") is None
    # the advice says nothing of the error's own numbers, so a hidden case may show it
    assert all(m.named for m in (keepdims, matmul, other))


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
    assert message.where == "result[1]" and message.mistake == known("the loss is recorded after the update")
    # without the entry nothing is named (the lab's own check has one); a value that is wrong in
    # another way is not that mistake
    bare = Matches(form=case.check.form, rtol=case.check.rtol, atol=case.check.atol)
    assert bare.judge(case, as_value(got), prepared.expected[k], settings).mistake is None
    own = case.check.judge(case, as_value(got), prepared.expected[k], settings).mistake
    assert own.key == "known" and own.param("text").startswith("the loss recorded after the update")
    other = (got[0], [2 * loss for loss in got[1]])
    assert check.judge(case, as_value(other), prepared.expected[k], settings).mistake != known("the loss is recorded after the update")


def test_a_mistake_named_in_one_case_of_many_is_not_the_headline():
    from autograder.feedback import headline
    public = Case("activations.tanh", (np.zeros(2),), Matches(), hidden=False)
    hidden = Case("activations.tanh", (np.zeros(2),), Matches(), hidden=True)
    failed = lambda guess, case=public: CaseResult(case, False, finding(
        Kind.VALUES, "result", guess, wrong=2, size=2, max_abs=1.0, max_rel=1.0, index=(0,), expected=1.0, got=2.0))
    factor = mistake("constant_factor", named=False, value=0.9823)
    rare = [failed(factor)] + [failed(None) for _ in range(8)]
    assert headline(rare) == (None, 0)
    common = [failed(Mistake("sign_flipped"))] * 3 + [failed(None)] * 6
    assert headline(common) == (None, 0)   # a guess explains every judged failure, or heads nothing
    slow = [failed(Mistake("sign_flipped"))] * 3 + [CaseResult(public, False, finding(Kind.TIMEOUT, seconds=5.0))] * 6
    assert headline(slow) == (Mistake("sign_flipped"), 3)   # timeouts say nothing of the values
    # a measured mistake heads a public block, never a hidden one (it would say the factor)
    assert headline([failed(factor)] * 3) == (factor, 3)
    assert headline([failed(factor, hidden)] * 3) == (None, 0)


def test_a_function_that_is_wrong_then_times_out_says_both(lab, prepared):
    """A function whose first cases have a likely mistake and whose later ones time out (a
    function that timed out once fails the rest at once): the mistake heads, the timeout is 'Also'."""
    tanh = [c.number for c in prepared.cases if c.function == "activations.tanh"]
    values = dict(wrong=1, size=1, max_abs=1.0, max_rel=1.0, index=(0,), expected=1.0, got=-1.0)
    cases = []
    for c in prepared.cases:
        if c.function != "activations.tanh":
            cases.append(CaseResult(c, True, None, credit=1.0))
        elif tanh.index(c.number) < len(tanh) // 2:
            cases.append(CaseResult(c, False, finding(Kind.VALUES, "result", Mistake("sign_flipped"), **values)))
        else:
            cases.append(CaseResult(c, False, finding(Kind.TIMEOUT, seconds=10.0)))
    result = SubmissionResult("slow", {q.name: 0.0 for q in lab.questions}, lab.points, cases)
    (lines,) = blocks(report.feedback_text(result, prepared)).values()
    assert any("Likely mistake: the sign is flipped" in line for line in lines)
    assert any(line.startswith("    Also: ") for line in lines)


def test_a_guess_heads_a_block_only_when_it_explains_every_failure(lab, prepared):
    """A factor of 1/2 on one of three failed mse cases (K = 2 there) named the wrong fix:
    a guess from one case's numbers heads only when every failure shows it; a lab's known
    mistake (applied to the inputs) still heads at a third."""
    values = dict(wrong=1, size=2, max_abs=0.5, max_rel=0.5, index=(0,), expected=1.0, got=0.5)
    factor = finding(Kind.VALUES, "result", Mistake("factor", (("name", "1/2"),)), **values)
    plain = finding(Kind.VALUES, "result", **values)
    case = next(c for c in prepared.cases if c.function == "backprop.mse")
    failed = [CaseResult(case, False, m) for m in (factor, plain, plain)]
    assert feedback.headline(failed) == (None, 0)
    assert feedback.headline([CaseResult(case, False, factor)] * 3) == (factor.mistake, 3)
    known = finding(Kind.VALUES, "result", Mistake("known", (("text", "the sum over samples instead of the mean"),)), **values)
    assert feedback.headline([CaseResult(case, False, m) for m in (known, plain, plain)])[0] == known.mistake
