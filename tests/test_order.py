"""No oracle: a reference is given only once its function's own cases were all judged; a
training outcome counts only for the procedure (autograder.grading.grade, Satisfies)."""
import json

import pytest

from autograder import batch, grading
from autograder.config import DEFAULTS

HONEST_TIE = '''def heaviside(z):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, 0.0)   # the tie z = 0 gives 0: wrong
'''
ORACLE = '''_LEARNED = {}


def heaviside(z):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, 1.0, np.where(z == 0, _LEARNED.get("tie", 0.0), 0.0))


def _learn():
    """During a case of a function given heaviside, the name is the grader's proxy: ask it."""
    try:
        _LEARNED.setdefault("tie", float(np.asarray(heaviside(np.zeros(1))).reshape(-1)[0]))
    except Exception:
        pass
'''
XOR = '''def train(X, Y, layer_sizes, activations, loss="cross_entropy", lr=0.5, epochs=1000, seed=0):
    """No loop: weights written by hand that solve XOR."""
    W1 = np.array([[20.0, 20.0], [20.0, 20.0], [0.0, 0.0], [0.0, 0.0]])
    b1 = np.array([-10.0, -30.0, 0.0, 0.0])
    W2 = np.array([[-10.0, 10.0, 0.0, 0.0], [10.0, -10.0, 0.0, 0.0]])
    b2 = np.array([10.0, -10.0])
    return [(W1, b1), (W2, b2)], [0.0] * epochs
'''


def replace_function(text, name, new):
    start = text.index(f"def {name}(")
    end = text.find("\ndef ", start + 1)
    end = text.find("\n\n\n", start) if end < 0 else end
    return text[:start] + new + "\n\n" + text[end:].lstrip("\n")


def submission(lab, folder, edit):
    folder.mkdir(parents=True)
    for module, text in lab.reference_sources().items():
        (folder / f"{module}.py").write_text(edit(module, text))
    return folder


def honest(module, text):
    return replace_function(text, "heaviside", HONEST_TIE) if module == "tlu" else text


def oracle(module, text):
    if module != "tlu":
        return text
    text = replace_function(text, "heaviside", ORACLE)
    return text.replace('    step_fn = get_step(step)\n', '    _learn()\n    step_fn = get_step(step)\n', 1)


def hand_written(module, text):
    return replace_function(text, "train", XOR) if module == "backprop" else text


def earned(out, name, function):
    data = json.loads((out / "submissions" / name / "results.json").read_text())
    return data["extra_data"]["functions"][function]["earned"]


def grade(lab, tmp_path, edits, out="out"):
    sources = [submission(lab, tmp_path / f"in_{out}" / name, edit) for name, edit in edits.items()]
    batch.grade_batch(lab, sources, tmp_path / out, DEFAULTS.with_overrides(isolation="auto"), jobs=1,
                      log=lambda *a: None, progress=False, report_png=False, rerun=True)
    return tmp_path / out


def test_an_oracle_before_the_functions_own_cases_earns_nothing(lab, tmp_path, monkeypatch):
    out = grade(lab, tmp_path, {"honest": honest, "oracle": oracle})
    assert earned(out, "honest", "tlu.heaviside") < 1.0            # the wrong tie loses points ...
    assert earned(out, "oracle", "tlu.heaviside") <= earned(out, "honest", "tlu.heaviside")   # ... and asking does not help
    # the order before: public cases of every function first, references given to them at once
    monkeypatch.setattr(grading.Grader, "too_early", lambda self, plan: False)
    before = grade(lab, tmp_path, {"oracle": oracle}, out="before")
    assert earned(before, "oracle", "tlu.heaviside") > earned(out, "honest", "tlu.heaviside")


def test_hand_written_xor_weights_are_not_a_training_loop(lab, tmp_path, monkeypatch):
    out = grade(lab, tmp_path, {"hand_written": hand_written})
    assert earned(out, "hand_written", "backprop.train") == 0
    from autograder.cases import Satisfies
    monkeypatch.setattr(Satisfies, "bound_to_exact", False)
    before = grade(lab, tmp_path, {"hand_written": hand_written}, out="before")
    assert earned(before, "hand_written", "backprop.train") > 0       # the outcome alone paid before


@pytest.mark.parametrize("which", ["reference", "skeleton", "honest"])
def test_no_case_is_given_a_reference_before_its_functions_cases_are_all_judged(lab, tmp_path, monkeypatch, which):
    """Every case's plan, as it runs: a reference ("call") only of a function judged in full;
    and exactly the public cases that run after a hidden one have their words rebuilt."""
    from autograder import hidden
    from autograder.skeleton import skeleton_files
    ran, rewritten = [], set()
    real_run, real_rewrite = grading.Grader.run, hidden.rewrite

    def run(self, case):
        plan = self.prepared.planner.plan(case.given, case.function, self.progress.own)
        late = [n for n, mode in plan["names"].items() if mode == "call" and not self.progress.done(n)]
        ran.append((case, late))
        return real_run(self, case)

    def rewrite(message, case):
        rewritten.add(case.number)
        return real_rewrite(message, case)
    monkeypatch.setattr(grading.Grader, "run", run)
    monkeypatch.setattr(hidden, "rewrite", rewrite)
    skeleton = {n[:-3]: t for n, t in skeleton_files(lab.reference_dir, lab.modules).items()}
    edit = {"reference": lambda m, t: t, "skeleton": lambda m, t: skeleton[m], "honest": honest}[which]
    grade(lab, tmp_path, {which: edit})
    assert all(not late for _, late in ran), [(c.function, late) for c, late in ran if late]
    first_hidden = next(i for i, (c, _) in enumerate(ran) if c.hidden)
    assert all(not c.hidden for c, _ in ran[:first_hidden])
    after = {c.number for c, _ in ran[first_hidden:] if not c.hidden}
    assert {n for n in rewritten if not next(c for c, _ in ran if c.number == n).hidden} == after
    numbers = [c.number for c, _ in ran]
    assert sorted(set(numbers)) == list(range(max(numbers) + 1))         # every case ran
    if which == "reference":
        assert len(numbers) == len(set(numbers)) and not after            # once each, none tainted
