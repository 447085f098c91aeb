"""The handout's self-check is generated from the lab and the engine (autograder.selfcheck), and
says what the grader says.

- checklib/, public_cases.json and tests/<question>.py are what the generator writes (drift);
  checklib's copies are the engine's own files and definitions;
- public_cases.json holds exactly the grader's public cases, numbered as the grader numbers
  them, with the grader's expected values, and nothing of a hidden case;
- for bank mistakes, `python checks.py --case N` passes or fails exactly the public cases the
  grader passes or fails, with the grader's words (what failed and the likely mistake), and the
  command feedback.txt prints for a public example reruns it;
- build ships the self-check generated anew (whatever the copies), and refuses data that shows a
  hidden case.
"""
import dataclasses
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import batch, build, cases, compare, feedback, gradcheck, grading, intake, mutants, report, roster, selfcheck, text
from autograder.findings import Kind
from autograder.labs import prepare
from autograder.sandbox import isolation
from autograder.sandbox.session import copy_runner

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def prepared(lab, settings):
    return prepare(lab, settings)


@pytest.fixture(scope="module")
def generated(lab, settings):
    return selfcheck.handout_files(lab, settings)


def test_generated_files_are_committed_unchanged(lab, generated):
    assert set(generated) >= {"public_cases.json", "checklib/judges.py", *(f"tests/{q.name}.py" for q in lab.questions)}
    stale = [name for name, text_ in generated.items() if (lab.assignment_dir / name).read_text() != text_]
    assert not stale, f"{stale} drifted: run `python -m autograder.selfcheck`"


def test_drift_is_reported_for_a_changed_copy(tmp_path, lab, settings):
    copy = tmp_path / "handout"
    shutil.copytree(lab.assignment_dir, copy, ignore=shutil.ignore_patterns("__pycache__"))
    other = dataclasses.replace(lab, assignment_dir=copy)
    assert selfcheck.drift(other, settings) == []
    (copy / "checklib" / "compare.py").write_text((copy / "checklib" / "compare.py").read_text() + "# edited\n")
    (copy / "tests" / "tlu.py").unlink()
    assert selfcheck.drift(other, settings) == ["checklib/compare.py", "tests/tlu.py"]
    selfcheck.write(other, settings, log=lambda *a: None)
    assert selfcheck.drift(other, settings) == []


def test_library_is_the_engine_s_own_code(generated):
    for module in (compare, text):
        name = Path(module.__file__).name
        assert generated[f"checklib/{name}"] == Path(module.__file__).read_text()
    judges = generated["checklib/judges.py"]
    for definition in (cases.Matches, cases.MatchesDerivative, cases.MatchesCallableGradient, cases.Case,
                       report.student_words, report.describe_call, gradcheck.relative_error):
        assert inspect.getsource(definition) in judges, definition.__name__
    for loop in (gradcheck.central_difference, cases.numgrad_not_restored):   # numerical_gradient's solution: never shipped
        assert inspect.getsource(loop) not in "".join(generated.values()), loop.__name__
    with pytest.raises(selfcheck.SelfCheckError, match="no longer defines nothing_here"):
        selfcheck.top_level(Path(cases.__file__).read_text(), ("Matches", "nothing_here"))


def test_data_holds_exactly_the_public_cases_with_the_graders_numbers_and_values(lab, prepared, generated):
    data = json.loads(generated["public_cases.json"])
    public = [c for c in prepared.cases if not c.hidden]
    assert [r["number"]["i"] for r in data["cases"]] == [c.number for c in public]
    assert [r["function"]["s"] for r in data["cases"]] == [c.function for c in public]
    assert all(r["hidden"] == {"b": False} for r in data["cases"])
    assert {q: spec["points"] for q, spec in data["questions"].items()} == lab.points
    code = ("import json, sys, numpy as np; import checklib\n"
            "print(json.dumps([[c.number, repr(np.asarray(e, dtype=object).tolist()) if not isinstance(e, list) else repr(e)]\n"
            "                  for c, e in checklib.data()['cases']]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=lab.assignment_dir, capture_output=True, text=True, check=True)
    decoded = dict(json.loads(out.stdout))
    for case in public:   # the values checks.py judges against are the grader's own
        want = prepared.expected[case.number]
        shown = repr(np.asarray(want, dtype=object).tolist()) if not isinstance(want, list) else repr(want)
        assert decoded[case.number] == shown, case.function


def test_a_public_case_whose_judge_is_lab_code_is_refused(lab, prepared):
    case = next(c for c in prepared.cases if c.function == "backprop.train" and c.hidden and
                type(c.check).__name__ == "Satisfies")
    public = dataclasses.replace(case, hidden=False)
    with pytest.raises(selfcheck.SelfCheckError, match="judges with code of the lab"):
        selfcheck.encode_check(public, ship_wording=False)


def test_known_mistake_wording_ships_only_where_the_contract_allows(generated):
    data = json.loads(generated["public_cases.json"])
    allowed = set(_contract().SHIP_MISTAKE_WORDING)
    shipped = {r["function"]["s"] for r in data["cases"] if r["check"]["fields"].get("known")}
    assert shipped and shipped <= allowed
    assert any(r["function"]["s"] == "activations.sigmoid_grad" and r["check"]["fields"]["known"] for r in data["cases"])


def _contract():
    from autograder.labs import load_file
    return load_file(ROOT / "solutions" / "lab17_backprop" / "contract.py", "_contract_selfcheck_test")


def test_build_ships_the_self_check_generated_anew_and_refuses_a_leaking_one(tmp_path, lab, settings, prepared):
    copy = tmp_path / "handout"
    shutil.copytree(lab.assignment_dir, copy, ignore=shutil.ignore_patterns("__pycache__"))
    data = (copy / "public_cases.json").read_text()
    (copy / "public_cases.json").write_text(data.replace('"hidden":{"b":false}', '"hidden":{"b":true}', 1))
    (copy / "checklib" / "text.py").write_text("# an old copy\n")
    built = build.build(dataclasses.replace(lab, assignment_dir=copy), tmp_path / "dist", settings, log=lambda *a: None)
    assert (built.student_dir / "public_cases.json").read_text() == selfcheck.public_data(lab, settings)   # generated anew
    assert (built.student_dir / "checklib" / "text.py").read_text() == Path(text.__file__).read_text()
    hidden = next(c for c in prepared.cases if c.hidden and c.function == "activations.sigmoid_grad"
                  and c.args[0].size > 6)
    record = json.dumps({"args": selfcheck.encode(hidden.args)})
    leaked = build.leaks({"public_cases.json": (data + record).encode()}, lab, settings)
    assert leaked and all("hidden case" in p for p in leaked), leaked
    assert build.leaks({"public_cases.json": data.encode()}, lab, settings) == []


# ---------------------------------------------------------------------------- one diagnosis
SAME = ["heaviside_zero_at_zero", "sigmoid_grad_on_output", "relu_grad_one_at_zero", "softmax_no_keepdims",
        "dense_backward_dw_transposed", "dense_backward_db_mean", "mlp_backward_missing_1_over_n",
        "softmax_linear", "softmax_jacobian_no_diagonal", "gradient_descent_step_in_place", "train_loss_after_update",
        "numerical_gradient_forward_difference", "perceptron_layer_no_transpose"]


def checks_blocks(output):
    """{public case number: (passed, [detail lines])} of a checks.py run."""
    found, current = {}, None
    for line in output.splitlines():
        match = re.match(r"^(PASS|FAIL)  public case (\d+): ", line)
        if match:
            current = int(match.group(2))
            found[current] = (match.group(1) == "PASS", [])
        elif line.startswith(("PASS", "FAIL", "==")):
            current = None
        elif current is not None and line.startswith("      "):
            found[current][1].append(line.strip())
    return found


def test_checks_and_the_grader_give_the_same_verdict_in_the_same_words(tmp_path, lab, settings, prepared):
    bank = mutants.load_bank(lab)
    entries = {m.name: m for m in bank.MISTAKES}
    strategy = isolation.choose(settings.isolation, settings)
    runner = copy_runner(tmp_path / "runner")
    namer, compared = report.Namer(prepared), 0
    for name in SAME:
        entry = entries[name]
        work = tmp_path / name
        shutil.copytree(lab.assignment_dir, work, ignore=shutil.ignore_patterns("__pycache__"))
        for module, source in bank.apply(entry.edits, lab.reference_sources()).items():
            (work / f"{module}.py").write_text(source)
        taken = intake.take(work, intake.LabFiles.of(lab))     # the handout folder as the student has it
        result = batch.grade_one(prepared, roster.Identity(name, name, name, work), taken, strategy, settings,
                                 tmp_path / "scratch", runner, 0)
        mine = [r for r in result.cases if not r.case.hidden and r.case.name == entry.function]
        assert mine, name
        printed = {int(n) for n in re.findall(r"`python checks\.py --case (\d+)`", report.feedback_text(result, prepared))}
        numbers = [arg for n in sorted({r.case.number for r in mine} | printed) for arg in ("--case", str(n))]
        out = subprocess.run([sys.executable, "checks.py", *numbers], cwd=work, capture_output=True, text=True).stdout
        local = checks_blocks(out)
        for n in printed:   # the command feedback.txt prints reruns that public case, failing as it failed there
            assert local[n][0] is result.cases[n].passed is False, f"{name}: case {n}\n{out}"
        compared += any(not r.passed for r in mine)   # (a mistake only hidden cases see is compared as passing)
        for r in mine:
            passed, lines = local[r.case.number]
            assert passed == r.passed, f"{name}, case {r.case.number}: grader {r.passed}, checks.py {passed}\n{out}"
            if r.passed:
                continue
            what = namer.finding(r.case, r.message, r.hidden_words)
            assert lines[0] == f"{r.case.name}: {what}", f"{name}:\n{lines[0]}\n{r.case.name}: {what}"
            if r.message.mistake is not None:
                assert f"Likely mistake: {namer.mistake(r.message.mistake)}" in lines, f"{name}: {lines}"
            assert f"Reproduce: python checks.py --case {r.case.number}" in lines
    assert compared >= len(SAME) - 2, compared


# ---------------------------------------------------------------------------- agreement over the bank
# The whole bank (every mistake and variant, about 6 s each) with KIT_WHOLE_BANK=1; by default a
# sample of entries chosen to cover a public failure, an own check of checks.py and a variant.
WHOLE_BANK = os.environ.get("KIT_WHOLE_BANK") == "1"
SAMPLE = ["softmax_axis0", "mlp_backward_derivative_at_a", "mse_mean_over_all_entries", "tanh_grad_eq16", "relu_abs",
          "dense_forward_no_transpose"]


def bank_entries(lab):
    bank = mutants.load_bank(lab)
    entries = [(m.name, m.edits) for m in bank.MISTAKES] + [(v.name, v.edits) for v in bank.VARIANTS]
    return entries if WHOLE_BANK else [e for e in entries if e[0] in SAMPLE or e[0] == bank.VARIANTS[0].name]


DEPENDS = ("failed a check above", "fix that first")   # checks.py's note: the check ran the student's own helper


def own_check_failures(output, names):
    """The functions whose own checks (not a public case) checks.py failed ("FAIL  name: ..."),
    leaving out a failure that checks.py itself puts on a helper that failed above."""
    failed, current, block = set(), None, []
    for line in output.splitlines() + ["PASS  (end)"]:
        if line.startswith(("PASS  ", "FAIL  ", "== ")):
            if current and not any(d in " ".join(block) for d in DEPENDS):
                failed.add(current)
            match = re.match(r"^FAIL  (?!public case)([A-Za-z_]\w*)", line)
            current = names.get(match.group(1)) if match else None
            block = []
        else:
            block.append(line)
    return failed


@pytest.fixture(scope="module")
def bank_agreement(tmp_path_factory, lab, settings, prepared):
    """(public-case disagreements, own-check disagreements) over the bank's entries (see
    bank_entries): a public case passes in checks.py exactly when it passes in the grade and a
    failed one says the same finding (its words); a function that checks.py fails anywhere
    loses points in the grade. Left out, by design: a check that ran the student's own helper
    after that helper failed a check above, which checks.py says ("fix that first"); the grader
    gives the reference there, which the handout cannot hold."""
    tmp_path = tmp_path_factory.mktemp("agreement")
    bank = mutants.load_bank(lab)
    strategy = isolation.choose(settings.isolation, settings)
    runner = copy_runner(tmp_path / "runner")
    namer = report.Namer(prepared)
    names = {f.split(".")[1]: f for f in prepared.shares}
    public, own = [], []
    for name, edits in bank_entries(lab):
        work = tmp_path / name
        shutil.copytree(lab.assignment_dir, work, ignore=shutil.ignore_patterns("__pycache__"))
        for module, source in bank.apply(edits, lab.reference_sources()).items():
            (work / f"{module}.py").write_text(source)
        result = batch.grade_one(prepared, roster.Identity(name, name, name, work), intake.take(work, intake.LabFiles.of(lab)),
                                 strategy, settings, tmp_path / "scratch", runner, 0)
        out = subprocess.run([sys.executable, "checks.py"], cwd=work, capture_output=True, text=True).stdout
        local = checks_blocks(out)
        docked = {f for f, group in feedback.by_function(result.cases).items()
                  if grading.function_points(prepared.shares[f], group) < prepared.shares[f] - 1e-9}
        for r in (r for r in result.cases if not r.case.hidden):
            passed, lines = local.get(r.case.number, (None, []))
            if passed is False and r.passed and any(d in " ".join(lines) for d in DEPENDS):
                continue   # checks.py has no reference to give: the student's failed helper ran, and it says so
            if passed is not r.passed:
                public.append(f"{name}: public case {r.case.number} ({r.case.function}): grade {r.passed}, checks.py {passed}")
            elif not r.passed and r.message.kind not in (Kind.MUTATED, Kind.FORM):
                what = f"{r.case.name}: {namer.finding(r.case, r.message, r.hidden_words)}"
                if lines[:1] != [what]:
                    public.append(f"{name}: public case {r.case.number}: grade says {what!r}, checks.py {lines[:1]}")
        for function in sorted(own_check_failures(out, names) - docked):
            own.append(f"{name}: checks.py's own check fails {function}, the grade docks nothing there")
    return public, own


def test_public_cases_agree_with_the_grade_across_the_bank(bank_agreement):
    public, _ = bank_agreement
    assert not public, "\n".join(public)


def test_own_checks_fail_only_functions_the_grade_docks(bank_agreement):
    """(Before its checks declared what they run (check(..., uses=...)), checks.py's own checks
    of relu_grad, mlp_forward, mlp_backward, softmax_jacobian and train failed those functions for
    a wrong relu, dense_forward, tanh_grad or softmax: 32 disagreements on the whole bank.)"""
    _, own = bank_agreement
    assert not own, "\n".join(own)

